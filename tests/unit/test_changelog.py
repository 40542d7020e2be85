"""CHANGELOG.md is generated from changelogs/ by antsibull-changelog, and a malformed fragment fails the lint.

Fragments are YAML files in changelogs/fragments/ with any name (doctor.yml, ubuntu-drivers.yml, ...):
a mapping of section (minor_changes, bugfixes, ... as changelogs/config.yaml lists them) to a list of
strings. `make lint` runs `antsibull-changelog lint`; these tests show that it accepts such fragments,
refuses malformed ones, and that a release turns them into CHANGELOG.md entries.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(os.path.dirname(sys.executable), "antsibull-changelog")
pytestmark = pytest.mark.skipif(not os.path.exists(TOOL), reason="antsibull-changelog is not installed: make setup")

GOOD = {
    "doctor.yml": "---\nminor_changes:\n  - doctor - a playbook that names what is wrong with a GPU host.\n",
    "ubuntu-drivers.yml": "bugfixes:\n  - nvidia_driver - ``ubuntu-drivers install`` on 24.04.\n",
    "cluster.yml": "---\nmajor_changes:\n  - cluster - NCCL across hosts.\ntrivial:\n  - tests only.\n",
}
BAD = {
    "unknown-section.yml": "minor_change:\n  - a typo in the section name.\n",
    "not-a-list.yml": "bugfixes: a string where a list belongs\n",
    "not-yaml.yml": "minor_changes:\n  - [unclosed\n",
}


def changelog(cwd, *args):
    return subprocess.run([TOOL, *args], cwd=cwd, capture_output=True, text=True, check=False)


def copy_collection(dest, everything=False):
    """galaxy.yml, changelogs/ and CHANGELOG.md; with everything=True all files git knows (for a release)."""
    if everything:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
    else:
        listed = ["galaxy.yml", "CHANGELOG.md"] + [
            os.path.relpath(os.path.join(d, f), ROOT)
            for d, _dirs, files in os.walk(os.path.join(ROOT, "changelogs"))
            for f in files
        ]
    os.makedirs(os.path.join(dest, "changelogs", "fragments"), exist_ok=True)
    for rel in filter(None, listed):
        src = os.path.join(ROOT, rel)
        if os.path.isfile(src):
            os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
            shutil.copy2(src, os.path.join(dest, rel))
    return dest


def test_the_changelog_lints_clean():
    result = changelog(ROOT, "lint")
    assert result.returncode == 0, result.stdout + result.stderr


def test_changelog_md_is_what_changelogs_generates(tmp_path):
    copy_collection(tmp_path)
    result = changelog(tmp_path, "generate")
    assert result.returncode == 0, result.stdout + result.stderr
    with open(os.path.join(ROOT, "CHANGELOG.md"), encoding="utf-8") as handle:
        committed = handle.read()
    assert (tmp_path / "CHANGELOG.md").read_text() == committed, "CHANGELOG.md is stale: run `make changelog`"


def test_the_hand_written_0_1_0_entries_were_carried_over():
    with open(os.path.join(ROOT, "CHANGELOG.md"), encoding="utf-8") as handle:
        text = handle.read()
    assert "## v0\\.1\\.0" in text
    assert "security floor from a CVE table" in text
    assert "booleans given as strings work" in text


def test_fragments_named_as_other_branches_name_them_lint_clean(tmp_path):
    copy_collection(tmp_path)
    for name, body in GOOD.items():
        (tmp_path / "changelogs" / "fragments" / name).write_text(body)
    result = changelog(tmp_path, "lint")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_malformed_fragment_fails_the_lint_naming_it(tmp_path, name):
    copy_collection(tmp_path)
    (tmp_path / "changelogs" / "fragments" / name).write_text(BAD[name])
    result = changelog(tmp_path, "lint")
    assert result.returncode != 0, result.stdout + result.stderr
    assert name in result.stdout + result.stderr


def test_a_release_turns_fragments_into_changelog_md_entries(tmp_path):
    # What the maintainer runs at release time, on a copy: the next version, every fragment consumed.
    collection = copy_collection(tmp_path / "ansible_collections" / "gpuhost" / "provision", everything=True)
    for name, body in GOOD.items():
        (collection / "changelogs" / "fragments" / name).write_text(body)
    env_path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    result = subprocess.run(
        [TOOL, "release", "--version", "99.0.0", "--date", "2026-12-31"],
        cwd=collection,
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, PATH=env_path, ANSIBLE_COLLECTIONS_PATH=str(tmp_path)),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = (collection / "CHANGELOG.md").read_text()
    assert "## v99\\.0\\.0" in text
    assert "a playbook that names what is wrong with a GPU host" in text
    assert "NCCL across hosts" in text
    assert "tests only" not in text  # trivial: recorded, not rendered
    assert sorted(os.listdir(collection / "changelogs" / "fragments")) == []
