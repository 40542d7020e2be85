import pytest
from ansible_collections.gpuhost.provision.plugins.module_utils.cuda_require import RequirementError, check

# NVIDIA_REQUIRE_CUDA as nvidia/cuda:12.4.1-base-ubuntu22.04 declares it (shortened to the tesla terms).
CUDA_124 = [
    "PATH=/usr/local/nvidia/bin:/usr/local/cuda/bin:/usr/sbin:/usr/bin",
    "NVIDIA_REQUIRE_CUDA=cuda>=12.4 brand=tesla,driver>=470,driver<471 brand=tesla,driver>=535,driver<536",
    "CUDA_VERSION=12.4.1",
]


def test_a_535_datacenter_driver_runs_a_cuda_12_4_image_that_declares_it():
    assert check(CUDA_124, "535.183.01", "12.2", brand="tesla") == (True, [])


def test_the_same_driver_on_another_brand_needs_cuda_12_4():
    ok, unmet = check(CUDA_124, "535.183.01", "12.2", brand="geforce")
    assert not ok
    assert unmet == [CUDA_124[1].split("=", 1)[1]]


def test_an_unknown_brand_counts_as_no_match():
    assert check(CUDA_124, "535.183.01", "12.2")[0] is False


def test_a_newer_driver_meets_cuda_directly():
    assert check(CUDA_124, "580.159.04", "13.0", brand="nvidia") == (True, [])


def test_driver_bounds_are_semantic_versions():
    env = ["NVIDIA_REQUIRE_CUDA=driver<=535"]
    assert check(env, "535.183.01", "12.2")[0] is False
    assert check(env, "535", "12.2")[0] is True


def test_legacy_image_with_only_cuda_version():
    env = ["CUDA_VERSION=12.6.3"]
    assert check(env, "535.183.01", "12.2")[1] == ["cuda>=12.6"]
    assert check(env, "560.35.03", "12.6")[0] is True


def test_image_without_requirements_runs_and_disable_require_switches_checks_off():
    assert check(["PATH=/usr/bin"], "470.1", "11.4") == (True, [])
    assert check(["CUDA_VERSION=13.0.0", "NVIDIA_DISABLE_REQUIRE=1"], "470.1", "11.4") == (True, [])


def test_every_nvidia_require_variable_must_hold_but_jetpack_is_ignored():
    env = ["NVIDIA_REQUIRE_CUDA=cuda>=12.0", "NVIDIA_REQUIRE_ARCH=arch>=9.0", "NVIDIA_REQUIRE_JETPACK=cuda>=99"]
    assert check(env, "580.1", "13.0", arch="8.0")[1] == ["arch>=9.0"]
    assert check(env, "580.1", "13.0", arch="9.0") == (True, [])


def test_unknown_properties_are_skipped_like_nvidias_runtime_does():
    assert check(["NVIDIA_REQUIRE_CUDA=cuda>=12.0 os=ubuntu"], "580.1", "13.0") == (True, [])


@pytest.mark.parametrize(
    "env", [["NVIDIA_REQUIRE_CUDA=cuda"], ["CUDA_VERSION=latest"], ["NVIDIA_REQUIRE_CUDA=cuda>=x"]]
)
def test_malformed_requirements_are_errors(env):
    with pytest.raises(RequirementError):
        check(env, "580.1", "13.0")
