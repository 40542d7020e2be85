from ansible_collections.gpuhost.provision.plugins.module_utils.apt_sources import (
    conflicting_files,
    keyrings_still_used,
    normalize,
)

OURS_DOCKER = "/etc/apt/sources.list.d/docker.sources"
OURS_NVIDIA = "/etc/apt/sources.list.d/nvidia-container-toolkit.sources"
# What Docker's install guide writes (docs.docker.com/engine/install/ubuntu, the one-line version).
DOCKER_GUIDE = (
    'deb [arch=amd64 signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/ubuntu noble stable\n'
)
# What NVIDIA's install guide writes: its nvidia-container-toolkit.list with signed-by added by sed.
NVIDIA_GUIDE = (
    "deb [signed-by=/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg] "
    "https://nvidia.github.io/libnvidia-container/stable/deb/$(ARCH) /\n"
    "#deb [signed-by=/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg] "
    "https://nvidia.github.io/libnvidia-container/experimental/deb/$(ARCH) /\n"
)
OUR_NVIDIA_TEXT = (
    "# Managed by gpuhost.provision\nTypes: deb\nURIs: https://nvidia.github.io/libnvidia-container/stable/deb/amd64\n"
    "Suites: /\nSigned-By: /etc/apt/keyrings/nvidia-container-toolkit.gpg\n"
)


def test_uris_compare_as_apt_compares_them():
    assert normalize("https://Download.Docker.com/linux/ubuntu/", "amd64") == "https://download.docker.com/linux/ubuntu"
    assert normalize("https://nvidia.github.io/x/deb/$(ARCH)", "arm64") == "https://nvidia.github.io/x/deb/arm64"


def test_the_docker_guides_list_is_found_with_its_keyring():
    sources = {"/etc/apt/sources.list.d/docker.list": DOCKER_GUIDE, OURS_DOCKER: "Types: deb\nURIs: x\n"}
    found = conflicting_files(sources, ["https://download.docker.com/linux/ubuntu"], OURS_DOCKER, "amd64")
    assert list(found) == ["/etc/apt/sources.list.d/docker.list"]
    assert found["/etc/apt/sources.list.d/docker.list"]["whole"] is True
    assert found["/etc/apt/sources.list.d/docker.list"]["keyrings"] == ["/etc/apt/keyrings/docker.asc"]


def test_the_nvidia_guides_arch_variable_is_expanded_and_ours_is_kept():
    sources = {"/etc/apt/sources.list.d/nvidia-container-toolkit.list": NVIDIA_GUIDE, OURS_NVIDIA: OUR_NVIDIA_TEXT}
    uri = "https://nvidia.github.io/libnvidia-container/stable/deb/amd64"
    found = conflicting_files(sources, [uri], OURS_NVIDIA, "amd64")
    assert list(found) == ["/etc/apt/sources.list.d/nvidia-container-toolkit.list"]
    assert found["/etc/apt/sources.list.d/nvidia-container-toolkit.list"]["keyrings"] == [
        "/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg"
    ]
    # Another architecture's repository is another repository.
    assert conflicting_files(sources, [uri], OURS_NVIDIA, "arm64") == {}


def test_a_deb822_file_of_another_tool_is_found_and_a_disabled_stanza_is_not():
    other = "Types: deb\nURIs: https://download.docker.com/linux/ubuntu\nSuites: noble\nSigned-By: /k.gpg\n"
    sources = {"/etc/apt/sources.list.d/docker-ce.sources": other}
    assert conflicting_files(sources, ["https://download.docker.com/linux/ubuntu/"], OURS_DOCKER, "amd64")
    disabled = {"/etc/apt/sources.list.d/docker-ce.sources": other + "Enabled: no\n"}
    assert conflicting_files(disabled, ["https://download.docker.com/linux/ubuntu"], OURS_DOCKER, "amd64") == {}


def test_a_file_that_lists_other_repositories_too_is_not_whole():
    mixed = "deb http://deb.debian.org/debian bookworm main\n" + DOCKER_GUIDE
    found = conflicting_files(
        {"/etc/apt/sources.list": mixed}, ["https://download.docker.com/linux/ubuntu"], OURS_DOCKER, "amd64"
    )
    assert found["/etc/apt/sources.list"]["whole"] is False
    assert found["/etc/apt/sources.list"]["lines"] == [2]


def test_a_keyring_another_remaining_source_names_is_still_used():
    sources = {"/a.list": DOCKER_GUIDE, "/b.list": "deb [signed-by=/etc/apt/keyrings/docker.asc] https://other/ x y\n"}
    assert "/etc/apt/keyrings/docker.asc" in keyrings_still_used(sources, {"/a.list"})
    assert keyrings_still_used(sources, {"/a.list", "/b.list"}) == set()
