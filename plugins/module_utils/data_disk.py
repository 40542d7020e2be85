# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions behind the data_disk module: is a disk blank (format it), ours (keep it) or anything else (refuse)?

On Azure NC A100 v4 the local NVMe disk comes unformatted and is wiped when the VM is deallocated, so it is
formatted on the first run and again at the first boot after each deallocation. Only a disk on which blkid's
low-level probe finds nothing at all is formatted: a filesystem, a partition table, a RAID or LVM member stops it.
The boot-time script (roles/docker/templates/usr/local/sbin/gpuhost-format-blank-disk.j2) applies the same rule.
"""

from __future__ import annotations

import re

# blkid(8), EXIT STATUS: 0 something was identified; 2 nothing was (the device is blank); 4 usage or other
# error; 8 an ambivalent low-level probe (two signatures).
BLKID_FOUND, BLKID_NOTHING, BLKID_AMBIVALENT = 0, 2, 8


def parse_export(text: str) -> dict[str, str]:
    """`blkid -p -o export DEVICE` output (KEY=value lines) as a dict."""
    found = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            found[key.strip()] = value.strip()
    return found


def decide(rc: int, output: str, fstype: str) -> tuple[str, str]:
    """('format' | 'keep' | 'refuse', why) from blkid -p's exit status and output for the wanted fstype."""
    if rc == BLKID_NOTHING:
        return "format", "blank: blkid -p found no filesystem, partition table, RAID or LVM signature"
    if rc == BLKID_AMBIVALENT:
        return "refuse", "blkid -p found more than one signature on it (ambivalent); it is not blank"
    if rc != BLKID_FOUND:
        return "refuse", f"blkid -p exited {rc} ({output.strip() or 'no output'}); whether it is blank is unknown"
    found = parse_export(output)
    if found.get("TYPE") == fstype:
        return "keep", f"holds a {fstype} filesystem already (UUID {found.get('UUID', '?')})"
    what = (
        f"a {found['PTTYPE']} partition table" if "PTTYPE" in found
        else f"a {found['TYPE']} signature" if "TYPE" in found
        else "a signature blkid could identify"
    )
    return "refuse", f"it holds {what}, not a {fstype} filesystem; gpuhost formats only a blank disk"


def systemd_escape_path(path: str) -> str:
    """The name systemd gives a unit for a path, as `systemd-escape --path` prints it (systemd.unit(5), "String
    Escaping for Inclusion in Unit Names"): slashes trimmed and collapsed, "/" becomes "-", and every byte
    other than ASCII letters, digits, ":", "_" and "." (a leading "." included) becomes "\\xXX".
    """
    trimmed = re.sub("/+", "/", path).strip("/")
    if not trimmed:
        return "-"
    out = []
    for index, char in enumerate(trimmed):
        if char == "/":
            out.append("-")
        elif (char.isascii() and (char.isalnum() or char in ":_.")) and not (char == "." and index == 0):
            out.append(char)
        else:
            out.extend(f"\\x{byte:02x}" for byte in char.encode("utf-8"))
    return "".join(out)
