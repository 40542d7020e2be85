"""nvidia_container_toolkit with the real docker.io engine and NVIDIA's real toolkit packages (mirror.yml).

Real: apt's signature check, the key pin, the version pin, daemon.json merging, dockerd reading it, NVIDIA's
nvidia-container-toolkit(-base) 1.20.0-1 built from source (nvidia-ctk, nvidia-container-runtime, hooks).
Stand-in: the local mirror itself and libnvidia-container1/-tools (no GPU here either).
"""

import json

import pytest
from conftest import busybox_image, daemon_json, keyring_fingerprints

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


def test_daemon_json_holds_the_runtime_and_the_users_keys(host):
    config = daemon_json(host)
    assert config["runtimes"]["nvidia"] == {"path": "nvidia-container-runtime", "args": []}
    assert config["runtimes"]["crun"] == {"path": "/usr/bin/crun"}
    assert config["registry-mirrors"] == ["https://mirror.example.internal"]
    assert config["log-driver"] == "json-file"  # the docker role's, merged after the toolkit's
    assert "default-runtime" not in config


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
    out = host.check_output("docker run --rm --runtime nvidia gpuhost-test/busybox:latest /bin/busybox echo via-nvidia")
    assert out == "via-nvidia"
    # Written by NVIDIA's nvidia-container-runtime (internal/info/auto.go, internal/oci/runtime_modifier.go):
    # it resolved its mode, modified the OCI spec for `create` and handed over to runc.
    log = host.file(runtime_debug_log).content_string
    assert "Auto-detected mode as 'jit-cdi'" in log
    assert "Create command detected; applying OCI specification modifications" in log
    assert "Forwarding command to runtime" in log


def test_usual_order_with_default_runtime_then_back(host, run_play):
    result = run_play("site_order.yml", {"nvidia_container_toolkit_default_runtime": True})
    assert result.returncode == 0, result.stdout[-3000:]
    assert daemon_json(host)["default-runtime"] == "nvidia"
    assert host.check_output("docker info --format '{{.DefaultRuntime}}'") == "nvidia"
    assert "crun" in runtimes(host)
    result = run_play("site_order.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "default-runtime" not in daemon_json(host)
    assert host.check_output("docker info --format '{{.DefaultRuntime}}'") == "runc"
    again = run_play("site_order.yml")
    assert "changed=0" in again.stdout, again.stdout[-3000:]


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
