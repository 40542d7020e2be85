"""The doctor's findings from the captured H100 host and from copies of it, each edited to inject one fault
(tests/doctor_faults.py; every copy carries an EDITED.txt saying what was changed)."""

from __future__ import annotations

import os
import re
import shutil

import pytest
from ansible_collections.gpuhost.provision.plugins.module_utils.doctor_findings import (
    failing,
    judge,
    render_markdown,
    report,
    verdict,
)
from ansible_collections.gpuhost.provision.plugins.module_utils.doctor_sources import (
    collect,
    parse_dpkg_status,
    parse_smi_xml,
    parse_xid,
    upstream_version,
)
from ansible_collections.gpuhost.provision.plugins.module_utils.fleet_report import row_from_doctor
from doctor_faults import CLEAN, FAULTS, Tree, _mig_on, _nvlink_text, _nvlink_up, _pcie_width, _secure_boot_unsigned

TODAY = "2026-12-02"


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "h100-edited"
    shutil.copytree(CLEAN, root)
    return Tree(str(root))


def findings_of(root, **settings):
    return {f["id"]: f for f in judge(collect(root), {"today": TODAY, **settings})}


def only_problems(found):
    return {fid: f["severity"] for fid, f in found.items() if f["severity"] in ("error", "warning")}


# --- the clean capture ----------------------------------------------------------------------------------------


def test_the_clean_capture_has_no_error_and_no_warning():
    found = findings_of(CLEAN)
    assert only_problems(found) == {}
    assert found["gpu.present"]["severity"] == "ok"
    assert found["gpu.fabric_manager"]["severity"] == "skipped"  # one PCIe H100, no NVSwitch
    assert verdict(list(found.values())) == "pass"


H200 = os.path.join(os.path.dirname(CLEAN), "h200")


def test_the_real_h200_capture_reads_as_its_doctor_run_reported():
    # tools/capture_gpu_fixtures.py on the nvidia-h200 device machine, 2026-12-02, unedited: the doctor run
    # there (before Docker was started) reported WARN with this one warning and no error.
    found = findings_of(H200)
    assert only_problems(found) == {"containers.docker": "warning"}
    assert found["gpu.pcie_link"]["severity"] == "ok"
    assert found["driver.kernel_modules"]["severity"] == "skipped"  # driver under /usr/local/nvidia, not dpkg
    (gpu,) = collect(H200)["smi"]["gpus"]
    assert gpu["name"] == "NVIDIA H200"
    assert verdict(list(found.values())) == "warn"


def test_the_capture_is_read_as_nvidia_smi_and_sysfs_say():
    facts = collect(CLEAN)
    (gpu,) = facts["smi"]["gpus"]
    assert gpu["name"] == "NVIDIA H100 80GB HBM3"
    assert gpu["uuid"] == "GPU-ebf1a1f3-5d82-16b8-c385-621f039df60f"
    assert gpu["pcie"] == {"max_gen": 5, "current_gen": 5, "max_width": 16, "current_width": 16}
    assert gpu["ecc_volatile_uncorrectable"] == 0
    assert gpu["remapped_rows"] == {"correctable": 0, "uncorrectable": 0, "pending": False, "failure": False}
    assert gpu["clock_event_reasons"]["gpu_idle"] is True
    assert gpu["clock_event_reasons"]["hw_slowdown"] is False
    assert facts["loaded_driver_version"] == "580.159.04"
    (device,) = facts["pci"]["gpus"]  # the Intel bridge beside it is not counted
    assert device["address"] == "0000:00:06.0"
    assert (device["link"]["current_gen"], device["link"]["max_width"]) == (5, 16)
    assert "nvidia_uvm" in facts["modules"]
    # A removed-but-not-purged kernel is not an installed kernel.
    assert facts["kernels"] == ["6.8.0-87-generic"]
    assert facts["running_module_signed"] is True
    assert facts["secure_boot"] is True


# --- each fault, injected into a copy -------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(FAULTS))
def test_each_fault_gives_its_finding_with_its_fix(tree, name):
    edit, fid, severity, words = FAULTS[name]
    edit(tree)
    assert "EDITED copy" in tree.read("EDITED.txt")
    found = findings_of(tree.root)
    assert fid in found, sorted(found)
    got = found[fid]
    assert got["severity"] == severity, got
    assert words in got["summary"] + " " + got["fix"], got
    if severity == "error":
        assert got["fix"], "an error says how to fix it"
        assert verdict(list(found.values())) == "fail"


@pytest.mark.parametrize("name", list(FAULTS))
def test_each_fault_leaves_unrelated_findings_alone(tree, name):
    """A fault shows up where it belongs, not as noise elsewhere (the few that imply others are listed)."""
    edit, fid, _severity, _words = FAULTS[name]
    edit(tree)
    also = {
        "driver/library mismatch": {"driver.nvidia_smi", "gpu.count"},
        "Secure Boot, unsigned module": {
            "driver.loaded",
            "driver.nvidia_smi",
            "driver.library_mismatch",
            "containers.cdi",
        },
        "a GPU lost by the driver": set(),
        "pending row remap": set(),
    }.get(name, set())
    assert set(only_problems(findings_of(tree.root))) <= {fid} | also


def test_mig_on_is_fine_where_it_is_expected(tree):
    _mig_on(tree)
    assert findings_of(tree.root, expect_mig=True)["gpu.mig"]["severity"] == "ok"


def test_a_missing_toolkit_is_an_error_only_where_containers_are_required(tree):
    for name in (
        "nvidia-container-toolkit",
        "nvidia-container-toolkit-base",
        "libnvidia-container-tools",
        "libnvidia-container1",
    ):
        text = tree.read("var/lib/dpkg/status")
        tree.write(
            "var/lib/dpkg/status",
            re.sub(rf"Package: {re.escape(name)}\n.*?(\n\n|$)", "", text, flags=re.DOTALL),
            f"{name} removed",
        )
    assert findings_of(tree.root)["containers.toolkit"]["severity"] == "warning"
    assert findings_of(tree.root, require_containers=True)["containers.toolkit"]["severity"] == "error"


def test_expected_gpus_counts_against_the_driver():
    found = findings_of(CLEAN, expected_gpus=8)
    assert found["gpu.count"]["severity"] == "error"
    assert "8 are expected" in found["gpu.count"]["summary"]


def test_fail_on_threshold():
    findings = [{"id": "a", "severity": "warning"}, {"id": "b", "severity": "ok"}]
    assert failing(findings, "error") == []
    assert [f["id"] for f in failing(findings, "warning")] == ["a"]
    assert failing([{"id": "c", "severity": "error"}], "never") == []


def test_report_markdown_and_fleet_row_carry_the_findings(tree):
    _pcie_width(tree)
    facts = collect(tree.root)
    findings = judge(facts, {"today": TODAY})
    doc = report("h100", facts, findings, "2026-12-02T00:00:00Z")
    assert doc["verdict"] == "fail"
    assert doc["figures"] == {"PCIe": "Gen5 x8"}
    text = render_markdown(doc)
    assert "**Verdict: FAIL**" in text
    assert "| error | gpu.pcie_link |" in text
    row = row_from_doctor("h100", doc)
    statuses = {c["name"]: c["status"] for c in row["checks"]}
    assert statuses["gpu.pcie_link"] == "error"
    assert row["verdict"] == "fail"
    assert row["gpu_model"] == "NVIDIA H100 80GB HBM3"


# --- parsers ---------------------------------------------------------------------------------------------------


def test_older_xml_names_throttle_reasons_and_ecc_by_bit():
    xml = """<nvidia_smi_log><driver_version>470.256.02</driver_version><attached_gpus>1</attached_gpus>
    <gpu id="00000000:3B:00.0"><product_name>Tesla V100-SXM2-16GB</product_name>
    <clocks_throttle_reasons><clocks_throttle_reason_hw_slowdown>Active</clocks_throttle_reason_hw_slowdown>
    </clocks_throttle_reasons><ecc_errors><volatile><single_bit><total>4</total></single_bit>
    <double_bit><device_memory>1</device_memory><total>1</total></double_bit></volatile></ecc_errors>
    <retired_pages><double_bit_retirement><retired_count>2</retired_count></double_bit_retirement>
    <pending_retirement>Yes</pending_retirement></retired_pages></gpu></nvidia_smi_log>"""
    (gpu,) = parse_smi_xml(xml)["gpus"]
    assert gpu["clock_event_reasons"] == {"hw_slowdown": True}
    assert gpu["ecc_volatile_uncorrectable"] == 1
    assert gpu["retired_pages"] == {"single_bit": None, "double_bit": 2, "pending": True}
    assert gpu["remapped_rows"] is None


def test_xid_lines_from_journald_and_dmesg():
    log = (
        "[  812.112] NVRM: Xid (PCI:0000:3b:00): 48, pid=1, name=x, An uncorrectable double bit error\n"
        "Nov 24 10:00:00 h kernel: NVRM: Xid (PCI:0000:00:06): 119, pid=', name=, Timeout after 6s\n"
        "unrelated NVRM: loading\n"
    )
    assert [(x["xid"], x["device"]) for x in parse_xid(log)] == [(48, "PCI:0000:3b:00"), (119, "PCI:0000:00:06")]


def test_dpkg_status_lists_installed_packages_with_their_selection():
    text = (
        "Package: nvidia-driver-580\nStatus: hold ok installed\nVersion: 580.95.05-0ubuntu1\n\n"
        "Package: nvidia-driver-570\nStatus: deinstall ok config-files\nVersion: 570.1-1\n\n"
        "Package: bash\nStatus: install ok installed\nVersion: 5.2\n"
    )
    assert parse_dpkg_status(text) == {
        "nvidia-driver-580": {"version": "580.95.05-0ubuntu1", "status": "installed", "selection": "hold"}
    }
    assert upstream_version("1:580.95.05-0ubuntu1") == "580.95.05"


def test_debian_names_its_module_nvidia_current(tree):
    base = os.path.join(tree.root, "lib/modules/6.8.0-87-generic")
    os.makedirs(os.path.join(base, "updates/dkms"))
    os.rename(
        os.path.join(base, "kernel/nvidia-580srv-open/nvidia.ko"), os.path.join(base, "updates/dkms/nvidia-current.ko")
    )
    tree._label("nvidia.ko moved to updates/dkms/nvidia-current.ko (Debian's DKMS name)")
    found = findings_of(tree.root)
    assert found["driver.kernel_modules"]["severity"] == "ok"
    assert found["driver.kernel_modules"]["evidence"]["modules"]["6.8.0-87-generic"] == [
        "updates/dkms/nvidia-current.ko"
    ]


def test_secure_boot_with_a_module_whose_signature_cannot_be_read_is_a_warning(tree):
    _secure_boot_unsigned(tree)
    base = os.path.join(tree.root, "lib/modules/6.8.0-87-generic/kernel/nvidia-580srv-open")
    os.rename(os.path.join(base, "nvidia.ko"), os.path.join(base, "nvidia.ko.zst"))
    tree._label("nvidia.ko compressed (renamed .ko.zst)")
    assert findings_of(tree.root)["driver.secure_boot"]["severity"] == "warning"


def test_nvlink_all_up_is_ok_and_none_active_is_not_judged(tree):
    assert findings_of(CLEAN)["gpu.nvlink"]["severity"] == "skipped"  # the capture has no NVLink status
    _nvlink_up(tree)
    assert findings_of(tree.root)["gpu.nvlink"]["severity"] == "ok"
    tree.write(
        "commands/nvidia-smi-nvlink-s.txt",
        _nvlink_text(inactive=range(18)),
        "every link inactive (one GPU of a baseboard in a VM)",
    )
    assert findings_of(tree.root)["gpu.nvlink"]["severity"] == "skipped"
