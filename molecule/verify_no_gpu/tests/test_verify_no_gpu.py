"""gpu_verify on a host without an NVIDIA GPU: a clear failure, nothing half-done."""


def test_fails_with_a_clear_no_gpu_message(host, run_play):
    result = run_play()
    assert result.returncode != 0
    assert "no NVIDIA GPU on this host" in result.stdout
    assert "vendor 0x10de" in result.stdout
    assert "nvidia-smi is not installed" in result.stdout
    assert "Traceback" not in result.stdout
    # It stopped at the check: no smoke test copied, no report written.
    assert not host.file("/opt/gpuhost/verify/gpuhost_smoke.py").exists
    assert not host.file("/var/lib/gpuhost/verify/report.json").exists


STATE = "tar -C / -c etc var/lib/dpkg/status var/lib/apt/extended_states 2>/dev/null | sha256sum"


def test_check_mode_on_a_fresh_host_reports_changes_and_changes_nothing(host, run_play):
    before = host.check_output(STATE)
    result = run_play("check_site.yml", check=True)
    assert result.returncode == 0, result.stdout[-3000:]
    recap = result.stdout.rsplit("PLAY RECAP", 1)[1]
    changed = int(recap.split("changed=")[1].split()[0])
    assert changed >= 5  # sources, packages, blacklist, daemon.json, group ... reported, not done
    assert "+blacklist nouveau" in result.stdout  # --diff shows what the file would hold
    assert '+  "log-driver": "json-file"' in result.stdout
    assert host.check_output(STATE) == before
    assert not host.package("docker.io").is_installed
    assert not host.file("/etc/docker/daemon.json").exists
