# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions: the interconnect between a host's GPUs, read from `nvidia-smi topo -m` and `nvlink --status`.

Busbw is judged by interconnect, not by GPU model alone: the same H100 moves ~25 GB/s over PCIe and
several hundred GB/s over NVLink, so gpu_verify judges an all-reduce against the row of the link its GPUs
actually share.
"""

from __future__ import annotations

import re

# `nvidia-smi topo -m` link codes between two GPUs (its legend). NV# is a bonded set of # NVLinks.
PCIE_CODES = {
    "PIX": "at most a single PCIe bridge",
    "PXB": "multiple PCIe bridges",
    "PHB": "a PCIe host bridge",
    "NODE": "PCIe host bridges within a NUMA node",
    "SYS": "PCIe and the SMP interconnect between NUMA nodes",
}
# Worst first: the slowest pair sets an all-reduce's pace.
PCIE_ORDER = ["SYS", "NODE", "PHB", "PXB", "PIX"]
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_GPU = re.compile(r"^GPU(\d+)$")


class TopologyError(ValueError):
    """`nvidia-smi topo -m` printed something this parser cannot read."""


def parse_topo_matrix(text: str) -> dict:
    """GPU-to-GPU link codes from `nvidia-smi topo -m`: {"0": {"1": "NV18"}, "1": {"0": "NV18"}}.

    The header names the columns (GPU0 GPU1 ... NIC0 ... CPU Affinity ...), each GPU row gives one cell per
    column, tab-separated, the header underlined with ANSI escapes. NIC rows, affinities and the legends
    are ignored. Keys are nvidia-smi's GPU indices as strings (JSON-friendly).
    """
    lines = [_ANSI.sub("", line).rstrip() for line in text.splitlines()]
    header_at = next((i for i, line in enumerate(lines) if line.split() and line.split()[0] == "GPU0"), None)
    if header_at is None:
        raise TopologyError("nvidia-smi topo -m: no header row starting with GPU0")
    columns = [cell.strip() for cell in lines[header_at].split("\t") if cell.strip()]
    gpu_columns = [(pos, _GPU.match(name).group(1)) for pos, name in enumerate(columns) if _GPU.match(name)]
    matrix: dict[str, dict[str, str]] = {}
    for line in lines[header_at + 1 :]:
        if not line.strip():
            break
        cells = line.split("\t")
        row = _GPU.match(cells[0].strip())
        if not row:
            continue
        values = [cell.strip() for cell in cells[1:]]
        if len(values) < len(gpu_columns):
            raise TopologyError(
                f"nvidia-smi topo -m: row {cells[0].strip()} has {len(values)} cells, "
                f"fewer than the {len(gpu_columns)} GPU columns"
            )
        matrix[row.group(1)] = {index: values[pos] for pos, index in gpu_columns if index != row.group(1)}
    if not matrix:
        raise TopologyError("nvidia-smi topo -m: no GPU rows under the header")
    return matrix


def interconnect(matrix: dict, gpus: list | None = None) -> dict:
    """The interconnect of the given GPUs (all by default): what an all-reduce over them is judged by.

    Returns {"kind": "single" | "nvlink" | "pcie", "link": the slowest pair's code, "gpus": [...]}.
    `nvlink` only when every pair is NV#: one PCIe pair sets the pace of the whole ring.
    """
    chosen = [str(g) for g in (gpus if gpus is not None else sorted(matrix, key=int))]
    missing = [g for g in chosen if g not in matrix]
    if missing:
        raise TopologyError(f"nvidia-smi topo -m lists no GPU {', '.join(missing)} (it lists {', '.join(matrix)})")
    if len(chosen) < 2:
        return {"kind": "single", "link": None, "gpus": chosen}
    links = [matrix[a][b] for i, a in enumerate(chosen) for b in chosen[i + 1 :]]
    pcie = [link for link in links if not link.startswith("NV")]
    if pcie:
        worst = min(pcie, key=lambda code: PCIE_ORDER.index(code) if code in PCIE_ORDER else -1)
        return {"kind": "pcie", "link": worst, "gpus": chosen}
    fewest = min(links, key=lambda code: int(code[2:]) if code[2:].isdigit() else 0)
    return {"kind": "nvlink", "link": fewest, "gpus": chosen}


def parse_nvlink_status(text: str) -> dict:
    """Active and inactive NVLinks per GPU from `nvidia-smi nvlink --status`: {"0": {"active": 18, ...}}.

    Each GPU's block starts `GPU 0: NVIDIA H100 ... (UUID: ...)`, then one line per link, either
    `Link 3: 26.562 GB/s` or `Link 3: <inactive>`. A GPU without NVLink prints no link lines.
    """
    status: dict[str, dict] = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        gpu = re.match(r"^GPU (\d+):", line)
        if gpu:
            current = status.setdefault(gpu.group(1), {"active": 0, "inactive": 0, "gbps_per_link": None})
            continue
        link = re.match(r"^Link \d+:\s*(.*)$", line)
        if link and current is not None:
            value = link.group(1)
            speed = re.match(r"^([0-9.]+)\s*GB/s", value)
            if speed:
                current["active"] += 1
                current["gbps_per_link"] = float(speed.group(1))
            else:
                current["inactive"] += 1
    return status


def visible_gpus(cuda_visible_devices: str, count: int) -> list[str] | None:
    """nvidia-smi indices the smoke test's ranks use: all, or CUDA_VISIBLE_DEVICES's when it lists numbers.

    UUIDs or MIG names in CUDA_VISIBLE_DEVICES cannot be mapped to topo -m's indices here: None (unknown).
    """
    if not cuda_visible_devices:
        return [str(i) for i in range(count)]
    parts = [part.strip() for part in cuda_visible_devices.split(",") if part.strip()]
    return parts if all(part.isdigit() for part in parts) else None


def describe(topology: dict | None) -> str:
    """A short phrase for a report: 'NVLink (NV18)', 'PCIe (PHB: a PCIe host bridge)', 'unknown'."""
    if not topology or not topology.get("kind"):
        return "unknown interconnect"
    if topology["kind"] == "single":
        return "single GPU"
    if topology["kind"] == "nvlink":
        return f"NVLink ({topology['link']})"
    return f"PCIe ({topology['link']}: {PCIE_CODES.get(topology['link'], 'unknown link code')})"


def read_topology(text: str, visible_devices: str, gpu_count: int) -> dict | None:
    """The interconnect of the GPUs the smoke test used; None where topo -m was not read."""
    if gpu_count == 1:
        return {"kind": "single", "link": None, "gpus": ["0"]}
    if not text.strip():
        return None
    try:
        matrix = parse_topo_matrix(text)
        gpus = visible_gpus(visible_devices, len(matrix))
        if gpus is None:
            return {"kind": None, "error": f"CUDA_VISIBLE_DEVICES={visible_devices} names no GPU indices"}
        topology = interconnect(matrix, gpus)
    except TopologyError as exc:
        return {"kind": None, "error": str(exc)}
    topology["matrix"] = matrix
    return topology
