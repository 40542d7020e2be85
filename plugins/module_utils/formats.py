# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Formats the roles' values must have before apt sees them (the gpuhost.provision.* test plugins).

A value that passes the argument spec's `type: str` but not these would fail only at apt time, some of
them after changes (a source apt cannot parse breaks apt for the whole host).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ansible_collections.gpuhost.provision.plugins.module_utils.openpgp import OpenPGPError, normalize_fingerprint

URL_SCHEMES = ("http", "https", "file")
# Debian Policy 5.6.12: [epoch:]upstream_version[-debian_revision]; the upstream version starts with a digit.
# apt's `name=version` also takes a trailing `*` (any version starting so).
_DEBIAN_VERSION = re.compile(r"(?:[0-9]+:)?[0-9](?:[A-Za-z0-9.+~-]*[A-Za-z0-9.+~])?\*?")


def is_apt_url(value) -> bool:
    """An http(s):// URL with a host, or a file:// URL with an absolute path; no whitespace."""
    if not isinstance(value, str) or not value or re.search(r"\s", value):
        return False
    parts = urlsplit(value)
    if parts.scheme == "file":
        return parts.path.startswith("/")
    return parts.scheme in URL_SCHEMES and bool(parts.hostname)


def is_key_fingerprint(value) -> bool:
    """40 hexadecimal digits (an OpenPGP v4 fingerprint; 64 for v6), spaces and a 0x prefix allowed."""
    if not isinstance(value, str):
        return False
    try:
        normalize_fingerprint(value)
    except OpenPGPError:
        return False
    return True


def is_debian_version(value) -> bool:
    """A Debian package version apt can pin, e.g. 1.17.8-1 or 5:27.3.1-1~ubuntu.24.04~noble."""
    return isinstance(value, str) and bool(_DEBIAN_VERSION.fullmatch(value))
