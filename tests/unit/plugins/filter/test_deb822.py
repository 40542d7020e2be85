import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.gpuhost.provision.plugins.filter.deb822 import deb822


def test_dists_style_source():
    text = deb822(
        {
            "Signed-By": "/etc/apt/keyrings/docker.gpg",
            "Types": "deb",
            "URIs": "https://d.example/ubuntu",
            "Suites": "noble",
            "Components": "stable",
            "Architectures": "amd64",
        }
    )
    assert text.splitlines()[1:] == [
        "Types: deb",
        "URIs: https://d.example/ubuntu",
        "Suites: noble",
        "Components: stable",
        "Architectures: amd64",
        "Signed-By: /etc/apt/keyrings/docker.gpg",
    ]
    assert text.startswith("# Managed by gpuhost.provision")
    assert text.endswith("\n")


def test_flat_source_has_no_components_and_lists_join():
    text = deb822(
        {"Types": "deb", "URIs": "https://n.example/deb/amd64", "Suites": "/", "Components": "", "X-Extra": ["a", "b"]}
    )
    assert "Components" not in text
    assert "Suites: /" in text
    assert "X-Extra: a b" in text


@pytest.mark.parametrize(
    "fields",
    [{"Types": "deb", "URIs": "u"}, "Types: deb", {"Types": "deb", "URIs": "u", "Suites": "s", "Signed-By": "a\nb"}],
)
def test_bad_input_is_refused(fields):
    with pytest.raises(AnsibleFilterError):
        deb822(fields)
