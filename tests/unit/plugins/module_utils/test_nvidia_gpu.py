import importlib.util
import os

import pytest
from ansible_collections.gpuhost.provision.plugins.module_utils.nvidia_gpu import (
    NvidiaSmiError,
    loaded_driver_version,
    parse_cuda_version,
    parse_query_gpu,
    pci_gpus,
    pci_nvswitches,
    secure_boot_from_efivars,
)

H100 = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "nvidia_smi", "h100")


def fixture(name):
    with open(os.path.join(H100, name), encoding="utf-8") as handle:
        return handle.read()


def test_captured_h100_query_parses_field_by_field():
    (gpu,) = parse_query_gpu(fixture("query-gpu.csv"))
    assert gpu == {
        "index": 0,
        "name": "NVIDIA H100 80GB HBM3",
        "uuid": "GPU-8a57132f-27d7-87d2-1248-91c0c9095a28",
        "memory_total_mib": 81559,
        "compute_capability": "9.0",
        "persistence_mode": "Enabled",
        "mig_mode": "Disabled",
        "pci_bus_id": "00000000:00:06.0",
        "driver_version": "580.159.04",
    }


def test_eight_gpus_and_not_applicable_mig():
    rows = "\n".join(
        f"{i}, NVIDIA A100-SXM4-80GB, GPU-{i:08x}, 81920, 8.0, Disabled, [N/A], 0000:{i:02x}:00.0, 570.86.15"
        for i in range(8)
    )
    gpus = parse_query_gpu(rows + "\n")
    assert [g["index"] for g in gpus] == list(range(8))
    assert all(g["mig_mode"] is None for g in gpus)
    assert gpus[7]["pci_bus_id"] == "0000:07:00.0"


def test_a_name_with_a_comma_is_quoted_by_csv():
    (gpu,) = parse_query_gpu('0, "NVIDIA RTX A4000, Laptop", GPU-1, 16376, 8.6, Disabled, [N/A], 0000:01:00.0, 550.1\n')
    assert gpu["name"] == "NVIDIA RTX A4000, Laptop"
    assert gpu["memory_total_mib"] == 16376


@pytest.mark.parametrize("output", ["0, NVIDIA H100\n", "x, NVIDIA H100, GPU-1, 1, 9.0, On, Off, b, 5\n"])
def test_unexpected_output_is_an_error(output):
    with pytest.raises(NvidiaSmiError):
        parse_query_gpu(output)


def test_no_gpus_is_an_empty_list():
    assert parse_query_gpu("") == []


def test_cuda_version_from_the_captured_banner():
    assert parse_cuda_version(fixture("nvidia-smi.txt")) == "13.0"
    assert parse_cuda_version("no banner") is None


def test_driver_version_open_and_proprietary_modules():
    assert loaded_driver_version(fixture("proc-driver-nvidia-version.txt")) == "580.159.04"
    proprietary = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.183.01  Sun May 12 19:39:15 UTC 2024\n"
    assert loaded_driver_version(proprietary) == "535.183.01"
    assert loaded_driver_version(None) is None


def _device(root, address, vendor, pci_class, device="0x2330"):
    path = root / "bus" / "pci" / "devices" / address
    path.mkdir(parents=True)
    (path / "vendor").write_text(vendor + "\n")
    (path / "class").write_text(pci_class + "\n")
    (path / "device").write_text(device + "\n")


def test_pci_scan_counts_nvidia_display_controllers_only(tmp_path):
    _device(tmp_path, "0000:00:06.0", "0x10de", "0x030200")  # H100 (3D controller), as captured
    _device(tmp_path, "0000:01:00.0", "0x10de", "0x030000", "0x24b0")  # A4000 (VGA)
    _device(tmp_path, "0000:01:00.1", "0x10de", "0x040300", "0x228b")  # its HDMI audio function
    _device(tmp_path, "0000:00:02.0", "0x8086", "0x030000")  # an Intel GPU
    found = pci_gpus(str(tmp_path))
    assert [d["address"] for d in found] == ["0000:00:06.0", "0000:01:00.0"]
    assert found[0] == {"address": "0000:00:06.0", "device_id": "0x2330", "class": "0x030200"}


def test_pci_scan_without_sysfs_finds_nothing(tmp_path):
    assert pci_gpus(str(tmp_path / "missing")) == []


def write(path, text, mode="w"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as handle:
        handle.write(text)


def fake_device(sysfs, address, device, pci_class):
    for name, value in (("vendor", "0x10de"), ("device", device), ("class", pci_class)):
        write(os.path.join(sysfs, "bus", "pci", "devices", address, name), value + "\n")


def test_sysfs_root_gpus_nvswitches_and_secure_boot(tmp_path):
    sysfs = str(tmp_path)
    fake_device(sysfs, "0000:00:07.0", "0x20b5", "0x030200")
    fake_device(sysfs, "0000:c1:00.0", "0x22a3", "0x068000")
    assert [d["device_id"] for d in pci_gpus(sysfs)] == ["0x20b5"]  # the NVSwitch is no GPU
    assert [d["device_id"] for d in pci_nvswitches(sysfs)] == ["0x22a3"]
    assert secure_boot_from_efivars(sysfs) is None  # no EFI variables: BIOS boot or not readable
    var = os.path.join(sysfs, "firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c")
    write(var, b"\x06\x00\x00\x00\x01", "wb")
    assert secure_boot_from_efivars(sysfs) is True
    write(var, b"\x06\x00\x00\x00\x00", "wb")
    assert secure_boot_from_efivars(sysfs) is False


def test_the_standin_image_sysfs_is_what_the_facts_module_reads(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "sandbox_image", os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "tools", "sandbox_image.py")
    )
    sandbox_image = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sandbox_image)
    sandbox_image.write_fake_sysfs(str(tmp_path))
    assert [(d["address"], d["device_id"]) for d in pci_gpus(str(tmp_path))] == [
        ("0000:00:07.0", "0x20b5"),
        ("0000:00:08.0", "0x24b0"),
    ]
    modalias = (tmp_path / "devices" / "pci0000:00" / "0000:00:07.0" / "modalias").read_text().strip()
    assert modalias == "pci:v000010DEd000020B5sv000010DEsd00001533bc03sc02i00"
