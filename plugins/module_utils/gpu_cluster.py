# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions behind verify_cluster.yml: NCCL_SOCKET_IFNAME matching, the NCCL transport, the verdict."""

from __future__ import annotations

import re

from ansible_collections.gpuhost.provision.plugins.module_utils.gpu_report import _check, _fmt


def ifname_matches(spec: str, interfaces: list[str]) -> list[str]:
    """Interfaces NCCL_SOCKET_IFNAME=spec selects, with NCCL's own rules.

    A comma-separated list of prefixes ("eth" selects eth0 and eth1); `=` before the list makes the names
    exact; `^` before it (or after `=`) excludes instead of selecting. lo and docker* are NCCL's default
    exclusions and are not special here: a spec that names them selects them.
    """
    spec = spec.strip()
    exact = spec.startswith("=")
    spec = spec[1:] if exact else spec
    exclude = spec.startswith("^")
    spec = spec[1:] if exclude else spec
    if spec.startswith("=") and not exact:
        exact, spec = True, spec[1:]
    names = [name.strip() for name in spec.split(",") if name.strip()]

    def hit(interface: str) -> bool:
        return any(interface == name if exact else interface.startswith(name) for name in names)

    return [interface for interface in interfaces if hit(interface) != exclude]


# NCCL_DEBUG=INFO lines that name the network NCCL loaded, oldest format last:
#   "host:123:456 [0] NCCL INFO Using network IB"            (NCCL 2.12+)
#   "host:123:456 [0] NCCL INFO NET/Socket : Using [0]eth0:10.0.0.4<0>"
#   "host:123:456 [0] NCCL INFO NET/IB : Using [0]mlx5_0:1/IB [1]mlx5_1:1/RoCE ; OOB eth0:10.0.0.4<0>"
# and the path each channel takes: "... Channel 00/0 : 1[1] -> 0[0] [receive] via NET/Socket/0".
_USING_NETWORK = re.compile(r"NCCL INFO Using network (\S+)")
_NET_USING = re.compile(r"NCCL INFO NET/(\w+) ?: Using")
_VIA = re.compile(r"NCCL INFO Channel \d+/\d+ : .* via (\S+)")


def nccl_transport(lines: list[str]) -> dict:
    """The network NCCL used between nodes and the paths its channels took, from NCCL_DEBUG=INFO output.

    {"network": "Socket" | "IB" | ... | None, "paths": ["NET/Socket", "P2P/IPC", "SHM"], "roce": bool}.
    """
    network, paths, roce = None, set(), False
    for line in lines:
        using = _USING_NETWORK.search(line) or _NET_USING.search(line)
        if using and network is None:
            network = using.group(1)
        if "/RoCE" in line and "NET/IB" in line:
            roce = True
        via = _VIA.search(line)
        if via:
            parts = via.group(1).split("/")
            paths.add("/".join(parts[:2]) if parts[0] in ("NET", "P2P") else parts[0])
    return {"network": network, "paths": sorted(paths), "roce": roce}


def transport_of(node: dict) -> str:
    """The cross-node transport a node's run used: gloo (TCP), or NCCL's network (Socket, IB, ...)."""
    ddp = node.get("ddp") or {}
    if ddp.get("backend") == "gloo":
        return "gloo"
    return (node.get("nccl") or {}).get("network") or "unknown"


def expected_busbw(transport: str, table: list[dict]) -> dict | None:
    """The table's row for a transport (case-insensitive), e.g. {"transport": "Socket", "busbw_gbps": 1}."""
    return next((row for row in table if row.get("transport", "").lower() == transport.lower()), None)


def evaluate_cluster(nodes: list[dict], table: list[dict], tolerance: float) -> dict:
    """The cluster's verdict from every host's run: one result, every host in it, figures judged.

    nodes: [{"host", "ranks", "ddp" (the smoke test's result, or {"error": ...}), "nccl" (nccl_transport())}].
    """
    failures, checks = [], []
    errors = [node for node in nodes if (node.get("ddp") or {}).get("error") or not node.get("ddp")]
    for node in errors:
        failures.append(f"{node['host']}: {(node.get('ddp') or {}).get('error', 'no result')}")
    good = [node for node in nodes if node not in errors]
    result = good[0]["ddp"] if good else {}
    expected_ranks = sum(int(node.get("ranks", 0)) for node in nodes)
    transports = sorted({transport_of(node) for node in good})
    if good:
        if result.get("nodes") != len(nodes):
            failures.append(
                f"the run spans {result.get('nodes')} node(s) ({', '.join(result.get('hosts', []))}), "
                f"not the {len(nodes)} hosts of the play"
            )
        if result.get("world_size") != expected_ranks:
            failures.append(f"{result.get('world_size')} ranks took part, {expected_ranks} were started")
        if not all(node["ddp"].get("ddp_params_equal") for node in good):
            failures.append("DDP: parameters differ between ranks after training steps")
        for node in good:
            if not node["ddp"].get("allreduce_sum_ok"):
                failures.append(
                    f"{node['host']}: all-reduce sum {node['ddp'].get('allreduce_sum')} != expected "
                    f"{node['ddp'].get('allreduce_expected_sum')}"
                )
        if len(transports) > 1:
            failures.append(f"the hosts used different transports: {', '.join(transports)}")
        transport = transports[0]
        row = expected_busbw(transport, table)
        if row is not None and result.get("busbw_gbps") is not None:
            check = _check(
                f"all-reduce over {result['world_size']} ranks on {len(nodes)} nodes ({transport})",
                "busbw_gbps",
                result["busbw_gbps"],
                row["busbw_gbps"],
                tolerance,
            )
            checks.append(check)
            if not check["ok"]:
                failures.append(check["message"])
    return {
        "nodes": len(nodes),
        "hosts": [node["host"] for node in nodes],
        "ranks": expected_ranks,
        "transport": transports[0] if len(transports) == 1 else transports,
        "nccl_paths": sorted({path for node in good for path in (node.get("nccl") or {}).get("paths", [])}),
        "result": result,
        "checks": checks,
        "failures": failures,
        "verdict": "fail" if failures else "pass",
    }


def render_cluster_markdown(report: dict) -> str:
    """The cluster report a person reads: hosts, transport, DDP, busbw against its minimum, the verdict."""
    result = report.get("result") or {}
    lines = [
        f"# Cluster verification: {', '.join(report['hosts'])}",
        "",
        f"**Verdict: {report['verdict'].upper()}** ({report.get('timestamp', '')})",
        "",
        "| | |",
        "|---|---|",
        f"| Nodes | {report['nodes']} |",
        f"| Ranks | {_fmt(result.get('world_size'))} (started: {report['ranks']}) |",
        f"| Backend | {_fmt(result.get('backend'))} |",
        f"| Transport between nodes | {_fmt(report['transport'])} |",
        f"| NCCL channel paths | {', '.join(report['nccl_paths']) or 'n/a'} |",
        f"| Rendezvous | {_fmt(report.get('rendezvous'))} |",
        f"| PyTorch | {_fmt(report.get('torch'))} |",
        "",
        "## Hosts",
        "",
        "| Host | Ranks | Result |",
        "|---|---|---|",
    ]
    for node in report.get("node_results", []):
        ddp = node.get("ddp") or {}
        lines.append(f"| {node['host']} | {node.get('ranks')} | {ddp.get('error') or 'ok'} |")
    if result:
        lines += [
            "",
            "## DDP and all-reduce",
            "",
            f"- DDP parameters identical on every rank after {result.get('ddp_steps')} steps: "
            f"{result.get('ddp_params_equal')}",
            f"- all-reduce sum {_fmt(result.get('allreduce_sum'))} (expected "
            f"{_fmt(result.get('allreduce_expected_sum'))}): {result.get('allreduce_sum_ok')}",
            f"- all-reduce of {result.get('allreduce_bytes', 0) // 2**20} MiB: algbw {_fmt(result.get('algbw_gbps'))} "
            f"GB/s, busbw {_fmt(result.get('busbw_gbps'))} GB/s",
        ]
    if report["checks"]:
        lines += ["", "| Subject | Figure | Value | Expected min | Threshold | Result |", "|---|---|---|---|---|---|"]
        for check in report["checks"]:
            lines.append(
                f"| {check['subject']} | {check['figure']} | {_fmt(check['value'])} {check['unit']} | "
                f"{_fmt(check['expected_min'])} | {_fmt(check['threshold'])} | {'ok' if check['ok'] else 'FAIL'} |"
            )
    if report["failures"]:
        lines += ["", "## Failures", ""] + [f"- {failure}" for failure in report["failures"]]
    return "\n".join(lines) + "\n"


def _link(report: dict) -> str:
    """'gloo over TCP', 'NCCL over Socket', 'NCCL over IB'."""
    backend = (report.get("result") or {}).get("backend")
    if backend == "gloo":
        return "gloo over TCP"
    return f"{'NCCL' if backend == 'nccl' else _fmt(backend)} over {_fmt(report['transport'])}"


def cluster_summary(report: dict) -> list[str]:
    """A few lines for the end of the play."""
    result = report.get("result") or {}
    rows = [
        f"cluster {', '.join(report['hosts'])}: {report['verdict'].upper()}  {report['nodes']} nodes, "
        f"{_fmt(result.get('world_size'))} ranks, {_link(report)}"
    ]
    for check in report["checks"]:
        rows.append(
            f"  {'ok  ' if check['ok'] else 'FAIL'} {check['subject']:<48} {_fmt(check['value']):>9} {check['unit']} "
            f"(min {_fmt(check['threshold'])})"
        )
    rows += [f"  FAIL {failure}" for failure in report["failures"] if not failure.startswith("all-reduce over")]
    return rows
