import pytest
from ansible_collections.gpuhost.provision.plugins.filter.nvidia_toolkit import FilterModule
from ansible_collections.gpuhost.provision.plugins.module_utils.nvidia_toolkit_cves import floor, open_cves


def ids(version):
    return [row["cve"] for row in open_cves(version)]


def test_the_tested_version_has_every_fix():
    assert ids("1.20.0-1") == []
    assert floor() == "1.19.1"


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("1.17.7-1", ["CVE-2025-23266", "CVE-2026-24260"]),
        ("1.17.8-1", ["CVE-2026-24260"]),
        ("1.19.0", ["CVE-2026-24260"]),
        ("1.19.1-1", []),
        ("1.16.1-1", ["CVE-2024-0132", "CVE-2024-0135", "CVE-2025-23359", "CVE-2025-23266", "CVE-2026-24260"]),
        ("1.19.1~rc.1-1", ["CVE-2026-24260"]),  # a release candidate comes before the release
        ("1:1.17.8-1", ["CVE-2026-24260"]),  # an epoch does not change the upstream version
        ("1.20.10-1", []),  # numbers, not strings: 1.20.10 > 1.19.1
    ],
)
def test_open_cves_by_version(version, expected):
    assert ids(version) == expected


def test_empty_version_is_not_judged():
    assert open_cves("") == []


def test_filter_exposes_the_same_table():
    filters = FilterModule().filters()
    assert filters["nvidia_toolkit_open_cves"]("1.17.7-1") == open_cves("1.17.7-1")
    assert filters["nvidia_toolkit_cve_floor"]("") == "1.19.1"
