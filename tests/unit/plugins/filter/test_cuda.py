import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.gpuhost.provision.plugins.filter.cuda import cuda_requirements_unmet, smi_gpu_uuids


def test_filter_returns_unmet_requirements_and_names_a_malformed_image():
    env = ["NVIDIA_REQUIRE_CUDA=cuda>=12.6"]
    assert cuda_requirements_unmet(env, "535.183.01", "12.2") == ["cuda>=12.6"]
    assert cuda_requirements_unmet(env, "560.35.03", "12.6", "") == []
    with pytest.raises(AnsibleFilterError, match="NVIDIA_REQUIRE"):
        cuda_requirements_unmet(["CUDA_VERSION=latest"], "560.35.03", "12.6")


def test_uuids_from_nvidia_smi_list_skip_mig_devices():
    output = (
        "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-8a57132f-27d7-87d2-1248-91c0c9095a28)\n"
        "GPU 1: NVIDIA A100-SXM4-80GB (UUID: GPU-1b2c3d4e-0000-1111-2222-333344445555)\n"
        "  MIG 3g.40gb     Device  0: (UUID: MIG-aaaabbbb-cccc-dddd-eeee-ffff00001111)\n"
    )
    assert smi_gpu_uuids(output) == [
        "GPU-8a57132f-27d7-87d2-1248-91c0c9095a28",
        "GPU-1b2c3d4e-0000-1111-2222-333344445555",
    ]
    assert smi_gpu_uuids("") == []
