# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read OpenPGP public keys (RFC 4880 / RFC 9580) well enough to pin an apt repository key.

The target host needs no gpg: the key is dearmored and its primary-key fingerprints computed here.
"""

from __future__ import annotations

import base64
import hashlib
import re

_ARMOR = re.compile(
    r"-----BEGIN PGP PUBLIC KEY BLOCK-----\r?\n(?P<body>.*?)-----END PGP PUBLIC KEY BLOCK-----",
    re.DOTALL,
)
TAG_PUBLIC_KEY = 6


class OpenPGPError(ValueError):
    """The data is no OpenPGP public key; the message says why."""


def normalize_fingerprint(text: str) -> str:
    """'9DC8 5822 ...' or '0x9dc8...' -> '9DC85822...'."""
    value = re.sub(r"\s+", "", text).upper()
    if value.startswith("0X"):
        value = value[2:]
    if not re.fullmatch(r"[0-9A-F]{40}|[0-9A-F]{64}", value):
        raise OpenPGPError(f"'{text}' is not a 40- or 64-digit hexadecimal key fingerprint")
    return value


def dearmor(data: bytes) -> bytes:
    """Binary key material from ASCII armor; binary input is returned as it is.

    Every PUBLIC KEY BLOCK in the file is decoded and concatenated: a key hidden in a second block must be
    seen (and dropped by select_key) as much as one in the first.
    """
    if data[:1] and data[0] & 0x80:
        return data
    blocks = list(_ARMOR.finditer(data.decode("ascii", errors="replace")))
    if not blocks:
        raise OpenPGPError("neither a binary OpenPGP key nor an ASCII-armored PUBLIC KEY BLOCK")
    binary = b""
    for match in blocks:
        lines = match.group("body").splitlines()
        # Armor headers end at the first blank line; the line starting with '=' is the CRC-24.
        if "" in lines:
            lines = lines[lines.index("") + 1 :]
        payload = "".join(line.strip() for line in lines if line.strip() and not line.startswith("="))
        try:
            binary += base64.b64decode(payload, validate=True)
        except ValueError as exc:
            raise OpenPGPError(f"armored key is not valid base64: {exc}") from exc
    return binary


def packets(data: bytes):
    """Yield (tag, body) for each packet of binary OpenPGP data."""
    for tag, body, _raw in _raw_packets(data):
        yield tag, body


def _raw_packets(data: bytes):
    """Yield (tag, body, the packet's bytes with its header) for each packet of binary OpenPGP data."""
    pos = 0
    while pos < len(data):
        start = pos
        header = data[pos]
        if not header & 0x80:
            raise OpenPGPError(f"byte {pos} does not start an OpenPGP packet")
        if header & 0x40:  # new format
            tag = header & 0x3F
            first = data[pos + 1]
            if first < 192:
                length, pos = first, pos + 2
            elif first < 224:
                length, pos = ((first - 192) << 8) + data[pos + 2] + 192, pos + 3
            elif first == 255:
                length, pos = int.from_bytes(data[pos + 2 : pos + 6], "big"), pos + 6
            else:
                raise OpenPGPError("partial-length packets do not occur in public keys")
        else:  # old format
            tag = (header >> 2) & 0x0F
            size = {0: 1, 1: 2, 2: 4}.get(header & 0x03)
            if size is None:
                raise OpenPGPError("indeterminate-length packets do not occur in public keys")
            length = int.from_bytes(data[pos + 1 : pos + 1 + size], "big")
            pos += 1 + size
        body = data[pos : pos + length]
        if len(body) != length:
            raise OpenPGPError("key data is truncated")
        yield tag, body, data[start : pos + length]
        pos += length


def fingerprint(body: bytes) -> str:
    """Fingerprint of one public-key packet body (v4: SHA-1, v6: SHA-256)."""
    version = body[0]
    if version == 4:
        return hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest().upper()  # noqa: S324
    if version == 6:
        return hashlib.sha256(b"\x9b" + len(body).to_bytes(4, "big") + body).hexdigest().upper()
    raise OpenPGPError(f"public key version {version} is not supported")


def primary_fingerprints(data: bytes) -> list[str]:
    """Fingerprints of every primary key in a keyring, armored or binary."""
    found = [fingerprint(body) for tag, body in packets(dearmor(data)) if tag == TAG_PUBLIC_KEY]
    if not found:
        raise OpenPGPError("no public key packet found")
    return found


def select_key(data: bytes, wanted: str) -> bytes:
    """Only the transferable public key whose primary fingerprint is `wanted`, as binary packets.

    A transferable public key (RFC 4880 11.1, RFC 9580 10.1) is its primary-key packet and every packet
    after it up to the next primary key: its user IDs, subkeys and their signatures. apt trusts every
    key in a `signed-by` keyring, so a file holding the pinned key *and* another one must not be written
    whole: the other key's packets are dropped here. Signatures are not checked here; gpgv, which apt
    runs, ignores subkeys without a valid binding signature by the primary key.
    """
    selected = []
    keeping = False
    seen = []
    for tag, body, raw in _raw_packets(dearmor(data)):
        if tag == TAG_PUBLIC_KEY:
            found = fingerprint(body)
            seen.append(found)
            keeping = found == wanted and wanted not in seen[:-1]
        if keeping:
            selected.append(raw)
    if not seen:
        raise OpenPGPError("no public key packet found")
    if wanted not in seen:
        raise OpenPGPError(f"the key {wanted} is not among {', '.join(seen)}")
    return b"".join(selected)
