# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the doctor reads, read-only: nvidia-smi -q -x, sysfs, procfs, dpkg's status, /lib/modules, the kernel log,
Docker's daemon.json, CDI specs and apt's configuration.

Every path is read below a root ("/" on a host, a capture directory in tests and from
tools/capture_gpu_fixtures.py). Command output comes from `run` on a live host; below any other root it is read
from files under <root>/commands/ (COMMAND_FILES), which the capture script writes. Kept free of Ansible imports.
"""

from __future__ import annotations

import glob
import json
import lzma
import os
import re
import xml.etree.ElementTree as ET

from ansible_collections.gpuhost.provision.plugins.module_utils.daemon_json import DaemonJsonError
from ansible_collections.gpuhost.provision.plugins.module_utils.daemon_json import parse as parse_daemon_json
from ansible_collections.gpuhost.provision.plugins.module_utils.nvidia_gpu import NVIDIA_VENDOR, loaded_driver_version

# PCI class of NVSwitch (0x0680, "other bridge") and of GPUs (0x03xx, display controllers).
NVSWITCH_CLASS_PREFIX = "0x0680"
GPU_CLASS_PREFIX = "0x03"
PCI_LINK_FILES = ("current_link_speed", "current_link_width", "max_link_speed", "max_link_width")
# GT/s per lane -> PCIe generation.
PCIE_GEN = {"2.5": 1, "5.0": 2, "5": 2, "8.0": 3, "8": 3, "16.0": 4, "16": 4, "32.0": 5, "32": 5, "64.0": 6, "64": 6}
SECURE_BOOT_VAR = "sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e0813d7ec5c3"
MODULE_SIGNATURE_MAGIC = b"~Module signature appended~\n"
# Where the NVIDIA user-space libraries live: distribution packages, NVIDIA's .run installer, container hosts.
LIBRARY_DIRS = (
    "usr/lib/x86_64-linux-gnu",
    "usr/lib/x86_64-linux-gnu/nvidia/current",
    "usr/lib/aarch64-linux-gnu/nvidia/current",
    "usr/lib/aarch64-linux-gnu",
    "usr/lib64",
    "usr/lib",
    "usr/local/nvidia/lib64",
    "usr/local/nvidia/lib",
)
# dpkg packages the doctor looks at (the rest of the status file is not read into the facts).
PACKAGE_PATTERN = re.compile(
    r"^(nvidia-.*|libnvidia-.*|linux-image-.*|linux-modules-nvidia-.*|cuda-drivers.*|docker-ce|docker\.io|"
    r"moby-engine|containerd.*|unattended-upgrades|datacenter-gpu-manager.*|xserver-xorg-video-nvidia.*)$"
)
# Packages whose version is the user-space driver's (NVML, libcuda), on Ubuntu, Debian and NVIDIA's CUDA repo.
DRIVER_LIBRARY_PACKAGES = re.compile(
    r"^(libnvidia-compute-\d+(-server)?|libnvidia-ml1|libcuda1|nvidia-driver-\d+.*|nvidia-driver)$"
)
# Packages to hold so unattended upgrades cannot replace the driver under the loaded module.
DRIVER_HOLD_PACKAGES = re.compile(
    r"^(nvidia-driver(-\d+.*)?|libnvidia-compute-\d+.*|nvidia-kernel-(common|source)-\d+.*|nvidia-dkms-\d+.*|"
    r"linux-modules-nvidia-.*|nvidia-kernel-dkms|nvidia-fabricmanager.*)$"
)
DOCKER_PACKAGES = ("docker-ce", "docker.io", "moby-engine")
TOOLKIT_PACKAGES = (
    "nvidia-container-toolkit",
    "nvidia-container-toolkit-base",
    "libnvidia-container-tools",
    "libnvidia-container1",
)
CDI_SPECS = ("etc/cdi/nvidia.yaml", "etc/cdi/nvidia.json", "var/run/cdi/nvidia.yaml", "var/run/cdi/nvidia.json")
# Processes the doctor looks for (procfs comm names, at most 15 characters).
# The core module's file: nvidia.ko (Ubuntu's packages, DKMS, NVIDIA's installer) or nvidia-current.ko (Debian).
NVIDIA_MODULE_FILE = re.compile(r"nvidia(-current)?\.ko(\.(xz|zst|gz))?")
DOCKERD_PATHS = ("usr/bin/dockerd", "usr/sbin/dockerd", "usr/local/bin/dockerd")
PROCESSES = ("nv-fabricmanager", "nvidia-persiste", "dockerd", "nv-hostengine")
# What a live run gets from commands; below another root, read from these files (tools/capture_gpu_fixtures.py).
COMMAND_FILES = {
    "nvidia_smi": "commands/nvidia-smi-q.xml",
    "nvidia_smi_error": "commands/nvidia-smi-q.err",
    "kernel_log": "commands/kernel-log.txt",
    "data_root_space": "commands/data-root-space.json",
    "nvlink": "commands/nvidia-smi-nvlink-s.txt",
}
XID_LINE = re.compile(r"NVRM: Xid \((?P<device>[^)]*)\): (?P<xid>\d+)(?:, (?P<text>.*))?")
SMI_VERSION_MISMATCH = "Driver/library version mismatch"


def path(root: str, relative: str) -> str:
    return os.path.join(root, relative.lstrip("/"))


def read(root: str, relative: str, binary: bool = False):
    """A file's content below root, or None where it is missing or unreadable."""
    try:
        with open(
            path(root, relative),
            "rb" if binary else "r",
            **({} if binary else {"encoding": "utf-8", "errors": "replace"}),
        ) as handle:
            return handle.read()
    except OSError:
        return None


def _int(text):
    match = re.match(r"\s*(-?\d+)", str(text or ""))
    return int(match.group(1)) if match else None


def _link_gen(speed: str | None) -> int | None:
    match = re.match(r"\s*([0-9.]+)\s*GT/s", speed or "")
    return PCIE_GEN.get(match.group(1)) if match else None


def pci_devices(root: str) -> dict:
    """NVIDIA GPUs (display class) and NVSwitches (bridge class 0x0680) under <root>/sys/bus/pci/devices.

    Each GPU carries its sysfs PCIe link: the files' raw text and the generation and width they mean.
    """
    base = path(root, "sys/bus/pci/devices")
    found = {"gpus": [], "nvswitches": []}
    try:
        addresses = sorted(os.listdir(base))
    except OSError:
        return found
    for address in addresses:
        attrs = {
            name: (read(root, f"sys/bus/pci/devices/{address}/{name}") or "").strip().lower()
            for name in ("vendor", "class", "device")
        }
        if attrs["vendor"] != NVIDIA_VENDOR:
            continue
        device = {"address": address, "device_id": attrs["device"], "class": attrs["class"]}
        if attrs["class"].startswith(NVSWITCH_CLASS_PREFIX):
            found["nvswitches"].append(device)
        elif attrs["class"].startswith(GPU_CLASS_PREFIX):
            link = {
                name: (read(root, f"sys/bus/pci/devices/{address}/{name}") or "").strip() or None
                for name in PCI_LINK_FILES
            }
            link.update(
                current_gen=_link_gen(link["current_link_speed"]),
                max_gen=_link_gen(link["max_link_speed"]),
                current_width=_int(link["current_link_width"]),
                max_width=_int(link["max_link_width"]),
            )
            device["link"] = link
            found["gpus"].append(device)
    return found


def loaded_modules(proc_modules: str | None) -> list[str]:
    """Module names in /proc/modules."""
    return sorted(line.split()[0] for line in (proc_modules or "").splitlines() if line.strip())


def secure_boot(root: str) -> bool | None:
    """The SecureBoot EFI variable: 4 attribute bytes, then 1 (on) or 0 (off). None: no EFI or unreadable."""
    data = read(root, SECURE_BOOT_VAR, binary=True)
    if data is None or len(data) < 5:
        return None
    return data[4] == 1


def parse_dpkg_status(text: str | None, pattern: re.Pattern = PACKAGE_PATTERN) -> dict:
    """{package: {version, status, selection}} for packages matching pattern that dpkg lists as installed.

    selection is the first word of Status ("install", "hold", ...): "hold" is what `apt-mark hold` sets.
    """
    packages = {}
    for stanza in re.split(r"\n\s*\n", text or ""):
        fields = dict(re.findall(r"^([A-Za-z-]+): ?(.*)$", stanza, flags=re.MULTILINE))
        name, status = fields.get("Package"), fields.get("Status", "").split()
        if (
            not name
            or not pattern.match(name)
            or len(status) != 3
            or status[2] not in ("installed", "half-configured", "unpacked")
        ):
            continue
        packages[name] = {"version": fields.get("Version"), "status": status[2], "selection": status[0]}
    return packages


def upstream_version(version: str | None) -> str | None:
    """'1:580.95.05-0ubuntu1' -> '580.95.05': the driver's own version inside a Debian package version."""
    if not version:
        return None
    match = re.search(r"(\d+\.\d+(?:\.\d+)?)", str(version).split(":", 1)[-1])
    return match.group(1) if match else None


def installed_kernels(packages: dict) -> list[str]:
    """Kernel releases of installed linux-image packages ('linux-image-6.8.0-45-generic' -> '6.8.0-45-generic')."""
    kernels = set()
    for name in packages:
        match = re.match(r"^linux-image-(?:unsigned-)?(\d+\.\d+\S*)$", name)
        if match:
            kernels.add(match.group(1))
    return sorted(kernels)


def kernel_modules(root: str, kernels: list[str]) -> dict:
    """{kernel: [paths of nvidia.ko* below /lib/modules/<kernel>, relative to it]}; None where the tree is missing."""
    result = {}
    for kernel in kernels:
        base = path(root, f"lib/modules/{kernel}")
        if not os.path.isdir(base):
            result[kernel] = None
            continue
        found = []
        for directory, _subdirs, files in os.walk(base):
            found += [
                os.path.relpath(os.path.join(directory, name), base)
                for name in files
                if NVIDIA_MODULE_FILE.fullmatch(name)
            ]
        result[kernel] = sorted(found)
    return result


def module_signed(root: str, kernel: str, relative: str) -> bool | None:
    """Whether a module file ends with a kernel module signature; None where it cannot be told (zst, gz)."""
    data = read(root, f"lib/modules/{kernel}/{relative}", binary=True)
    if data is None:
        return None
    if relative.endswith(".xz"):
        try:
            data = lzma.decompress(data)
        except lzma.LZMAError:
            return None
    elif not relative.endswith(".ko"):
        return None
    return data.endswith(MODULE_SIGNATURE_MAGIC)


def library_versions(root: str) -> dict:
    """{version: [paths]} of libnvidia-ml.so.<version> in the usual library directories."""
    found: dict = {}
    for directory in LIBRARY_DIRS:
        for name in sorted(glob.glob(os.path.join(path(root, directory), "libnvidia-ml.so.*"))):
            match = re.search(r"libnvidia-ml\.so\.(\d+\.\d+(?:\.\d+)?)$", name)
            if match:
                found.setdefault(match.group(1), []).append("/" + os.path.relpath(name, root))
    return found


def running_processes(root: str, names=PROCESSES) -> list[str]:
    """Which of the named processes run (procfs comm)."""
    running = set()
    for comm in glob.glob(path(root, "proc/[0-9]*/comm")):
        name = (read(root, os.path.relpath(comm, root)) or "").strip()
        if name in names:
            running.add(name)
    return sorted(running)


# --- nvidia-smi -q -x ----------------------------------------------------------------------------------------


def _text(element, tag: str):
    found = element.find(tag) if element is not None else None
    if found is None or found.text is None:
        return None
    value = found.text.strip()
    return None if value in ("N/A", "[N/A]", "Unknown Error", "[Not Supported]", "Not Supported", "") else value


def _yes(value) -> bool | None:
    return None if value is None else value.strip().lower() in ("yes", "active", "enabled", "true")


def _sum_counts(element, wanted) -> int | None:
    """The sum of the integer leaves below element whose path says they count uncorrectable errors."""
    if element is None:
        return None
    total, seen = 0, False
    for parent in element.iter():
        for child in parent:
            if len(child) or child.text is None:
                continue
            if wanted(parent.tag, child.tag) and _int(child.text) is not None:
                total += _int(child.text)
                seen = True
    return total if seen else None


def _uncorrectable(parent_tag: str, tag: str) -> bool:
    # Hopper+: sram_uncorrectable_parity/secded, dram_uncorrectable; Volta/Ampere: double_bit/total.
    return ("uncorrectable" in tag and "threshold" not in tag) or (parent_tag == "double_bit" and tag == "total")


def _reasons(gpu) -> dict:
    """Clock event (throttle) reasons: {'hw_slowdown': True, ...}; driver 535+ clocks_event_*, older "
    "clocks_throttle_*."""
    for container, prefix in (
        ("clocks_event_reasons", "clocks_event_reason_"),
        ("clocks_throttle_reasons", "clocks_throttle_reason_"),
    ):
        element = gpu.find(container)
        if element is not None:
            return {child.tag.removeprefix(prefix): _yes(child.text) for child in element if child.text}
    return {}


def parse_smi_xml(text: str) -> dict:
    """The fields the doctor judges from `nvidia-smi -q -x`, per GPU in the order nvidia-smi lists them."""
    root = ET.fromstring(text)  # noqa: S314 - nvidia-smi's own output on the host, not a document from outside
    gpus = []
    for index, gpu in enumerate(root.findall("gpu")):
        pci = gpu.find("pci")
        link = pci.find("pci_gpu_link_info") if pci is not None else None
        gen = link.find("pcie_gen") if link is not None else None
        widths = link.find("link_widths") if link is not None else None
        ecc = gpu.find("ecc_errors")
        rows = gpu.find("remapped_rows")
        retired = gpu.find("retired_pages")
        fabric = gpu.find("fabric")
        gpus.append(
            {
                "index": index,
                "pci_bus_id": gpu.get("id"),
                "name": _text(gpu, "product_name"),
                "uuid": _text(gpu, "uuid"),
                "persistence_mode": _text(gpu, "persistence_mode"),
                "mig_current": _text(gpu, "mig_mode/current_mig"),
                "mig_pending": _text(gpu, "mig_mode/pending_mig"),
                "performance_state": _text(gpu, "performance_state"),
                "pcie": {
                    "max_gen": _int(_text(gen, "max_link_gen")),
                    "current_gen": _int(_text(gen, "current_link_gen")),
                    "max_width": _int(_text(widths, "max_link_width")),
                    "current_width": _int(_text(widths, "current_link_width")),
                },
                "clock_event_reasons": _reasons(gpu),
                "sm_clock_mhz": _int(_text(gpu, "clocks/sm_clock")),
                "max_sm_clock_mhz": _int(_text(gpu, "max_clocks/sm_clock")),
                "temperature_c": _int(_text(gpu, "temperature/gpu_temp")),
                "ecc_mode_current": _text(gpu, "ecc_mode/current_ecc"),
                "ecc_mode_pending": _text(gpu, "ecc_mode/pending_ecc"),
                "ecc_volatile_uncorrectable": _sum_counts(
                    ecc.find("volatile") if ecc is not None else None, _uncorrectable
                ),
                "ecc_aggregate_uncorrectable": _sum_counts(
                    ecc.find("aggregate") if ecc is not None else None, _uncorrectable
                ),
                "remapped_rows": None
                if rows is None or _text(rows, "remapped_row_pending") is None
                else {
                    "correctable": _int(_text(rows, "remapped_row_corr")),
                    "uncorrectable": _int(_text(rows, "remapped_row_unc")),
                    "pending": _yes(_text(rows, "remapped_row_pending")),
                    "failure": _yes(_text(rows, "remapped_row_failure")),
                },
                "retired_pages": None
                if retired is None
                else {
                    "single_bit": _int(_text(retired, "multiple_single_bit_retirement/retired_count")),
                    "double_bit": _int(_text(retired, "double_bit_retirement/retired_count")),
                    "pending": _yes(_text(retired, "pending_retirement")),
                },
                "fabric": {"state": _text(fabric, "state"), "status": _text(fabric, "status")},
            }
        )
    return {
        "driver_version": _text(root, "driver_version"),
        "cuda_version": _text(root, "cuda_version"),
        "attached_gpus": _int(_text(root, "attached_gpus")),
        "gpus": gpus,
    }


def parse_xid(kernel_log: str) -> list[dict]:
    """NVRM Xid lines: "
    "{'device': 'PCI:0000:00:06', 'xid': 79, 'text': 'pid=..., GPU has fallen off the bus.', 'line'}."""
    found = []
    for line in (kernel_log or "").splitlines():
        match = XID_LINE.search(line)
        if match:
            found.append(
                {
                    "device": match["device"],
                    "xid": int(match["xid"]),
                    "text": (match["text"] or "").strip(),
                    "line": line.strip(),
                }
            )
    return found


def parse_nvlink_status(text: str | None) -> dict:
    """`nvidia-smi nvlink -s` (screen text: NVLink state is not in -q -x): {gpu index: {link: active}}."""
    links: dict = {}
    current = None
    for line in (text or "").splitlines():
        gpu = re.match(r"^GPU (\d+):", line)
        if gpu:
            current = int(gpu.group(1))
            links[current] = {}
            continue
        link = re.match(r"^\s+Link (\d+): (.*)$", line)
        if link and current is not None:
            links[current][int(link.group(1))] = "inactive" not in link.group(2).lower()
    return links


def cdi_specs(root: str) -> list[dict]:
    """NVIDIA CDI specs present, with the driver versions their library paths name and the role's stamp file."""
    specs = []
    for relative in CDI_SPECS:
        text = read(root, relative)
        if text is None:
            continue
        stamp = read(root, os.path.join(os.path.dirname(relative), ".nvidia.yaml.driver-version"))
        versions = sorted(set(re.findall(r"lib(?:cuda|nvidia-ml)\.so\.(\d+\.\d+(?:\.\d+)?)", text)))
        specs.append({"path": "/" + relative, "driver_versions": versions, "stamp": stamp.strip() if stamp else None})
    return specs


def docker_daemon(root: str) -> dict:
    """daemon.json: whether it exists and parses (the docker role's parser), its runtimes and data-root."""
    text = read(root, "etc/docker/daemon.json")
    info = {
        "path": "/etc/docker/daemon.json",
        "exists": text is not None,
        "error": None,
        "runtimes": [],
        "data_root": "/var/lib/docker",
    }
    if text is None:
        return info
    try:
        config = parse_daemon_json(text, "/etc/docker/daemon.json")
    except DaemonJsonError as exc:
        info["error"] = str(exc)
        return info
    runtimes = config.get("runtimes")
    info["runtimes"] = sorted(runtimes) if isinstance(runtimes, dict) else []
    info["default_runtime"] = config.get("default-runtime")
    info["data_root"] = config.get("data-root") or config.get("graph") or "/var/lib/docker"
    return info


def free_space(root: str, directory: str) -> dict | None:
    """Free and total bytes of the file system holding directory (its nearest existing parent)."""
    current = path(root, directory)
    while not os.path.exists(current) and current != os.path.dirname(current):
        current = os.path.dirname(current)
    try:
        stat = os.statvfs(current)
    except OSError:
        return None
    return {
        "path": directory,
        "free_bytes": stat.f_bavail * stat.f_frsize,
        "total_bytes": stat.f_blocks * stat.f_frsize,
    }


def unattended_upgrades_blacklist(root: str) -> list[str]:
    """Entries of Unattended-Upgrade::Package-Blacklist in /etc/apt/apt.conf.d (the patterns it never upgrades)."""
    entries = []
    for conf in sorted(glob.glob(path(root, "etc/apt/apt.conf.d/*"))):
        text = read(root, os.path.relpath(conf, root)) or ""
        text = re.sub(r"//[^\n]*", "", text)
        for block in re.findall(r"Unattended-Upgrade::Package-Blacklist\s*\{(.*?)\};", text, flags=re.DOTALL):
            entries += re.findall(r'"([^"]+)"', block)
    return entries


def collect(root: str = "/", run=None, nvidia_smi: str = "nvidia-smi") -> dict:
    """Everything the doctor judges. run(argv) -> (rc, stdout, stderr) runs commands on a live host ("/");
    below another root the commands' output is read from COMMAND_FILES and no command runs."""
    live = run is not None
    pci = pci_devices(root)
    packages = parse_dpkg_status(read(root, "var/lib/dpkg/status"))
    running_kernel = (read(root, "proc/sys/kernel/osrelease") or "").strip() or None
    kernels = sorted(set(installed_kernels(packages)) | ({running_kernel} if running_kernel else set()))
    modules = kernel_modules(root, kernels)
    signed = None
    if running_kernel and modules.get(running_kernel):
        signed = module_signed(root, running_kernel, modules[running_kernel][0])
    proc_version = read(root, "proc/driver/nvidia/version")
    facts = {
        "root": root,
        "pci": pci,
        "proc_driver_version": proc_version.strip() if proc_version else None,
        "loaded_driver_version": loaded_driver_version(proc_version),
        "modules": loaded_modules(read(root, "proc/modules")),
        "running_kernel": running_kernel,
        "kernels": kernels,
        "kernel_modules": modules,
        "running_module_signed": signed,
        "tainted": _int(read(root, "proc/sys/kernel/tainted")),
        "secure_boot": secure_boot(root),
        "dev_nvidia_uvm": os.path.exists(path(root, "dev/nvidia-uvm")),
        "packages": packages,
        "libraries": library_versions(root),
        "processes": running_processes(root),
        "cdi_specs": cdi_specs(root),
        "docker_daemon": docker_daemon(root),
        "docker_binary": any(os.path.exists(path(root, p)) for p in DOCKERD_PATHS),
        "unattended_upgrades_blacklist": unattended_upgrades_blacklist(root),
        "reboot_required_file": os.path.exists(path(root, "var/run/reboot-required")),
    }
    facts["smi"] = _smi(root, run, nvidia_smi)
    facts["kernel_log"] = _kernel_log(root, run)
    if run is not None:
        rc, out, _err = run([nvidia_smi, "nvlink", "-s"])
        facts["nvlink"] = parse_nvlink_status(out if rc == 0 else "")
    else:
        facts["nvlink"] = parse_nvlink_status(read(root, COMMAND_FILES["nvlink"]))
    # Docker's data-root free space: statvfs on a live host, the captured figures below another root.
    data_root = facts["docker_daemon"]["data_root"]
    if live:
        facts["data_root_space"] = free_space(root, data_root)
    else:
        captured = read(root, COMMAND_FILES["data_root_space"])
        facts["data_root_space"] = json.loads(captured) if captured else None
    return facts


def _smi(root: str, run, nvidia_smi: str) -> dict:
    """nvidia-smi -q -x, parsed, with the error where it failed."""
    smi_text, smi_error = None, None
    if run is not None:
        rc, out, err = run([nvidia_smi, "-q", "-x"])
        if rc == 0:
            smi_text = out
        else:
            smi_error = (err or out).strip() or f"{nvidia_smi} -q -x exited with {rc}"
    else:
        smi_text = read(root, COMMAND_FILES["nvidia_smi"])
        smi_error = (read(root, COMMAND_FILES["nvidia_smi_error"]) or "").strip() or None
        if smi_text is None and smi_error is None:
            smi_error = f"{nvidia_smi} is not installed (not found on PATH)"
    smi = {"error": smi_error, **(_safe_smi(smi_text) if smi_text else {"gpus": []})}
    if smi.get("parse_error"):
        smi["error"] = smi["parse_error"]
    return smi


def _kernel_log(root: str, run) -> dict:
    """Xid lines in the kernel log since boot: journald's, else the ring buffer (dmesg)."""
    log_text, log_source, log_error = None, None, None
    if run is not None:
        for argv in (["journalctl", "-k", "-b", "0", "--no-pager", "-o", "short-iso", "-q"], ["dmesg"]):
            rc, out, err = run(argv)
            if rc == 0 and out.strip():
                log_text, log_source = out, " ".join(argv)
                break
            log_error = f"{' '.join(argv)}: {(err or out).strip() or f'exited with {rc}'}"
    else:
        log_text = read(root, COMMAND_FILES["kernel_log"])
        log_source = COMMAND_FILES["kernel_log"] if log_text is not None else None
        log_error = None if log_text is not None else "no kernel log in the capture"
    return {
        "source": log_source,
        "error": None if log_text is not None else log_error,
        "xid": parse_xid(log_text or ""),
    }


def _safe_smi(text: str) -> dict:
    try:
        return parse_smi_xml(text)
    except ET.ParseError as exc:
        return {"gpus": [], "parse_error": f"could not read the XML of nvidia-smi -q -x: {exc}"}
