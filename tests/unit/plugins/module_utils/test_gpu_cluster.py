"""verify_cluster.yml's logic: NCCL_SOCKET_IFNAME's rules, the transport from NCCL_DEBUG lines, the verdict."""

import copy

import pytest
from ansible_collections.gpuhost.provision.plugins.module_utils.gpu_cluster import (
    cluster_summary,
    evaluate_cluster,
    ifname_matches,
    nccl_transport,
    render_cluster_markdown,
)

IFACES = ["docker0", "eth0", "eth1", "ib0", "lo"]


@pytest.mark.parametrize(
    ("spec", "selected"),
    [
        ("eth0", ["eth0"]),
        ("eth", ["eth0", "eth1"]),  # a prefix, as NCCL reads it
        ("=eth", []),  # = makes names exact
        ("=eth1", ["eth1"]),
        ("ib,eth1", ["eth1", "ib0"]),
        ("^docker,lo", ["eth0", "eth1", "ib0"]),  # ^ excludes
        ("^=eth0,docker0,lo", ["eth1", "ib0"]),
        ("=^eth0,docker0,lo", ["eth1", "ib0"]),
        ("ens", []),  # a typo, or another host's naming: nothing matches here
        ("eth9", []),
    ],
)
def test_socket_ifname_follows_nccl_rules(spec, selected):
    assert ifname_matches(spec, IFACES) == selected


# NCCL_DEBUG=INFO lines WRITTEN in NCCL 2.2x's formats (not captured: no multi-node GPU run has been lent).
SOCKET_RUN = [
    "node-a:1234:1234 [0] NCCL INFO Bootstrap : Using eth0:10.0.0.4<0>",
    "node-a:1234:1234 [0] NCCL INFO NET/Plugin: No plugin found (libnccl-net.so)",
    "node-a:1234:1290 [0] NCCL INFO NET/IB : No device found.",
    "node-a:1234:1290 [0] NCCL INFO NET/Socket : Using [0]eth0:10.0.0.4<0>",
    "node-a:1234:1290 [0] NCCL INFO Using network Socket",
    "node-a:1234:1290 [0] NCCL INFO Channel 00/0 : 1[0] -> 0[0] [receive] via NET/Socket/0",
    "node-a:1234:1290 [0] NCCL INFO Channel 00/0 : 0[0] -> 1[0] [send] via NET/Socket/0",
]
IB_RUN = [
    "gpu-1:77:99 [3] NCCL INFO NET/IB : Using [0]mlx5_0:1/IB [1]mlx5_1:1/IB ; OOB eth0:10.1.0.7<0>",
    "gpu-1:77:99 [3] NCCL INFO Using network IB",
    "gpu-1:77:99 [3] NCCL INFO Channel 00/0 : 3[3] -> 4[0] [send] via NET/IB/0/GDRDMA",
    "gpu-1:77:99 [3] NCCL INFO Channel 01/0 : 2[2] -> 3[3] via P2P/CUMEM/read",
    "gpu-1:77:99 [3] NCCL INFO Channel 02/0 : 1[1] -> 2[2] via SHM/direct/direct",
]


def test_transport_over_sockets():
    assert nccl_transport(SOCKET_RUN) == {"network": "Socket", "paths": ["NET/Socket"], "roce": False}


def test_transport_over_infiniband_with_the_paths_inside_a_node():
    assert nccl_transport(IB_RUN) == {"network": "IB", "paths": ["NET/IB", "P2P/CUMEM", "SHM"], "roce": False}


def test_older_nccl_without_the_using_network_line_and_roce():
    lines = ["h:1:1 [0] NCCL INFO NET/IB : Using [0]mlx5_0:1/RoCE ; OOB ens5:10.2.0.3<0>"]
    assert nccl_transport(lines) == {"network": "IB", "paths": [], "roce": True}


def test_no_nccl_lines_no_network():
    assert nccl_transport(["WARNING: torch.distributed.run: OMP_NUM_THREADS=1"]) == {
        "network": None,
        "paths": [],
        "roce": False,
    }


TABLE = [{"transport": "IB", "busbw_gbps": 10}, {"transport": "Socket", "busbw_gbps": 0.5}]
RESULT = {
    "world_size": 16,
    "nodes": 2,
    "hosts": ["gpu-1", "gpu-2"],
    "backend": "nccl",
    "ddp_steps": 5,
    "ddp_params_equal": True,
    "allreduce_sum_ok": True,
    "allreduce_sum": 136.0,
    "allreduce_expected_sum": 136.0,
    "allreduce_bytes": 64 * 2**20,
    "algbw_gbps": 12.0,
    "busbw_gbps": 22.5,
}


def nodes(network="IB", **changes):
    ddp = dict(RESULT, **changes)
    return [
        {"host": host, "ranks": 8, "ddp": copy.deepcopy(ddp), "nccl": {"network": network, "paths": ["NET/IB"]}}
        for host in ("gpu-1", "gpu-2")
    ]


def test_a_healthy_ib_cluster_passes_against_the_ib_row():
    report = evaluate_cluster(nodes(), TABLE, 0.1)
    assert report["verdict"] == "pass", report["failures"]
    assert (report["nodes"], report["ranks"], report["transport"]) == (2, 16, "IB")
    assert report["checks"][0]["expected_min"] == 10
    assert report["checks"][0]["subject"] == "all-reduce over 16 ranks on 2 nodes (IB)"


def test_a_cluster_that_fell_back_to_sockets_is_judged_by_the_socket_row():
    report = evaluate_cluster(nodes("Socket", busbw_gbps=1.1), TABLE, 0.1)
    assert report["transport"] == "Socket"
    assert report["checks"][0]["expected_min"] == 0.5
    assert report["verdict"] == "pass"


def test_slow_busbw_fails_with_the_figure():
    report = evaluate_cluster(nodes(busbw_gbps=2.0), TABLE, 0.1)
    assert report["verdict"] == "fail"
    assert "busbw_gbps is 2.0 GB/s, below the expected minimum 10" in report["failures"][0]


def test_a_transport_without_a_row_is_reported_not_judged():
    report = evaluate_cluster(nodes("AWS Libfabric"), TABLE, 0.1)
    assert report["checks"] == []
    assert report["verdict"] == "pass"


def test_a_host_whose_torchrun_failed_is_named():
    broken = nodes()
    broken[1]["ddp"] = {"error": "torchrun exited with 1: RendezvousTimeoutError"}
    report = evaluate_cluster(broken, TABLE, 0.1)
    assert report["verdict"] == "fail"
    assert "gpu-2: torchrun exited with 1: RendezvousTimeoutError" in report["failures"]


def test_a_run_that_did_not_span_every_host_fails():
    report = evaluate_cluster(nodes(nodes=1, hosts=["gpu-1"], world_size=8), TABLE, 0.1)
    assert "the run spans 1 node(s) (gpu-1), not the 2 hosts of the play" in report["failures"]
    assert "8 ranks took part, 16 were started" in report["failures"]


def test_unequal_parameters_wrong_sums_and_mixed_transports_fail():
    mixed = nodes(ddp_params_equal=False)
    mixed[1]["nccl"]["network"] = "Socket"
    mixed[1]["ddp"]["allreduce_sum_ok"] = False
    report = evaluate_cluster(mixed, TABLE, 0.1)
    assert "DDP: parameters differ between ranks after training steps" in report["failures"]
    assert "gpu-2: all-reduce sum 136.0 != expected 136.0" in report["failures"]
    assert "the hosts used different transports: IB, Socket" in report["failures"]


def test_gloo_ranks_are_judged_by_the_gloo_row():
    gloo = nodes(None, backend="gloo", busbw_gbps=0.25, world_size=2)
    for node in gloo:
        node["ranks"] = 1
    report = evaluate_cluster(gloo, [{"transport": "gloo", "busbw_gbps": 0.02}], 0.1)
    assert (report["transport"], report["verdict"]) == ("gloo", "pass")
    assert cluster_summary(report)[0] == "cluster gpu-1, gpu-2: PASS  2 nodes, 2 ranks, gloo over TCP"


def test_markdown_names_the_transport_hosts_and_failures():
    report = evaluate_cluster(nodes(busbw_gbps=2.0), TABLE, 0.1)
    report.update(node_results=nodes(), rendezvous="c10d at gpu-1:29500 (gpu-1)", torch="2.13.0")
    text = render_cluster_markdown(report)
    assert "| Transport between nodes | IB |" in text
    assert "| Nodes | 2 |" in text
    assert "| gpu-2 | 8 | ok |" in text
    assert "## Failures" in text
    assert cluster_summary(report)[0] == "cluster gpu-1, gpu-2: FAIL  2 nodes, 16 ranks, NCCL over IB"
