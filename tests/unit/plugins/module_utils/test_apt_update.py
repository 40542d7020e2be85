from ansible_collections.gpuhost.provision.plugins.module_utils.apt_update import (
    command,
    is_signature_problem,
    problems,
    uris,
)

# apt-get update's output for the stand-in mirror read with the wrong keyring (bookworm, apt 2.6).
WRONG_KEY = """Get:1 http://127.0.0.1:8080/docker bookworm InRelease [1,207 B]
Err:1 http://127.0.0.1:8080/docker bookworm InRelease
  The following signatures couldn't be verified because the public key is not available: NO_PUBKEY 4365F319D00FE84D
Reading package lists...
W: GPG error: http://127.0.0.1:8080/docker bookworm InRelease: The following signatures couldn't be verified
E: The repository 'http://127.0.0.1:8080/docker bookworm InRelease' is not signed.
"""
UNREACHABLE = """Err:1 http://127.0.0.1:9/docker bookworm InRelease
  Could not connect to 127.0.0.1:9 (127.0.0.1). - connect (111: Connection refused)
W: Failed to fetch http://127.0.0.1:9/docker/dists/bookworm/InRelease  Could not connect to 127.0.0.1:9
W: Some index files failed to download. They have been ignored, or old ones used instead.
"""


def test_only_the_one_source_is_refreshed_and_other_lists_kept():
    cmd = command("/etc/apt/sources.list.d/docker.sources")
    assert cmd[:2] == ["apt-get", "update"]
    assert "Dir::Etc::SourceList=/etc/apt/sources.list.d/docker.sources" in cmd
    assert "Dir::Etc::SourceParts=-" in cmd
    assert "APT::Get::List-Cleanup=0" in cmd
    # Another apt or dpkg holding the locks is waited for, not failed on (apt 1.9.11+).
    assert command("/x.sources", 600)[-2:] == ["-o", "DPkg::Lock::Timeout=600"]


def test_signature_problems_are_told_from_network_ones():
    assert is_signature_problem(problems(WRONG_KEY))
    assert problems(UNREACHABLE)[0].startswith("Err:1 http://127.0.0.1:9/docker")
    assert not is_signature_problem(problems(UNREACHABLE))
    assert problems("Hit:1 http://deb.debian.org/debian bookworm InRelease\nReading package lists...\n") == []


def test_uris_of_a_deb822_source():
    text = "# Managed\nTypes: deb\nURIs: http://a.example/x http://b.example/y\nSuites: /\n"
    assert uris(text) == ["http://a.example/x", "http://b.example/y"]
