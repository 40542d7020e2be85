# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The doctor's judgement: from what doctor_sources.collect() read to findings, each with an id, a severity
(error, warning, ok; skipped where the check does not apply), the evidence it rests on and the fix in one
sentence. docs/doctor.md lists every finding. Kept free of Ansible imports so pytest calls it directly.
"""

from __future__ import annotations

import datetime
import json

from ansible_collections.gpuhost.provision.plugins.module_utils.doctor_sources import (
    DOCKER_PACKAGES,
    DRIVER_HOLD_PACKAGES,
    DRIVER_LIBRARY_PACKAGES,
    SMI_VERSION_MISMATCH,
    TOOLKIT_PACKAGES,
    upstream_version,
)
from ansible_collections.gpuhost.provision.plugins.module_utils.nvidia_toolkit_cves import floor, open_cves, version_key

SEVERITIES = ("error", "warning", "ok", "skipped")
# NVIDIA's data center driver branches and their end of life, from "Supported Drivers and CUDA Toolkit Versions"
# (docs.nvidia.com/datacenter/tesla/drivers/615/ and /620/, read 2026-12-02). A branch that is not listed (a
# short-lived New Feature Branch, or an older branch) is past its support unless it is newer than every listed one.
DRIVER_BRANCH_EOL = {
    "535": "2026-06-30",
    "580": "2028-06-30",
    "595": "2027-03-31",
    "610": "2026-08-31",
    "620": "2029-09-30",
}
# Xids that are usually an application's own fault (a bad kernel, an out-of-range access): a warning, not an
# error. Every other Xid (48 DBE, 63/64 row remapping, 74 NVLink, 79 off the bus, 94/95 ECC, 119/120 GSP ...)
# is an error. NVIDIA's Xid catalogue: https://docs.nvidia.com/deploy/xid-errors/
APPLICATION_XIDS = {13, 31, 43, 45, 68}
# Clock event reasons that mean the hardware slows the GPU (error) or the driver does for heat (warning).
HW_SLOWDOWN_REASONS = ("hw_slowdown", "hw_thermal_slowdown", "hw_power_brake_slowdown")
SW_SLOWDOWN_REASONS = ("sw_thermal_slowdown",)
DEFAULTS = {
    "expect_mig": False,
    "expected_gpus": 0,
    "docker_min_free_gib": 20.0,
    "require_containers": False,
    "today": None,
}
GIB = 2**30


def finding(fid: str, severity: str, summary: str, evidence=None, fix: str = "") -> dict:
    if severity not in SEVERITIES:
        raise ValueError(f"{fid}: severity {severity!r} is not one of {SEVERITIES}")
    return {"id": fid, "severity": severity, "summary": summary, "evidence": evidence or {}, "fix": fix}


def graded(fid: str, evidence, cases, ok_summary: str) -> list[dict]:
    """The finding of the first case (condition, severity, summary, fix) whose condition holds, else ok."""
    for condition, severity, summary, fix in cases:
        if condition:
            return [finding(fid, severity, summary, evidence, fix)]
    return [finding(fid, "ok", ok_summary, evidence)]


def _pci_id(bus_id: str | None) -> str:
    """nvidia-smi's '00000000:00:06.0' -> sysfs's '0000:00:06.0'."""
    return (bus_id or "")[-12:].lower()


def driver_packages(facts: dict) -> dict:
    """Installed dpkg packages that carry the user-space driver (their upstream version is the driver's)."""
    return {name: pkg for name, pkg in facts["packages"].items() if DRIVER_LIBRARY_PACKAGES.match(name)}


def _gpu_findings_present(facts: dict, settings: dict) -> list[dict]:
    pci_gpus = facts["pci"]["gpus"]
    smi = facts["smi"]
    smi_count = len(smi.get("gpus", []))
    out = []
    if not pci_gpus and not smi_count:
        return [
            finding(
                "gpu.present",
                "error",
                "No NVIDIA GPU on this host: no PCI device of vendor 0x10de under /sys/bus/pci, and nvidia-smi "
                "lists none.",
                {"pci_gpus": 0, "nvidia_smi": smi.get("error") or "no GPUs"},
                "Run the doctor on GPU hosts only, or attach the GPU to this VM (cloud: a GPU instance type).",
            )
        ]
    out.append(
        finding(
            "gpu.present",
            "ok",
            f"{len(pci_gpus)} NVIDIA GPU(s) on the PCI bus.",
            {"pci_gpus": [g["address"] for g in pci_gpus]},
        )
    )
    if facts["loaded_driver_version"] is None:
        out.append(
            finding(
                "driver.loaded",
                "error",
                "GPUs are on the PCI bus but no NVIDIA kernel module is loaded (/proc/driver/nvidia/version is "
                "missing).",
                {"proc_driver_nvidia_version": None, "nouveau_loaded": "nouveau" in facts["modules"]},
                "Install the driver (site.yml --tags driver) and reboot; check `dmesg | grep -i nvrm` for why it "
                "did not load.",
            )
        )
    else:
        out.append(
            finding(
                "driver.loaded",
                "ok",
                f"NVIDIA kernel module {facts['loaded_driver_version']} is loaded.",
                {"proc_driver_nvidia_version": facts["proc_driver_version"]},
            )
        )
    if smi.get("error"):
        mismatch = SMI_VERSION_MISMATCH in smi["error"]
        out.append(
            finding(
                "driver.nvidia_smi",
                "error",
                f"nvidia-smi -q -x fails: {smi['error']}",
                {"nvidia_smi_error": smi["error"]},
                "Reboot so the installed driver's kernel module is the one loaded (or reload the nvidia modules)."
                if mismatch
                else "Install the driver's utilities (nvidia-smi) and check that the kernel module is loaded.",
            )
        )
    else:
        out.append(
            finding(
                "driver.nvidia_smi",
                "ok",
                f"nvidia-smi lists {smi_count} GPU(s).",
                {"driver_version": smi.get("driver_version"), "cuda_version": smi.get("cuda_version")},
            )
        )
    expected = settings["expected_gpus"] or len(pci_gpus)
    if not smi.get("error"):
        evidence = {"pci_gpus": len(pci_gpus), "nvidia_smi_gpus": smi_count, "expected": expected}
        if smi_count != expected or smi_count != len(pci_gpus):
            out.append(
                finding(
                    "gpu.count",
                    "error",
                    f"nvidia-smi lists {smi_count} GPU(s), the PCI bus has {len(pci_gpus)}"
                    + (f" and {settings['expected_gpus']} are expected." if settings["expected_gpus"] else "."),
                    evidence,
                    "A GPU fell off the bus or is held by another driver: look for Xid 79 in `dmesg`, then reset "
                    "or reboot the host.",
                )
            )
        else:
            out.append(
                finding("gpu.count", "ok", f"{smi_count} GPU(s) on the PCI bus, all seen by the driver.", evidence)
            )
    return out


def _library_finding(facts: dict, settings: dict) -> list[dict]:
    """Library vs kernel module."""
    loaded = facts["loaded_driver_version"]
    libraries = facts["libraries"]
    packaged = {name: upstream_version(pkg["version"]) for name, pkg in driver_packages(facts).items()}
    versions = set(libraries) | {v for v in packaged.values() if v}
    evidence = {"loaded": loaded, "libnvidia_ml": libraries, "packages": packaged}
    return graded(
        "driver.library_mismatch",
        evidence,
        [
            (
                loaded is None or not versions,
                "skipped",
                "No loaded module or no user-space driver library found to compare.",
                "",
            ),
            (
                versions != {loaded},
                "error",
                f"The loaded kernel module is {loaded} but the user-space driver is "
                f"{', '.join(sorted(versions - {loaded}))}: "
                "NVML fails with 'Driver/library version mismatch'.",
                "Reboot the host so the upgraded driver's kernel module loads (hold the driver packages to stop "
                "silent upgrades).",
            ),
        ],
        f"Kernel module and user-space driver are both {loaded}.",
    )


def _kernel_modules_finding(facts: dict, settings: dict) -> list[dict]:
    """A module for every installed kernel."""
    modules = facts["modules"]
    packaged = driver_packages(facts)
    kmods = facts["kernel_modules"]
    running = facts["running_kernel"]
    packaged_driver = bool(packaged) or any(
        name.startswith(("nvidia-dkms", "linux-modules-nvidia")) for name in facts["packages"]
    )
    missing = [k for k, found in kmods.items() if not found and not (k == running and "nvidia" in modules)]
    evidence = {"running_kernel": running, "modules": kmods}
    return graded(
        "driver.kernel_modules",
        evidence,
        [
            (
                not packaged_driver,
                "skipped",
                "The driver is not installed from dpkg packages: its modules are not per kernel package.",
                "",
            ),
            (
                missing,
                "error",
                f"No NVIDIA module for installed kernel(s) {', '.join(missing)}: booting one of them leaves the "
                "GPUs without a driver.",
                "Install the headers and rebuild the module (`apt install linux-headers-<kernel>` then `dkms "
                "autoinstall -k <kernel>`), "
                "or the matching linux-modules-nvidia package.",
            ),
        ],
        f"Every installed kernel ({', '.join(kmods)}) has an NVIDIA module.",
    )


def _secure_boot_finding(facts: dict, settings: dict) -> list[dict]:
    """Secure Boot."""
    modules = facts["modules"]
    sb, signed = facts["secure_boot"], facts["running_module_signed"]
    evidence = {"secure_boot": sb, "running_module_signed": signed, "nvidia_loaded": "nvidia" in modules}
    return graded(
        "driver.secure_boot",
        evidence,
        [
            (sb is None, "skipped", "No EFI SecureBoot variable (legacy boot, or not readable).", ""),
            (
                sb and "nvidia" not in modules and signed is False,
                "error",
                "Secure Boot is on and the NVIDIA module for the running kernel is unsigned: the kernel refuses "
                "to load it.",
                "Enrol a MOK that signs DKMS modules (`mokutil --import`), or use the distribution's signed "
                "prebuilt modules.",
            ),
            (
                sb and "nvidia" not in modules,
                "warning",
                "Secure Boot is on, the NVIDIA module is not loaded, and whether its file is signed cannot be told "
                "(compressed or missing): an unsigned module would be refused.",
                "Check with `modinfo -F signer nvidia`; enrol a MOK that signs DKMS modules if it has no signer.",
            ),
        ],
        f"Secure Boot is {'on' if sb else 'off'}; nothing stops the module loading.",
    )


def _nouveau_finding(facts: dict, settings: dict) -> list[dict]:
    """nouveau not loaded."""
    modules = facts["modules"]
    out = []
    if "nouveau" in modules:
        out.append(
            finding(
                "driver.nouveau",
                "error",
                "The nouveau module is loaded: it holds the GPUs the NVIDIA driver needs.",
                {"proc_modules": "nouveau"},
                "Blacklist nouveau (nvidia_driver role), rebuild the initramfs and reboot.",
            )
        )
    else:
        out.append(finding("driver.nouveau", "ok", "nouveau is not loaded.", {"proc_modules": "no nouveau"}))
    return out


def _uvm_finding(facts: dict, settings: dict) -> list[dict]:
    """nvidia_uvm and its device node."""
    loaded = facts["loaded_driver_version"]
    modules = facts["modules"]
    out = []
    if loaded is not None:
        uvm, node = "nvidia_uvm" in modules, facts["dev_nvidia_uvm"]
        evidence = {"nvidia_uvm_loaded": uvm, "dev_nvidia_uvm": node}
        if not (uvm and node):
            out.append(
                finding(
                    "driver.nvidia_uvm",
                    "error",
                    ("nvidia_uvm is not loaded" if not uvm else "/dev/nvidia-uvm is missing")
                    + ": cuInit fails (CUDA error 999) in containers and for users who cannot load it.",
                    evidence,
                    "Load it now and at boot: `modprobe nvidia-uvm && nvidia-modprobe -u -c=0`, and add "
                    "nvidia-uvm to /etc/modules-load.d/.",
                )
            )
        else:
            out.append(finding("driver.nvidia_uvm", "ok", "nvidia_uvm is loaded and /dev/nvidia-uvm exists.", evidence))
    return out


def _persistence_finding(facts: dict, settings: dict) -> list[dict]:
    """Persistence mode."""
    out = []
    gpus = facts["smi"].get("gpus", [])
    off = [g["index"] for g in gpus if (g.get("persistence_mode") or "").lower() == "disabled"]
    if gpus:
        if off:
            out.append(
                finding(
                    "driver.persistence_mode",
                    "warning",
                    f"Persistence mode is off on GPU(s) {', '.join(map(str, off))}: each CUDA start re-initialises "
                    "them (seconds), and state is lost between jobs.",
                    {"persistence_mode": {g["index"]: g.get("persistence_mode") for g in gpus}},
                    "Run nvidia-persistenced (enable its service), or `nvidia-smi -pm 1` until the next boot.",
                )
            )
        else:
            out.append(
                finding(
                    "driver.persistence_mode",
                    "ok",
                    "Persistence mode is on on every GPU.",
                    {"persistence_mode": {g["index"]: g.get("persistence_mode") for g in gpus}},
                )
            )
    return out


def _branch_findings(facts: dict, settings: dict) -> list[dict]:
    """Driver branch end of life."""
    loaded = facts["loaded_driver_version"]
    out = []
    if loaded is not None:
        out.append(_branch_finding(loaded, settings["today"]))
    return out


def _driver_findings(facts: dict, settings: dict) -> list[dict]:
    return [
        *_library_finding(facts, settings),
        *_kernel_modules_finding(facts, settings),
        *_secure_boot_finding(facts, settings),
        *_nouveau_finding(facts, settings),
        *_uvm_finding(facts, settings),
        *_persistence_finding(facts, settings),
        *_branch_findings(facts, settings),
    ]


def _branch_finding(version: str, today: str | None) -> dict:
    branch = version.split(".", maxsplit=1)[0]
    day = today or datetime.date.today().isoformat()
    eol = DRIVER_BRANCH_EOL.get(branch)
    evidence = {
        "branch": branch,
        "end_of_life": eol,
        "today": day,
        "source": "docs.nvidia.com/datacenter/tesla/drivers",
    }
    fix = "Move to a supported Long Term Support or Production Branch (e.g. R580) with nvidia_driver_ubuntu_branch."
    if eol and eol < day:
        return finding(
            "driver.branch",
            "warning",
            f"Driver branch R{branch} reached its end of life on {eol}: it gets no security fixes.",
            evidence,
            fix,
        )
    if eol:
        return finding("driver.branch", "ok", f"Driver branch R{branch} is supported until {eol}.", evidence)
    if int(branch) > max(int(b) for b in DRIVER_BRANCH_EOL):
        return finding(
            "driver.branch",
            "ok",
            f"Driver branch R{branch} is newer than every branch in the doctor's table.",
            evidence,
        )
    return finding(
        "driver.branch",
        "warning",
        f"Driver branch R{branch} is not one NVIDIA supports for data center GPUs (a New Feature Branch, or past "
        "its end of life).",
        evidence,
        fix,
    )


def _per_gpu(facts: dict) -> list[tuple[dict, dict | None]]:
    """(nvidia-smi's GPU, its sysfs PCI device) pairs."""
    by_address = {device["address"]: device for device in facts["pci"]["gpus"]}
    return [(gpu, by_address.get(_pci_id(gpu.get("pci_bus_id")))) for gpu in facts["smi"].get("gpus", [])]


def _label(gpu: dict) -> str:
    return f"GPU {gpu['index']} ({gpu.get('pci_bus_id')})"


def _pcie_finding(facts: dict, settings: dict) -> list[dict]:
    """PCIe link."""
    pairs = _per_gpu(facts)
    narrow, slow, evidence = [], [], {}
    for gpu, device in pairs:
        pcie = gpu["pcie"]
        evidence[_label(gpu)] = {
            "nvidia_smi": pcie,
            "sysfs": (device or {}).get("link"),
            "performance_state": gpu.get("performance_state"),
        }
        if pcie["current_width"] and pcie["max_width"] and pcie["current_width"] < pcie["max_width"]:
            narrow.append(f"{_label(gpu)} x{pcie['current_width']} of x{pcie['max_width']}")
        if pcie["current_gen"] and pcie["max_gen"] and pcie["current_gen"] < pcie["max_gen"]:
            slow.append(f"{_label(gpu)} Gen{pcie['current_gen']} of Gen{pcie['max_gen']}")
    return graded(
        "gpu.pcie_link",
        evidence,
        [
            (
                narrow,
                "error",
                f"PCIe link narrower than it can be: {'; '.join(narrow + slow)}: host-device copies run at a "
                "fraction of their speed.",
                "Reseat the GPU or its riser, or move it to a full-width slot; on a cloud VM, replace the instance.",
            ),
            (
                slow,
                "warning",
                f"PCIe link below its maximum generation: {'; '.join(slow)} (GPUs lower it when idle: confirm "
                "under load).",
                "Check again while the GPU is busy (`nvidia-smi -q -d PCIE`); if it stays low, reseat the card or "
                "check the slot's BIOS setting.",
            ),
        ],
        "Every GPU's PCIe link runs at its maximum generation and width.",
    )


def _throttle_finding(facts: dict, settings: dict) -> list[dict]:
    """Clock event (throttle) reasons."""
    pairs = _per_gpu(facts)
    hw, sw, evidence = [], [], {}
    for gpu, _pci in pairs:
        reasons = gpu["clock_event_reasons"]
        evidence[_label(gpu)] = {
            "active": sorted(name for name, active in reasons.items() if active),
            "sm_clock_mhz": gpu.get("sm_clock_mhz"),
            "max_sm_clock_mhz": gpu.get("max_sm_clock_mhz"),
            "temperature_c": gpu.get("temperature_c"),
        }
        hw += [f"{_label(gpu)} {name}" for name in HW_SLOWDOWN_REASONS if reasons.get(name)]
        sw += [f"{_label(gpu)} {name}" for name in SW_SLOWDOWN_REASONS if reasons.get(name)]
    return graded(
        "gpu.throttle",
        evidence,
        [
            (
                hw,
                "error",
                f"The hardware slows the GPU: {', '.join(hw)}.",
                "Check cooling and power (temperature, PSU, power brake cable); `nvidia-smi -q -d PERFORMANCE` "
                "shows which and since when.",
            ),
            (
                sw,
                "warning",
                f"The driver slows the GPU for heat: {', '.join(sw)}.",
                "Improve cooling or airflow; check `nvidia-smi -q -d TEMPERATURE` against the slowdown threshold.",
            ),
        ],
        "No GPU is slowed by hardware, thermal or power-brake events.",
    )


def _ecc_finding(facts: dict, settings: dict) -> list[dict]:
    """ECC."""
    pairs = _per_gpu(facts)
    volatile, aggregate, pending, evidence = [], [], [], {}
    for gpu, _pci in pairs:
        evidence[_label(gpu)] = {
            "ecc_mode": gpu.get("ecc_mode_current"),
            "ecc_mode_pending": gpu.get("ecc_mode_pending"),
            "volatile_uncorrectable": gpu.get("ecc_volatile_uncorrectable"),
            "aggregate_uncorrectable": gpu.get("ecc_aggregate_uncorrectable"),
        }
        if gpu.get("ecc_volatile_uncorrectable"):
            volatile.append(f"{_label(gpu)} {gpu['ecc_volatile_uncorrectable']}")
        elif gpu.get("ecc_aggregate_uncorrectable"):
            aggregate.append(f"{_label(gpu)} {gpu['ecc_aggregate_uncorrectable']}")
        if (
            gpu.get("ecc_mode_pending")
            and gpu.get("ecc_mode_current")
            and gpu["ecc_mode_pending"] != gpu["ecc_mode_current"]
        ):
            pending.append(f"{_label(gpu)} {gpu['ecc_mode_current']} -> {gpu['ecc_mode_pending']}")
    return graded(
        "gpu.ecc",
        evidence,
        [
            (
                volatile,
                "error",
                f"Uncorrectable ECC errors since the driver loaded: {', '.join(volatile)}.",
                "Drain the GPU and reset it (`nvidia-smi -r`) or reboot; if they come back, have the GPU replaced.",
            ),
            (
                aggregate or pending,
                "warning",
                "; ".join(
                    ([f"Uncorrectable ECC errors in the GPU's lifetime: {', '.join(aggregate)}"] if aggregate else [])
                    + ([f"ECC mode change pending: {', '.join(pending)}"] if pending else [])
                )
                + ".",
                "Watch the counts (`nvidia-smi -q -d ECC`); a pending ECC mode change needs a GPU reset or reboot.",
            ),
        ],
        "No uncorrectable ECC errors.",
    )


def _memory_remap_finding(facts: dict, settings: dict) -> list[dict]:
    """Remapped rows (Ampere+) and retired pages (Volta and older)."""
    pairs = _per_gpu(facts)
    remap_pending, remap_failed, retire_pending, dbe, evidence = [], [], [], [], {}
    for gpu, _pci in pairs:
        rows, pages = gpu.get("remapped_rows"), gpu.get("retired_pages")
        evidence[_label(gpu)] = {"remapped_rows": rows, "retired_pages": pages}
        if rows and rows.get("failure"):
            remap_failed.append(_label(gpu))
        if rows and rows.get("pending"):
            remap_pending.append(_label(gpu))
        if pages and pages.get("pending"):
            retire_pending.append(_label(gpu))
        if pages and pages.get("double_bit"):
            dbe.append(f"{_label(gpu)} {pages['double_bit']}")
    return graded(
        "gpu.memory_remap",
        evidence,
        [
            (
                remap_failed,
                "error",
                f"Row remapping failed on {', '.join(remap_failed)}: the GPU has no spare rows left for bad memory.",
                "Take the GPU out of service and have it replaced (RMA).",
            ),
            (
                remap_pending or retire_pending,
                "error",
                "Bad memory waits for a GPU reset to be remapped or retired on "
                f"{', '.join(remap_pending + retire_pending)}.",
                "Drain the GPU and reset it (`nvidia-smi -r -i <index>`) or reboot, so the remap takes effect.",
            ),
            (
                dbe,
                "warning",
                f"Pages retired for double-bit errors: {', '.join(dbe)}.",
                "Watch the count (`nvidia-smi -q -d PAGE_RETIREMENT`); replace the GPU when it nears the limit (64).",
            ),
        ],
        "No row remap or page retirement pending or failed.",
    )


def _mig_finding(facts: dict, settings: dict) -> list[dict]:
    """MIG."""
    pairs = _per_gpu(facts)
    on, changing, evidence = [], [], {}
    for gpu, _pci in pairs:
        evidence[_label(gpu)] = {"current": gpu.get("mig_current"), "pending": gpu.get("mig_pending")}
        if (gpu.get("mig_current") or "").lower() == "enabled":
            on.append(_label(gpu))
        if gpu.get("mig_pending") and gpu.get("mig_current") and gpu["mig_pending"] != gpu["mig_current"]:
            changing.append(f"{_label(gpu)} {gpu['mig_current']} -> {gpu['mig_pending']}")
    evidence["expected"] = settings["expect_mig"]
    return graded(
        "gpu.mig",
        evidence,
        [
            (
                changing,
                "warning",
                f"MIG mode change pending: {', '.join(changing)}.",
                "Reset the GPU (`nvidia-smi -r`) or reboot to apply it.",
            ),
            (
                on and not settings["expect_mig"],
                "warning",
                f"MIG is on on {', '.join(on)}: whole-GPU jobs see MIG instances only, or no GPU until instances "
                "exist.",
                "Turn it off (`nvidia-smi -i <index> -mig 0`, then reset), or set gpu_doctor_expect_mig: true if "
                "it is meant.",
            ),
            (
                settings["expect_mig"] and len(on) < len(pairs),
                "warning",
                "MIG is expected but off on some GPUs.",
                "Turn it on (`nvidia-smi -i <index> -mig 1`) and create instances.",
            ),
        ],
        "MIG is " + ("on, as expected." if on else "off."),
    )


def _gpu_health_findings(facts: dict, settings: dict) -> list[dict]:
    pairs = _per_gpu(facts)
    if not pairs:
        return []
    return [
        *_pcie_finding(facts, settings),
        *_throttle_finding(facts, settings),
        *_ecc_finding(facts, settings),
        *_memory_remap_finding(facts, settings),
        *_mig_finding(facts, settings),
    ]


def _nvlink_finding(facts: dict) -> dict:
    """NVLink links down: a GPU with some links active and others not. No active link at all (a PCIe card, or
    one GPU of a baseboard in a VM) is not judged."""
    links = facts.get("nvlink") or {}
    evidence = {
        f"GPU {gpu}": {
            "active": sorted(k for k, on in state.items() if on),
            "inactive": sorted(k for k, on in state.items() if not on),
        }
        for gpu, state in links.items()
    }
    if not any(any(state.values()) for state in links.values()):
        return finding(
            "gpu.nvlink", "skipped", "No active NVLink on this host (PCIe GPUs, or no NVLink peers visible).", evidence
        )
    down = [
        f"GPU {gpu} link(s) {', '.join(map(str, sorted(k for k, on in state.items() if not on)))}"
        for gpu, state in links.items()
        if any(state.values()) and not all(state.values())
    ]
    (result,) = graded(
        "gpu.nvlink",
        evidence,
        [
            (
                down,
                "warning",
                f"NVLink links down: {'; '.join(down)}: collectives fall back to fewer links or PCIe.",
                "Reset the GPUs (`nvidia-smi -r`) or reboot; links that stay down need the baseboard serviced.",
            )
        ],
        "Every NVLink link is up.",
    )
    return result


def _xid_finding(facts: dict) -> dict:
    log = facts["kernel_log"]
    if log["source"] is None:
        return finding(
            "gpu.xid",
            "skipped",
            f"The kernel log could not be read ({log['error']}).",
            {"error": log["error"]},
            "Run the doctor as root to read the kernel log.",
        )
    xids = log["xid"]
    evidence = {"source": log["source"], "lines": [x["line"] for x in xids[-20:]], "count": len(xids)}
    serious = sorted({x["xid"] for x in xids if x["xid"] not in APPLICATION_XIDS})
    if serious:
        return finding(
            "gpu.xid",
            "error",
            f"Xid errors in the kernel log since boot: {', '.join(map(str, serious))} ({len(xids)} line(s)).",
            evidence,
            "Look each Xid up in NVIDIA's catalogue (docs.nvidia.com/deploy/xid-errors); most need a GPU reset or "
            "reboot, a repeating one a replacement.",
        )
    if xids:
        return finding(
            "gpu.xid",
            "warning",
            f"Application Xid errors since boot: {', '.join(map(str, sorted({x['xid'] for x in xids})))} (usually "
            "a fault in a CUDA program).",
            evidence,
            "Check the programs that ran at those times; the GPU itself is usually fine.",
        )
    return finding("gpu.xid", "ok", "No Xid errors in the kernel log since boot.", evidence)


def _fabric_finding(facts: dict) -> dict:
    switches = facts["pci"]["nvswitches"]
    loaded = facts["loaded_driver_version"]
    states = {_label(g): g["fabric"] for g in facts["smi"].get("gpus", [])}
    if not switches:
        return finding(
            "gpu.fabric_manager",
            "skipped",
            "No NVSwitch on the PCI bus: Fabric Manager is not needed.",
            {"nvswitches": 0},
        )
    fm_packages = {
        n: upstream_version(p["version"])
        for n, p in facts["packages"].items()
        if n.startswith(("nvidia-fabricmanager", "cuda-drivers-fabricmanager"))
    }
    running = "nv-fabricmanager" in facts["processes"]
    evidence = {
        "nvswitches": [s["address"] for s in switches],
        "fabric_manager_running": running,
        "packages": fm_packages,
        "driver": loaded,
        "fabric": states,
    }
    problems = []
    if not running:
        problems.append("nv-fabricmanager is not running")
    wrong = sorted(v for v in fm_packages.values() if v and loaded and v != loaded)
    if not fm_packages:
        problems.append("no Fabric Manager package is installed")
    elif wrong:
        problems.append(f"Fabric Manager {', '.join(wrong)} differs from driver {loaded}")
    unfinished = [
        label
        for label, fabric in states.items()
        if fabric.get("state") not in (None, "Completed") or fabric.get("status") not in (None, "Success")
    ]
    if unfinished:
        problems.append(f"fabric not ready on {', '.join(unfinished)}")
    if problems:
        return finding(
            "gpu.fabric_manager",
            "error",
            f"NVSwitch host: {'; '.join(problems)}: CUDA fails to initialise (error 802) until the fabric is up.",
            evidence,
            "Install nvidia-fabricmanager-<branch> at exactly the driver's version, then `systemctl enable --now "
            "nvidia-fabricmanager`.",
        )
    return finding(
        "gpu.fabric_manager",
        "ok",
        f"Fabric Manager {loaded} runs and the fabric is up on {len(switches)} NVSwitch host.",
        evidence,
    )


def toolkit_version(facts: dict) -> str | None:
    """The installed nvidia-container-toolkit package's version, if any."""
    pkg = facts["packages"].get("nvidia-container-toolkit")
    return pkg["version"] if pkg else None


def _containers(facts: dict, settings: dict) -> tuple[str, dict, bool, dict]:
    """(severity of a missing part, Docker's packages, Docker present, the toolkit's packages)."""
    docker_pkgs = {n: facts["packages"][n]["version"] for n in DOCKER_PACKAGES if n in facts["packages"]}
    toolkit = {n: facts["packages"][n]["version"] for n in TOOLKIT_PACKAGES if n in facts["packages"]}
    missing = "error" if settings["require_containers"] else "warning"
    return missing, docker_pkgs, bool(docker_pkgs) or facts["docker_binary"], toolkit


def _docker_finding(facts: dict, settings: dict) -> list[dict]:
    """Docker present."""
    missing_severity, docker_pkgs, docker, _toolkit = _containers(facts, settings)
    if not docker:
        return [
            finding(
                "containers.docker",
                missing_severity,
                "Docker is not installed: this host runs no GPU containers.",
                {"packages": docker_pkgs, "dockerd": False},
                "Run site.yml --tags docker,toolkit to make it a GPU container host.",
            )
        ]
    return [
        finding(
            "containers.docker",
            "ok",
            f"Docker is installed ({', '.join(f'{n} {v}' for n, v in docker_pkgs.items()) or 'dockerd'}).",
            {"packages": docker_pkgs},
        )
    ]


def _toolkit_finding(facts: dict, settings: dict) -> list[dict]:
    """The toolkit: present, one version, above the security floor."""
    missing_severity, _docker_pkgs, docker, toolkit = _containers(facts, settings)
    out = []
    evidence = {"packages": toolkit, "security_floor": floor()}
    if not toolkit:
        out.append(
            finding(
                "containers.toolkit",
                missing_severity if docker else "skipped",
                "The NVIDIA Container Toolkit is not installed: `docker run --gpus all` fails."
                if docker
                else "No Docker, no toolkit needed.",
                evidence,
                "Run site.yml --tags toolkit." if docker else "",
            )
        )
    else:
        absent = [n for n in TOOLKIT_PACKAGES if n not in toolkit]
        versions = sorted({version_key(v)[:3] for v in toolkit.values()})
        cves = open_cves(toolkit_version(facts) or min(toolkit.values(), key=version_key))
        evidence["open_cves"] = [c["cve"] for c in cves]
        if absent or len(versions) > 1:
            out.append(
                finding(
                    "containers.toolkit",
                    "error",
                    "The toolkit's packages are not one set: "
                    + "; ".join(
                        ([f"missing {', '.join(absent)}"] if absent else [])
                        + ([f"versions {', '.join(sorted(set(toolkit.values())))}"] if len(versions) > 1 else [])
                    )
                    + ".",
                    evidence,
                    "Install all four at one version: run site.yml --tags toolkit "
                    "(nvidia_container_toolkit_version pins them).",
                )
            )
        elif cves:
            out.append(
                finding(
                    "containers.toolkit",
                    "error",
                    f"Toolkit {toolkit_version(facts)} is below the security floor {floor()}: open "
                    f"{', '.join(c['cve'] for c in cves)} ({cves[0]['summary']}).",
                    evidence,
                    f"Upgrade the toolkit to {floor()} or later: run site.yml --tags toolkit.",
                )
            )
        else:
            out.append(
                finding(
                    "containers.toolkit",
                    "ok",
                    f"Toolkit {toolkit_version(facts)}: four packages at one version, every published fix in.",
                    evidence,
                )
            )
    return out


def _daemon_json_finding(facts: dict, settings: dict) -> list[dict]:
    """daemon.json valid, with the nvidia runtime."""
    _missing_severity, _docker_pkgs, docker, toolkit = _containers(facts, settings)
    out = []
    daemon = facts["docker_daemon"]
    evidence = {
        "path": daemon["path"],
        "exists": daemon["exists"],
        "runtimes": daemon["runtimes"],
        "default_runtime": daemon.get("default_runtime"),
    }
    if daemon["error"]:
        out.append(
            finding(
                "containers.daemon_json",
                "error",
                f"Docker cannot start with its configuration: {daemon['error']}.",
                {**evidence, "error": daemon["error"]},
                "Fix the JSON in /etc/docker/daemon.json (dockerd refuses to start with it).",
            )
        )
    elif docker and toolkit and "nvidia" not in daemon["runtimes"]:
        out.append(
            finding(
                "containers.daemon_json",
                "warning",
                "Docker has no nvidia runtime in daemon.json: `--runtime=nvidia` and the toolkit's runtime mode "
                "do not work (--gpus still does).",
                evidence,
                "Register it: `nvidia-ctk runtime configure --runtime=docker` or site.yml --tags toolkit, then "
                "restart Docker.",
            )
        )
    elif docker:
        out.append(
            finding(
                "containers.daemon_json",
                "ok",
                "daemon.json is valid"
                + (" and registers the nvidia runtime." if "nvidia" in daemon["runtimes"] else "."),
                evidence,
            )
        )
    else:
        out.append(finding("containers.daemon_json", "skipped", "No Docker.", evidence))
    return out


def _cdi_finding(facts: dict, settings: dict) -> list[dict]:
    """The CDI spec present and generated for the loaded driver."""
    toolkit = _containers(facts, settings)[3]
    out = []
    loaded = facts["loaded_driver_version"]
    specs = facts["cdi_specs"]
    evidence = {"specs": specs, "loaded": loaded}
    if not toolkit or loaded is None:
        out.append(
            finding("containers.cdi", "skipped", "No toolkit or no loaded driver: no CDI spec expected.", evidence)
        )
    elif not specs:
        out.append(
            finding(
                "containers.cdi",
                "warning",
                "No NVIDIA CDI spec in /etc/cdi or /var/run/cdi: `--device nvidia.com/gpu=all` and podman find no GPU.",
                evidence,
                "Generate it: `nvidia-ctk cdi generate --output=/var/run/cdi/nvidia.yaml` (or site.yml --tags "
                "toolkit).",
            )
        )
    else:
        stale = [
            s["path"]
            for s in specs
            if (s["driver_versions"] and loaded not in s["driver_versions"]) or (s["stamp"] and s["stamp"] != loaded)
        ]
        if stale:
            out.append(
                finding(
                    "containers.cdi",
                    "error",
                    f"CDI spec {', '.join(stale)} was generated for another driver than the loaded {loaded}: "
                    "containers started through CDI fail on missing files.",
                    evidence,
                    "Regenerate it: `nvidia-ctk cdi generate --output=<path>` (or site.yml --tags toolkit).",
                )
            )
        else:
            out.append(
                finding(
                    "containers.cdi",
                    "ok",
                    f"CDI spec {', '.join(s['path'] for s in specs)} is for driver {loaded}.",
                    evidence,
                )
            )
    return out


def _data_root_finding(facts: dict, settings: dict) -> list[dict]:
    """Docker's data-root free space."""
    docker = _containers(facts, settings)[2]
    daemon = facts["docker_daemon"]
    out = []
    space = facts.get("data_root_space")
    if not docker:
        out.append(finding("containers.data_root_space", "skipped", "No Docker.", {}))
    elif not space:
        out.append(
            finding(
                "containers.data_root_space",
                "skipped",
                f"Free space on {daemon['data_root']} could not be read.",
                {"data_root": daemon["data_root"]},
            )
        )
    else:
        free_gib = round(space["free_bytes"] / GIB, 1)
        evidence = {**space, "free_gib": free_gib, "minimum_gib": settings["docker_min_free_gib"]}
        if free_gib < 1:
            out.append(
                finding(
                    "containers.data_root_space",
                    "error",
                    f"{space['path']} has {free_gib} GiB free: image pulls and container writes fail.",
                    evidence,
                    "Free space: `docker system prune` (removes unused images), or grow the disk.",
                )
            )
        elif free_gib < settings["docker_min_free_gib"]:
            out.append(
                finding(
                    "containers.data_root_space",
                    "warning",
                    f"{space['path']} has {free_gib} GiB free, below {settings['docker_min_free_gib']} GiB: one "
                    "CUDA image (5-20 GiB) may not fit.",
                    evidence,
                    "Free space: `docker system prune`, or move data-root to a larger disk.",
                )
            )
        else:
            out.append(
                finding("containers.data_root_space", "ok", f"{space['path']} has {free_gib} GiB free.", evidence)
            )
    return out


def _container_findings(facts: dict, settings: dict) -> list[dict]:
    return [
        *_docker_finding(facts, settings),
        *_toolkit_finding(facts, settings),
        *_daemon_json_finding(facts, settings),
        *_cdi_finding(facts, settings),
        *_data_root_finding(facts, settings),
    ]


def _apt_finding(facts: dict) -> dict:
    driver = {n: p for n, p in facts["packages"].items() if DRIVER_HOLD_PACKAGES.match(n)}
    unheld = sorted(n for n, p in driver.items() if p["selection"] != "hold")
    unattended = "unattended-upgrades" in facts["packages"]
    blacklist = facts["unattended_upgrades_blacklist"]
    excluded = any("nvidia" in entry for entry in blacklist)
    evidence = {
        "driver_packages": {n: p["selection"] for n, p in driver.items()},
        "unattended_upgrades": unattended,
        "package_blacklist": blacklist,
    }
    if not driver:
        return finding("apt.holds", "skipped", "No driver packages from dpkg to hold.", evidence)
    if unheld and unattended and not excluded:
        return finding(
            "apt.holds",
            "warning",
            f"unattended-upgrades may upgrade {', '.join(unheld)}: the next upgrade leaves a driver/library "
            "mismatch until reboot.",
            evidence,
            "Hold them (`apt-mark hold <package>`, the nvidia_driver role's nvidia_driver_hold) or exclude nvidia "
            "in Unattended-Upgrade::Package-Blacklist.",
        )
    if unheld and not excluded:
        return finding(
            "apt.holds",
            "warning",
            f"Driver packages not on hold: {', '.join(unheld)}; an `apt upgrade` replaces the driver under the "
            "loaded module.",
            evidence,
            "Hold them: `apt-mark hold <package>` (the nvidia_driver role's nvidia_driver_hold).",
        )
    return finding(
        "apt.holds",
        "ok",
        "Driver packages are held" + (" or excluded from unattended-upgrades." if excluded else "."),
        evidence,
    )


def judge(facts: dict, settings: dict | None = None) -> list[dict]:
    """Every finding for one host, in the order the report lists them (driver, GPUs, containers)."""
    settings = {**DEFAULTS, **(settings or {})}
    out = _gpu_findings_present(facts, settings)
    if out[0]["severity"] == "error":  # no GPU: nothing else to judge
        return out
    out += _driver_findings(facts, settings)
    out += _gpu_health_findings(facts, settings)
    out.append(_xid_finding(facts))
    out.append(_nvlink_finding(facts))
    out.append(_fabric_finding(facts))
    out += _container_findings(facts, settings)
    out.append(_apt_finding(facts))
    return out


def verdict(findings: list[dict]) -> str:
    severities = {f["severity"] for f in findings}
    return "fail" if "error" in severities else "warn" if "warning" in severities else "pass"


def failing(findings: list[dict], fail_on: str) -> list[dict]:
    """The findings at or above the threshold: 'error', 'warning', or 'never'."""
    levels = {"error": ("error",), "warning": ("error", "warning"), "never": ()}[fail_on]
    return [f for f in findings if f["severity"] in levels]


def reboot_pending(facts: dict, findings: list[dict]) -> bool:
    """A reboot would change what runs: the user-space driver differs from the module, or Ubuntu asks for one."""
    return facts.get("reboot_required_file", False) or any(
        f["id"] == "driver.library_mismatch" and f["severity"] == "error" for f in findings
    )


def report(host: str, facts: dict, findings: list[dict], timestamp: str) -> dict:
    """The per-host report (doctor.json) and what the fleet row reads from it."""
    gpus = facts["smi"].get("gpus", [])
    pcie = sorted(
        {f"Gen{g['pcie']['current_gen']} x{g['pcie']['current_width']}" for g in gpus if g["pcie"]["current_gen"]}
    )
    counts = {s: sum(1 for f in findings if f["severity"] == s) for s in SEVERITIES}
    return {
        "host": host,
        "timestamp": timestamp,
        "verdict": verdict(findings),
        "counts": counts,
        "gpu_model": ", ".join(sorted({g["name"] for g in gpus if g.get("name")})) or None,
        "gpu_count": len(gpus) or len(facts["pci"]["gpus"]),
        "driver_version": facts["loaded_driver_version"],
        "cuda_version": facts["smi"].get("cuda_version"),
        "toolkit_version": toolkit_version(facts),
        "reboot_pending": reboot_pending(facts, findings),
        "figures": {"PCIe": ", ".join(pcie)} if pcie else None,
        "findings": findings,
    }


def render_markdown(doc: dict) -> str:
    """The per-host report a person reads: verdict, then every finding with its evidence and fix."""
    lines = [
        f"# GPU doctor: {doc['host']}",
        "",
        f"**Verdict: {doc['verdict'].upper()}** ({doc['timestamp']}): "
        + ", ".join(f"{doc['counts'][s]} {s}" for s in SEVERITIES),
        "",
        f"GPUs: {doc['gpu_count']} x {doc['gpu_model'] or 'n/a'}; driver {doc['driver_version'] or 'n/a'}; "
        f"CUDA {doc['cuda_version'] or 'n/a'}; toolkit {doc['toolkit_version'] or 'n/a'}; reboot pending: "
        f"{'yes' if doc['reboot_pending'] else 'no'}.",
        "",
        "| Severity | Check | Finding | Fix |",
        "|---|---|---|---|",
    ]
    order = {s: i for i, s in enumerate(SEVERITIES)}
    for f in sorted(doc["findings"], key=lambda f: order[f["severity"]]):
        lines.append(
            f"| {f['severity']} | {f['id']} | {f['summary'].replace('|', '/')} | {f['fix'].replace('|', '/')} |"
        )
    lines += ["", "## Evidence", ""]
    for f in doc["findings"]:
        if f["severity"] in ("error", "warning"):
            lines += [f"### {f['id']} ({f['severity']})", "", "```", _evidence_text(f["evidence"]), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def _evidence_text(evidence) -> str:
    return json.dumps(evidence, indent=2, sort_keys=True, default=str)


def summary_lines(doc: dict) -> list[str]:
    """The play's summary: the verdict, then one line per error and warning."""
    lines = [f"{doc['host']}: {doc['verdict'].upper()}  " + ", ".join(f"{doc['counts'][s]} {s}" for s in SEVERITIES)]
    lines += [
        f"  {f['severity'].upper():<7} {f['id']}: {f['summary']} Fix: {f['fix']}"
        for f in doc["findings"]
        if f["severity"] in ("error", "warning")
    ]
    return lines
