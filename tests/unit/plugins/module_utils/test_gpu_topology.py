"""Interconnect from nvidia-smi topo -m: the captured 1-GPU H100 output and edited multi-GPU ones (labelled)."""

import os

import pytest
from ansible_collections.gpuhost.provision.plugins.module_utils.gpu_topology import (
    TopologyError,
    describe,
    interconnect,
    parse_nvlink_status,
    parse_topo_matrix,
    read_topology,
    visible_gpus,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "nvidia_smi")


def fixture(*parts: str) -> str:
    with open(os.path.join(FIXTURES, *parts), encoding="utf-8") as handle:
        return handle.read()


def test_captured_single_h100_has_one_gpu_and_no_links():
    matrix = parse_topo_matrix(fixture("h100", "topo.txt"))
    assert matrix == {"0": {}}
    assert interconnect(matrix) == {"kind": "single", "link": None, "gpus": ["0"]}
    assert describe(interconnect(matrix)) == "single GPU"


def test_captured_single_h200_without_ansi_escapes_parses_the_same():
    # Captured on an nvidia-h200 device machine: no underline escapes when not on a terminal.
    matrix = parse_topo_matrix(fixture("h200", "topo.txt"))
    assert matrix == {"0": {}}
    assert interconnect(matrix)["kind"] == "single"


def test_two_gpus_on_nvlink():
    matrix = parse_topo_matrix(fixture("topo", "h100x2-nvlink.txt"))
    assert matrix == {"0": {"1": "NV18"}, "1": {"0": "NV18"}}
    topology = interconnect(matrix)
    assert topology["kind"] == "nvlink"
    assert describe(topology) == "NVLink (NV18)"


@pytest.mark.parametrize(("name", "link"), [("h100x2-pcie.txt", "PHB"), ("h100x2-pcie-sys.txt", "SYS")])
def test_two_gpus_over_pcie(name, link):
    topology = interconnect(parse_topo_matrix(fixture("topo", name)))
    assert (topology["kind"], topology["link"]) == ("pcie", link)
    assert describe(topology).startswith(f"PCIe ({link}: ")


def test_eight_gpus_on_nvswitch_ignore_the_nic_rows_and_columns():
    matrix = parse_topo_matrix(fixture("topo", "h100x8-nvswitch-nics.txt"))
    assert sorted(matrix, key=int) == [str(i) for i in range(8)]
    assert all(len(row) == 7 and set(row.values()) == {"NV18"} for row in matrix.values())
    assert interconnect(matrix)["kind"] == "nvlink"


def test_bridged_pairs_are_nvlink_within_a_pair_and_pcie_across():
    matrix = parse_topo_matrix(fixture("topo", "a100x4-bridged-pairs.txt"))
    assert interconnect(matrix, ["0", "1"]) == {"kind": "nvlink", "link": "NV12", "gpus": ["0", "1"]}
    assert interconnect(matrix, ["2", "3"])["kind"] == "nvlink"
    # One pair over PCIe sets the ring's pace: the whole set is judged as PCIe.
    assert interconnect(matrix) == {"kind": "pcie", "link": "SYS", "gpus": ["0", "1", "2", "3"]}
    assert interconnect(matrix, ["1", "2"])["kind"] == "pcie"


def test_the_slowest_pcie_link_is_named():
    matrix = {"0": {"1": "PIX", "2": "NODE"}, "1": {"0": "PIX", "2": "PXB"}, "2": {"0": "NODE", "1": "PXB"}}
    assert interconnect(matrix)["link"] == "NODE"


def test_visible_devices_pick_the_gpus_judged():
    assert visible_gpus("", 4) == ["0", "1", "2", "3"]
    assert visible_gpus("2,3", 4) == ["2", "3"]
    # UUIDs cannot be mapped to topo -m's indices: the interconnect is unknown, not guessed.
    assert visible_gpus("GPU-8a57,GPU-1b2c", 4) is None


def test_unreadable_output_is_refused_with_the_reason():
    with pytest.raises(TopologyError, match="no header row"):
        parse_topo_matrix("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.")
    with pytest.raises(TopologyError, match="lists no GPU 5"):
        interconnect(parse_topo_matrix(fixture("topo", "h100x2-nvlink.txt")), ["0", "5"])


def test_nvlink_status_counts_active_and_inactive_links():
    status = parse_nvlink_status(fixture("topo", "nvlink-status-h100x2.txt"))
    assert status["0"] == {"active": 18, "inactive": 0, "gbps_per_link": 26.562}
    assert status["1"]["active"] == 16
    assert status["1"]["inactive"] == 2


def test_nvlink_status_of_a_gpu_without_nvlink_lists_no_links():
    assert parse_nvlink_status("GPU 0: NVIDIA L4 (UUID: GPU-1234)\n") == {
        "0": {"active": 0, "inactive": 0, "gbps_per_link": None}
    }


def test_read_topology_for_the_report():
    assert read_topology("", "", 1)["kind"] == "single"
    assert read_topology("", "", 2) is None  # not read: unknown
    two = read_topology(fixture("topo", "a100x4-bridged-pairs.txt"), "0,1", 4)
    assert (two["kind"], two["link"]) == ("nvlink", "NV12")
    assert two["matrix"]["0"]["2"] == "SYS"
    assert read_topology(fixture("topo", "a100x4-bridged-pairs.txt"), "", 4)["kind"] == "pcie"
    assert read_topology("garbage", "", 2) == {
        "kind": None,
        "error": "nvidia-smi topo -m: no header row starting with GPU0",
    }
    assert read_topology(fixture("topo", "h100x2-nvlink.txt"), "GPU-1,GPU-2", 2)["kind"] is None
