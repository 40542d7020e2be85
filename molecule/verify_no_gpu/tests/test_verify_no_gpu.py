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
