# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Published NVIDIA Container Toolkit vulnerabilities and the first toolkit version that fixes each.

The one place this table lives: the nvidia_container_toolkit role refuses a toolkit with any of these open
(through the `nvidia_toolkit_open_cves` filter), and gpu_verify's report can list them
(`from ...module_utils.nvidia_toolkit_cves import open_cves`). Add a row when NVIDIA publishes a bulletin.

Sources, checked 2026-11-24:
- CVE-2024-0132 and CVE-2025-23266: NVIDIA's own CVE records (NVIDIA is the CNA; cvelistV5,
  cves/2024/0xxx/CVE-2024-0132.json "all versions up to and including v1.16.1";
  cves/2025/23xxx/CVE-2025-23266.json "up to and including 1.17.7"), which link NVIDIA's bulletins at
  https://nvidia.custhelp.com (answer IDs 5582 and 5659).
- CVE-2024-0135 and CVE-2025-23359: NVIDIA's GPU Operator security page
  (https://docs.nvidia.com/datacenter/cloud-native/gpu-operator/latest/security.html: fixed in 1.17.3 / 1.17.4).
- CVE-2026-24260 (TOCTOU race, fixed in 1.19.1): the fixed version is the one gpuhost issue 9 gives; the
  search available here found the CVE described (toolkit for Linux, time-of-check time-of-use) but not
  NVIDIA's bulletin itself, so this row is the least verified: check https://www.nvidia.com/en-us/security/.
Kept free of Ansible imports so pytest and any plugin can import it.
"""

from __future__ import annotations

import re

CVES = (
    {"cve": "CVE-2024-0132", "fixed": "1.16.2", "summary": "TOCTOU: a crafted image may reach the host file system"},
    {"cve": "CVE-2024-0135", "fixed": "1.17.3", "summary": "a crafted image may modify a host binary"},
    {"cve": "CVE-2025-23359", "fixed": "1.17.4", "summary": "TOCTOU bypass of the CVE-2024-0132 fix"},
    {"cve": "CVE-2025-23266", "fixed": "1.17.8", "summary": "container escape through the createContainer hooks"},
    {"cve": "CVE-2026-24260", "fixed": "1.19.1", "summary": "TOCTOU race in the toolkit for Linux"},
)


def version_key(version: str) -> tuple:
    """Order Debian/RPM toolkit versions by upstream version: '1:1.17.7-1' -> (1, 17, 7), '~rc' sorts first."""
    without_epoch = str(version).split(":", 1)[-1]
    upstream = without_epoch.rsplit("-", 1)[0] if "-" in without_epoch else without_epoch
    release, _tilde, pre = upstream.partition("~")
    numbers = tuple(int(part) for part in re.findall(r"\d+", release)[:3])
    numbers += (0,) * (3 - len(numbers))
    return (*numbers, 0 if pre else 1)


def open_cves(version: str) -> list[dict]:
    """The table's rows whose fix the given toolkit version lacks (empty for a fixed or empty version)."""
    if not str(version or "").strip():
        return []
    key = version_key(version)
    return [dict(row) for row in CVES if key < version_key(row["fixed"])]


def floor() -> str:
    """The lowest toolkit version with every listed fix."""
    return max((row["fixed"] for row in CVES), key=version_key)
