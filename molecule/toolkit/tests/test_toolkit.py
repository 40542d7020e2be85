"""nvidia_container_toolkit with the real docker.io engine and NVIDIA's real toolkit packages (mirror.yml).

Real: apt's signature check, the key pin, the version pin, daemon.json merging, dockerd reading it, NVIDIA's
nvidia-container-toolkit(-base) 1.20.0-1 built from source (nvidia-ctk, nvidia-container-runtime, hooks).
Stand-in: the local mirror itself and libnvidia-container1/-tools (no GPU here either).
"""

import json

import pytest
from conftest import busybox_image, daemon_json, docker_starts, keyring_fingerprints, task_status

MIRROR_KEY = "176FEBB7358A19ECAB18DF864365F319D00FE84D"
PINNED = "1.20.0-1"
# The tag's commit, which NVIDIA's build flags (and tests/fixtures/nvidia_toolkit) write into the binaries.
COMMIT = "5505e2f94d9aaa08561490db974ba3cd676af209"
RUNTIME_LOG = "/var/log/nvidia-container-runtime.log"
PACKAGES = (
    "nvidia-container-toolkit",
    "nvidia-container-toolkit-base",
    "libnvidia-container-tools",
    "libnvidia-container1",
)


def runtimes(host) -> dict:
    return json.loads(host.check_output("docker info --format '{{json .Runtimes}}'"))


def test_flat_source_signed_by_the_pinned_key(host):
    source = host.file("/etc/apt/sources.list.d/nvidia-container-toolkit.sources").content_string
    assert "Signed-By: /etc/apt/keyrings/nvidia-container-toolkit.gpg" in source
    assert "Suites: /" in source
    assert keyring_fingerprints(host, "/etc/apt/keyrings/nvidia-container-toolkit.gpg") == [MIRROR_KEY]


def test_every_package_at_the_pinned_version(host):
    # The mirror also offers 1.20.1-1 (stand-ins): the pin chose 1.20.0-1.
    for name in PACKAGES:
        assert host.package(name).version == PINNED, name


def test_nvidia_ctk_is_nvidias_pinned_build(host):
    out = host.check_output("nvidia-ctk --version")
    assert "NVIDIA Container Toolkit CLI version 1.20.0" in out
    assert f"commit: {COMMIT}" in out
    for name in ("nvidia-container-toolkit", "nvidia-container-toolkit-base"):
        fields = host.check_output(f"dpkg-query -W -f='${{Maintainer}}|${{Description}}' {name}")
        assert fields.startswith("NVIDIA CORPORATION <cudatools@nvidia.com>|"), fields
        assert "STAND-IN" not in fields
    # The package's postinst wrote NVIDIA's default runtime config.
    assert 'mode = "auto"' in host.file("/etc/nvidia-container-runtime/config.toml").content_string


def docker_major(host) -> int:
    return int(host.check_output("dockerd --version").split()[2].split(".")[0])


def test_daemon_json_holds_the_runtime_and_the_users_keys(host):
    config = daemon_json(host)
    assert config["runtimes"]["nvidia"] == {"path": "nvidia-container-runtime", "args": []}
    assert config["runtimes"]["crun"] == {"path": "/usr/bin/crun"}
    assert config["registry-mirrors"] == ["https://mirror.example.internal"]
    assert config["log-driver"] == "json-file"  # the docker role's, merged after the toolkit's
    assert "default-runtime" not in config
    # converge.yml runs the toolkit before Docker exists: CDI is turned on for whichever Docker comes (20.10
    # on bookworm ignores it and starts, as test_real_dockerd_lists_the_nvidia_runtime shows).
    assert config["features"] == {"cdi": True}


def test_docker_reads_cdi_specs(host):
    # Docker 25-28.1 resolves CDI device names only with features.cdi; without it, --device names no CDI device.
    if docker_major(host) < 25:
        pytest.skip("Docker before 25 has no CDI (Debian 12's docker.io is 20.10)")
    busybox_image(host)
    # --network none: a nested docker.io 26 cannot set up IPv6 on a container's veth (not what is tested here).
    result = host.run(
        "docker run --rm --network none --device nvidia.com/gpu=all gpuhost-test/busybox:latest /bin/busybox true"
    )
    assert result.rc != 0
    assert "unresolvable CDI devices nvidia.com/gpu=all" in result.stderr, result.stderr


def test_nvidia_cdi_refresh_units_are_installed_and_skip_without_a_driver(host):
    # Toolkit 1.18+: the package enables nvidia-cdi-refresh; with no nvidia-smi its conditions skip it and no
    # spec is written (the role writes /var/run/cdi/nvidia.yaml itself once a driver is loaded).
    assert host.file("/lib/systemd/system/nvidia-cdi-refresh.service").exists
    assert host.run("systemctl is-enabled nvidia-cdi-refresh.path").stdout.strip() == "enabled"
    assert not host.file("/var/run/cdi/nvidia.yaml").exists
    assert not host.file("/etc/cdi/nvidia.yaml").exists


def test_real_dockerd_lists_the_nvidia_runtime(host):
    listed = runtimes(host)
    assert listed["nvidia"]["path"] == "nvidia-container-runtime"
    assert "crun" in listed
    assert host.check_output("docker info --format '{{.DefaultRuntime}}'") == "runc"


@pytest.fixture
def runtime_debug_log(host):
    """NVIDIA's runtime logs to a file only when its config.toml names one: set it, as NVIDIA's docs say."""
    config = "/etc/nvidia-container-runtime/config.toml"
    original = host.file(config).content_string
    host.check_output(
        f"nvidia-ctk config --config-file={config} --in-place "
        f"--set nvidia-container-runtime.debug={RUNTIME_LOG} --set nvidia-container-runtime.log-level=debug"
    )
    host.check_output(f"rm -f {RUNTIME_LOG}")
    yield RUNTIME_LOG
    host.check_output(f"cat > {config} <<'EOF'\n{original}EOF")


def test_a_container_runs_through_nvidias_runtime(host, runtime_debug_log):
    busybox_image(host)
    out = host.check_output(
        "docker run --rm --network none --runtime nvidia gpuhost-test/busybox:latest /bin/busybox echo via-nvidia"
    )
    assert out == "via-nvidia"
    # Written by NVIDIA's nvidia-container-runtime (internal/info/auto.go, internal/oci/runtime_modifier.go):
    # it resolved its mode, modified the OCI spec for `create` and handed over to runc.
    log = host.file(runtime_debug_log).content_string
    assert "Auto-detected mode as 'jit-cdi'" in log
    assert "Create command detected; applying OCI specification modifications" in log
    assert "Forwarding command to runtime" in log


def test_a_converged_rerun_asks_apt_and_docker_nothing(run_play):
    result = run_play()
    assert result.returncode == 0, result.stdout[-3000:]
    assert "changed=0" in result.stdout
    # The preflight's one dpkg query found every package at the pin, and daemon.json was already as it should be:
    # the install stage is not even included.
    assert task_status(result.stdout, "Install (where a toolkit package is missing or not at the pin)") == "skipping"
    assert "The NVIDIA Container Toolkit is installed]" not in result.stdout
    # The probe read a daemon.json that already registers the runtime: the merge needs no module run.
    merge = "Docker's daemon.json registers the nvidia runtime beside the user's own keys"
    assert task_status(result.stdout, merge) == "skipping"


def test_a_runtime_removed_by_hand_is_registered_again(host, run_play):
    host.check_output(
        'python3 -c \'import json; p="/etc/docker/daemon.json"; c=json.load(open(p)); del c["runtimes"]["nvidia"]; '
        'json.dump(c, open(p, "w"), indent=2)\''
    )
    result = run_play()
    assert result.returncode == 0, result.stdout[-3000:]
    merge = "Docker's daemon.json registers the nvidia runtime beside the user's own keys"
    assert task_status(result.stdout, merge) == "changed"
    assert daemon_json(host)["runtimes"]["nvidia"]["path"] == "nvidia-container-runtime"
    assert "nvidia" in runtimes(host)
    again = run_play()
    assert "changed=0" in again.stdout, again.stdout[-3000:]


def test_a_toolkit_package_missing_between_runs_is_installed_again(host, run_play):
    host.check_output("dpkg --remove --force-depends nvidia-container-toolkit")
    result = run_play()
    assert result.returncode == 0, result.stdout[-3000:]
    assert host.package("nvidia-container-toolkit").version == PINNED
    assert task_status(result.stdout, "The NVIDIA Container Toolkit is installed") == "changed"


def test_usual_order_with_default_runtime_then_back(host, run_play):
    starts = docker_starts(host)
    result = run_play("site_order.yml", {"nvidia_container_toolkit_default_runtime": True})
    assert result.returncode == 0, result.stdout[-3000:]
    assert daemon_json(host)["default-runtime"] == "nvidia"
    assert host.check_output("docker info --format '{{.DefaultRuntime}}'") == "nvidia"
    # Only default-runtime changed: dockerd took it on a reload (SIGHUP), not a restart.
    assert task_status(result.stdout, "Docker reloads its runtimes without a restart") == "changed"
    assert docker_starts(host) == starts
    assert "crun" in runtimes(host)
    # Not asked to turn it off: a default-runtime of nvidia (here from the run above) survives.
    result = run_play("site_order.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    assert daemon_json(host)["default-runtime"] == "nvidia"
    # `-e nvidia_container_toolkit_default_runtime=false` reaches the role as the string "false".
    result = run_play("site_order.yml", {"nvidia_container_toolkit_default_runtime": "false"})
    assert result.returncode == 0, result.stdout[-3000:]
    assert "default-runtime" not in daemon_json(host)
    assert host.check_output("docker info --format '{{.DefaultRuntime}}'") == "runc"
    again = run_play("site_order.yml")
    assert "changed=0" in again.stdout, again.stdout[-3000:]


def test_hand_set_default_runtime_survives(host, run_play):
    host.check_output(
        'python3 -c \'import json; p="/etc/docker/daemon.json"; c=json.load(open(p)); '
        'c["default-runtime"]="nvidia"; json.dump(c, open(p, "w"), indent=2)\''
    )
    try:
        result = run_play("site_order.yml")
        assert result.returncode == 0, result.stdout[-3000:]
        assert daemon_json(host)["default-runtime"] == "nvidia"
    finally:
        assert run_play("site_order.yml", {"nvidia_container_toolkit_default_runtime": False}).returncode == 0
    assert "default-runtime" not in daemon_json(host)


@pytest.fixture
def unknown_daemon_key(host, run_play):
    """Valid JSON that dockerd refuses: a directive it does not know."""
    original = host.file("/etc/docker/daemon.json").content_string
    config = json.loads(original)
    config["gpuhost-no-such-directive"] = True
    host.check_output(f"cat > /etc/docker/daemon.json <<'EOF'\n{json.dumps(config, indent=2)}\nEOF")
    yield host.file("/etc/docker/daemon.json").sha256sum
    host.check_output(f"cat > /etc/docker/daemon.json <<'EOF'\n{original}EOF")


def test_dockerd_validate_refuses_before_anything_is_written(host, run_play, unknown_daemon_key):
    if docker_major(host) < 23:
        pytest.skip("dockerd --validate exists from Docker 23 (Debian 12's docker.io is 20.10)")
    result = run_play(extra_vars={"nvidia_container_toolkit_default_runtime": True})
    assert result.returncode != 0
    assert "`dockerd --validate --config-file %s` refused the merged /etc/docker/daemon.json" in result.stdout
    assert "gpuhost-no-such-directive" in result.stdout
    assert host.file("/etc/docker/daemon.json").sha256sum == unknown_daemon_key
    assert host.service("docker").is_running


def test_pinned_toolkit_below_the_security_floor_is_refused_before_any_change(host, run_play):
    before = host.check_output("ls -l --time-style=full-iso /etc/apt/sources.list.d /etc/docker")
    result = run_play(extra_vars={"nvidia_container_toolkit_version": "1.17.7-1"})
    assert result.returncode != 0
    assert "nvidia_container_toolkit_version 1.17.7-1 lacks the fix for CVE-2025-23266, CVE-2026-24260" in result.stdout
    assert "Nothing was changed" in result.stdout
    assert host.package("nvidia-container-toolkit-base").version == PINNED
    assert host.check_output("ls -l --time-style=full-iso /etc/apt/sources.list.d /etc/docker") == before


def test_installed_old_toolkit_is_refused_then_kept_only_with_a_reason(host, run_play):
    if host.system_info.codename != "bookworm":
        pytest.skip("the same role code on both platforms: run once, on bookworm")
    old = "1.17.7-1"
    host.check_output("apt-get install -y -q --allow-downgrades " + " ".join(f"{name}={old}" for name in PACKAGES))
    try:
        refused = run_play(extra_vars={"nvidia_container_toolkit_version": ""})
        assert refused.returncode != 0
        assert f"The installed NVIDIA Container Toolkit {old} lacks the fix for CVE-2025-23266" in refused.stdout
        assert host.package("nvidia-container-toolkit-base").version == old
        reason = {"nvidia_container_toolkit_allow_insecure_reason": "test"}
        allowed = run_play(extra_vars={"nvidia_container_toolkit_version": "", **reason})
        assert allowed.returncode == 0, allowed.stdout[-3000:]
        assert "allowed: test" in allowed.stdout
    finally:
        upgraded = run_play()
    assert upgraded.returncode == 0, upgraded.stdout[-3000:]
    assert host.package("nvidia-container-toolkit-base").version == PINNED


@pytest.fixture
def broken_daemon_json(host, run_play):
    original = host.file("/etc/docker/daemon.json").content_string
    host.check_output('printf \'{"registry-mirrors": ["https://m"],,}\' > /etc/docker/daemon.json')
    yield host.file("/etc/docker/daemon.json").sha256sum
    host.check_output(f"printf '%s' '{original}' > /etc/docker/daemon.json")
    assert run_play().returncode == 0


def test_invalid_daemon_json_stops_the_play_and_is_left_as_it_was(host, run_play, broken_daemon_json):
    result = run_play()
    assert result.returncode != 0
    assert "/etc/docker/daemon.json is not valid JSON" in result.stdout
    assert host.file("/etc/docker/daemon.json").sha256sum == broken_daemon_json


def test_wrong_key_fingerprint_fails(host, run_play):
    result = run_play(
        extra_vars={"nvidia_container_toolkit_key_fingerprint": "C95B 321B 61E8 8C18 09C4 F759 DDCA E044 F796 ECB0"}
    )
    assert result.returncode != 0
    assert "expected C95B321B61E88C1809C4F759DDCAE044F796ECB0" in result.stdout
