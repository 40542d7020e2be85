"""Files and packages other tools left on the host that conflict with Docker CE: replaced, adopted or refused.

Docker's install guide leaves /etc/apt/sources.list.d/docker.list and its own keyring; beside the role's
docker.sources apt refuses every source. Azure's HPC images ship Microsoft's moby-engine, which conflicts with
docker-ce. The mirror and the moby-engine package here are STAND-INS (see mirror.yml); apt's refusal is real.
"""

import shlex

import pytest
from conftest import set_aside_install_guide_source

PINNED = "5:27.3.1-1~debian.12~bookworm"
GUIDE_LIST = "/etc/apt/sources.list.d/docker.list"
GUIDE_KEYRING = "/etc/apt/keyrings/docker.asc"
# docs.docker.com/engine/install/debian, one-line version: its own keyring in signed-by, the mirror's URL here.
GUIDE_LINE = f"deb [arch=amd64 signed-by={GUIDE_KEYRING}] http://127.0.0.1:8080/docker bookworm stable"


def test_docker_install_guides_source_and_keyring_are_set_aside(host, run_play):
    set_aside_install_guide_source(
        host,
        run_play,
        guide_list=GUIDE_LIST,
        guide_keyring=GUIDE_KEYRING,
        guide_line=GUIDE_LINE,
        gpg="/srv/gpuhost-test-mirror/docker/gpg",
    )
    assert host.package("docker-ce").version == PINNED


# STAND-IN for Microsoft's moby-engine (packages.microsoft.com): only its name and version matter to the role.
# The real package also declares Conflicts: docker-ce; this one does not, so dpkg installs it beside the stand-in
# docker-ce.
MOBY = """set -e
mkdir -p /tmp/moby-pkg/DEBIAN
cat > /tmp/moby-pkg/DEBIAN/control <<'CONTROL'
Package: moby-engine
Version: 27.5.1-ubuntu24.04u1
Architecture: all
Maintainer: t <t@example.org>
Description: STAND-IN moby-engine from gpuhost tests
CONTROL
dpkg-deb -b /tmp/moby-pkg /tmp/moby-engine.deb >/dev/null
dpkg -i /tmp/moby-engine.deb >/dev/null
"""


@pytest.fixture
def moby_engine(host):
    host.check_output(f"bash -c {shlex.quote(MOBY)}")
    yield
    host.check_output("dpkg --purge moby-engine >/dev/null")


def test_moby_engine_is_refused_for_docker_ce_and_adopted_by_auto(host, run_play, moby_engine):
    listing = "ls -l --time-style=full-iso /etc/apt/sources.list.d /etc/docker"
    before = host.check_output(listing)
    # This scenario asks for docker_source: upstream explicitly: apt would remove moby-engine mid-play.
    refused = run_play()
    assert refused.returncode != 0
    words = " ".join(refused.stdout.split())
    assert "moby-engine 27.5.1-ubuntu24.04u1 is installed" in words, words[-3000:]
    assert "Leave docker_source at auto to keep moby-engine" in words
    assert "Nothing was changed" in words
    assert host.check_output(listing) == before
    # auto adopts it: nothing installed or removed, the rest of the role as usual.
    adopted = run_play(extra_vars={"docker_source": "auto", "docker_version": ""})
    assert adopted.returncode == 0, adopted.stdout[-3000:]
    assert "adopted as this host's Docker" in adopted.stdout
    assert host.package("moby-engine").is_installed
    assert host.package("docker-ce").version == PINNED
    assert host.service("docker").is_running
