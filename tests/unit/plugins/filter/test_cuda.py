import pytest
from ansible_collections.gpuhost.provision.plugins.filter.cuda import cuda_image_version, smi_gpu_uuids


@pytest.mark.parametrize(
    ("image", "version"),
    [
        ("nvidia/cuda:12.6.3-base-ubuntu24.04", "12.6"),
        ("nvidia/cuda:13.0.0-devel-ubuntu24.04", "13.0"),
        ("nvcr.io/nvidia/cuda:11.8.0-runtime-ubuntu22.04", "11.8"),
        ("registry.local:5000/nvidia/cuda:12.4.1-base-ubuntu22.04", "12.4"),
        ("pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime", "12.4"),
        ("pytorch/pytorch:latest", None),
        ("ubuntu:24.04", None),
    ],
)
def test_cuda_version_of_an_image(image, version):
    assert cuda_image_version(image) == version


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
