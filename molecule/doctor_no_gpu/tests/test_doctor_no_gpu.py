"""The doctor on a host without an NVIDIA GPU: it says so, fails, and changes nothing (in check mode too)."""

import glob
import json
import os

STATE = "tar -C / -c etc var/lib/dpkg/status var/lib/apt/extended_states 2>/dev/null | sha256sum"


def recap_changed(output: str) -> int:
    return int(output.rsplit("PLAY RECAP", 1)[1].split("changed=")[1].split(maxsplit=1)[0])


def test_the_doctor_says_there_is_no_gpu_and_changes_nothing(host, run_play):
    before = host.check_output(STATE)
    result = run_play()
    assert result.returncode != 0
    assert "No NVIDIA GPU on this host" in result.stdout
    assert "gpu.present" in result.stdout
    assert "Traceback" not in result.stdout
    assert recap_changed(result.stdout) == 0
    assert host.check_output(STATE) == before
    # The reports are on the controller, beside Molecule's inventory; nothing was written on the host.
    (path,) = glob.glob(
        os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "**", "reports", "*", "doctor.json"), recursive=True
    )
    with open(path, encoding="utf-8") as handle:
        doc = json.load(handle)
    assert doc["verdict"] == "fail"
    assert [f["id"] for f in doc["findings"] if f["severity"] == "error"] == ["gpu.present"]
    assert not host.file("/var/lib/gpuhost").exists


def test_check_mode_gives_the_same_verdict(host, run_play):
    before = host.check_output(STATE)
    result = run_play(check=True)
    assert result.returncode != 0
    assert "No NVIDIA GPU on this host" in result.stdout
    assert recap_changed(result.stdout) == 0
    assert host.check_output(STATE) == before
