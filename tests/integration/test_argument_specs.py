"""Bad input is rejected by each role's argument spec, before any task runs, naming the variable."""

import json

import pytest
from ansible_run import run_playbook

CASES = [
    # (role, variable, bad value, what the message says)
    ("docker", "docker_source", "podman", "value of docker_source must be one of: auto, upstream, distro"),
    ("docker", "docker_users", {"alice": 1}, "docker_users"),
    ("docker", "docker_apt_cache_valid_time", "soon", "docker_apt_cache_valid_time"),
    ("docker", "docker_daemon_options", ["log-driver"], "docker_daemon_options"),
    (
        "nvidia_container_toolkit",
        "nvidia_container_toolkit_default_runtime",
        "perhaps",
        "nvidia_container_toolkit_default_runtime",
    ),
    (
        "nvidia_container_toolkit",
        "nvidia_container_toolkit_cdi_enabled",
        "maybe",
        "nvidia_container_toolkit_cdi_enabled",
    ),
    ("nvidia_driver", "nvidia_driver_reboot", "sometimes", "nvidia_driver_reboot"),
    ("nvidia_driver", "nvidia_driver_reboot_timeout", "long", "nvidia_driver_reboot_timeout"),
    ("gpu_verify", "gpu_verify_mode", "cloud", "value of gpu_verify_mode must be one of: auto, host, container"),
    ("gpu_verify", "gpu_verify_tolerance", "lots", "gpu_verify_tolerance"),
    ("gpu_verify", "gpu_verify_expected", [{"fp32_tflops": 5}], "missing required arguments: match"),
]


@pytest.mark.parametrize(("role", "variable", "value", "message"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_bad_input_is_rejected_before_any_task(role, variable, value, message):
    # --check: should a spec ever accept bad input, the role still changes nothing on this machine.
    result = run_playbook(
        "tests/integration/include_role.yml",
        "tests/integration/localhost.yml",
        "--check",
        "-e",
        json.dumps({"role_under_test": role, variable: value}),
    )
    assert result.returncode != 0
    words = " ".join(result.stdout.split())
    assert message in words, words[-2000:]
    assert variable in words
    # The validation was the role's first and last task: nothing after it ran, nothing changed.
    role_tasks = [line for line in result.stdout.splitlines() if line.startswith(f"TASK [gpuhost.provision.{role} :")]
    assert len(role_tasks) == 1 and "Validating arguments" in role_tasks[0]
    assert "changed=0" in words
