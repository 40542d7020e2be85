"""The docker role's opt-in data disk (Azure NC A100 v4's local NVMe), tested without a block device.

The Molecule test hosts cannot attach one: loop devices need /dev/loop-control and a device-cgroup rule that
the shared platform does not grant. So this tests the parts that decide and the text systemd reads:
- the rule "format only if blank" (plugins/module_utils/data_disk.py) against real `blkid -p` on file-backed
  disks: blank, ext4, another filesystem, a partition table;
- the boot-time script the role installs, run for real on file-backed disks (mkfs.ext4 formats a file as it
  would a disk): a blank one is formatted once, a formatted one is left alone, a probe error stops it;
- the mount unit, the format service and Docker's drop-in as the role renders them: names escaped as
  systemd-escape does, the mount waits for the format, Docker waits for the mount (RequiresMountsFor).
What is not tested here: mounting, and Docker starting after the mount at boot (systemd does that).
"""

import json
import os
import shutil
import subprocess

import pytest
from ansible_collections.gpuhost.provision.plugins.module_utils.data_disk import decide, systemd_escape_path
from ansible_run import run_module, run_playbook

BLKID = shutil.which("blkid") or "/usr/sbin/blkid"
MKFS = {name: shutil.which(name) or f"/usr/sbin/{name}" for name in ("mkfs.ext4", "mkfs.ext2", "wipefs")}
needs_tools = pytest.mark.skipif(
    not all(os.path.exists(path) for path in (BLKID, *MKFS.values())), reason="needs util-linux and e2fsprogs"
)


def disk(tmp_path, name="disk", size=32 << 20):
    path = tmp_path / name
    with open(path, "wb") as handle:
        handle.truncate(size)
    return str(path)


def probe(path):
    result = subprocess.run([BLKID, "-p", "-o", "export", path], capture_output=True, text=True, check=False)
    return result.returncode, result.stdout + result.stderr


@needs_tools
def test_only_a_blank_disk_is_formatted(tmp_path):
    blank = disk(tmp_path, "blank")
    assert decide(*probe(blank), "ext4")[0] == "format"
    ours = disk(tmp_path, "ext4")
    subprocess.run([MKFS["mkfs.ext4"], "-q", "-F", ours], check=True)
    assert decide(*probe(ours), "ext4")[0] == "keep"
    other = disk(tmp_path, "ext2")
    subprocess.run([MKFS["mkfs.ext2"], "-q", "-F", other], check=True)
    action, why = decide(*probe(other), "ext4")
    assert action == "refuse"
    assert "a ext2 signature" in why or "ext2" in why
    # A GPT partition table, as a disk someone partitioned has: protective MBR plus the GPT header's signature.
    table = disk(tmp_path, "gpt")
    with open(table, "r+b") as handle:
        handle.seek(446 + 4)
        handle.write(b"\xee")
        handle.seek(510)
        handle.write(b"\x55\xaa")
    action, why = decide(*probe(table), "ext4")
    assert action == "refuse"
    assert "partition table" in why


def test_probe_errors_and_ambivalent_results_are_refused():
    assert decide(8, "", "ext4")[0] == "refuse"
    assert decide(4, "blkid: error", "ext4") == (
        "refuse",
        "blkid -p exited 4 (blkid: error); whether it is blank is unknown",
    )


def test_unit_names_are_escaped_as_systemd_escape_does():
    for path in ("/mnt/nvme", "/mnt/nvme/docker-data", "/dev/disk/by-id/nvme-Microsoft_NVMe_Direct_Disk_1-part1"):
        expected = (
            shutil.which("systemd-escape")
            and subprocess.run(
                ["systemd-escape", "--path", path], capture_output=True, text=True, check=True
            ).stdout.strip()
        )
        assert systemd_escape_path(path) == (expected or systemd_escape_path(path))
    assert systemd_escape_path("/dev/nvme0n1") == "dev-nvme0n1"
    assert systemd_escape_path("/mnt/nvme/docker-data") == "mnt-nvme-docker\\x2ddata"


def render(tmp_path, **variables):
    out = tmp_path / "units"
    out.mkdir()
    extra = {"out_dir": str(out), "docker_data_disk_enabled": True, "docker_data_root": "/mnt/nvme/docker", **variables}
    result = run_playbook(
        "tests/integration/data_disk_units.yml", "tests/integration/localhost.yml", "-e", json.dumps(extra)
    )
    assert result.returncode == 0, result.stdout[-3000:]
    return {name: (out / name).read_text() for name in os.listdir(out)}


def test_the_mount_waits_for_the_format_and_docker_for_the_mount(tmp_path):
    units = render(tmp_path)
    assert set(units) == {
        "gpuhost-data-disk-format.service",
        "mnt-nvme.mount",
        "gpuhost-data-disk.conf",
        "gpuhost-format-blank-disk",
    }
    mount = units["mnt-nvme.mount"]
    for line in ("What=/dev/nvme0n1", "Where=/mnt/nvme", "Type=ext4", "WantedBy=local-fs.target"):
        assert line in mount.splitlines()
    assert "Requires=gpuhost-data-disk-format.service" in mount
    assert "After=gpuhost-data-disk-format.service" in mount
    fmt = units["gpuhost-data-disk-format.service"]
    for line in (
        "Requires=dev-nvme0n1.device",
        "After=dev-nvme0n1.device",
        "Before=mnt-nvme.mount",
        "Type=oneshot",
        "RemainAfterExit=yes",
        "ExecStart=/usr/local/sbin/gpuhost-format-blank-disk /dev/nvme0n1 ext4",
    ):
        assert line in fmt.splitlines()
    assert "RequiresMountsFor=/mnt/nvme/docker" in units["gpuhost-data-disk.conf"].splitlines()


def test_a_by_id_device_gets_its_escaped_device_unit(tmp_path):
    device = "/dev/disk/by-id/nvme-Microsoft_NVMe_Direct_Disk_0001"
    units = render(
        tmp_path,
        docker_data_disk_device=device,
        docker_data_disk_mount_point="/mnt/local-nvme",
        docker_data_root="/mnt/local-nvme/docker",
    )
    fmt = units["gpuhost-data-disk-format.service"]
    assert "Requires=dev-disk-by\\x2did-nvme\\x2dMicrosoft_NVMe_Direct_Disk_0001.device" in fmt
    assert "Before=mnt-local\\x2dnvme.mount" in fmt
    assert "Where=/mnt/local-nvme" in units["mnt-local\\x2dnvme.mount"]


@pytest.fixture
def boot_script(tmp_path):
    text = render(tmp_path)["gpuhost-format-blank-disk"]
    path = tmp_path / "gpuhost-format-blank-disk"
    path.write_text(text)
    path.chmod(0o755)
    return str(path)


@needs_tools
def test_the_boot_script_formats_a_blank_disk_once_and_leaves_a_formatted_one(tmp_path, boot_script):
    env = dict(os.environ, PATH=f"/usr/sbin:/sbin:{os.environ['PATH']}")
    target = disk(tmp_path, "nvme")
    first = subprocess.run([boot_script, target, "ext4"], capture_output=True, text=True, check=False, env=env)
    assert first.returncode == 0, first.stderr
    assert "is blank (wiped by a deallocation?): formatting it as ext4" in first.stdout
    rc, out = probe(target)
    assert rc == 0
    assert "TYPE=ext4" in out
    assert "LABEL=gpuhost-data" in out
    uuid = [line for line in out.splitlines() if line.startswith("UUID=")]
    again = subprocess.run([boot_script, target, "ext4"], capture_output=True, text=True, check=False, env=env)
    assert again.returncode == 0
    assert again.stdout == ""
    assert [line for line in probe(target)[1].splitlines() if line.startswith("UUID=")] == uuid
    # Wiped again (a deallocation): formatted again.
    subprocess.run([MKFS["wipefs"], "-q", "-a", target], check=True)
    assert probe(target)[0] == 2
    assert subprocess.run([boot_script, target, "ext4"], capture_output=True, check=False, env=env).returncode == 0
    assert "TYPE=ext4" in probe(target)[1]


def test_the_boot_script_stops_when_the_disk_cannot_be_probed(tmp_path, boot_script):
    missing = str(tmp_path / "no-such-disk")
    result = subprocess.run([boot_script, missing, "ext4"], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert f"{missing} is not there or not readable: not formatting it" in result.stderr
    assert not os.path.exists(missing)


def test_the_module_refuses_what_is_no_block_device(tmp_path):
    result = run_module("data_disk", {"device": disk(tmp_path)})
    assert result["failed"] is True
    assert "is not a block device" in result["msg"]
    result = run_module("data_disk", {"device": str(tmp_path / "absent")})
    assert "does not exist" in result["msg"]


def test_the_role_refuses_a_data_root_outside_the_data_disk():
    result = run_playbook(
        "playbooks/site.yml",
        "tests/integration/localhost.yml",
        "--check",
        "--tags",
        "gpuhost_pre_tasks_only",
        "-e",
        json.dumps(
            {
                "gpuhost_hosts": "localhost",
                "ansible_become": False,
                "docker_data_disk_enabled": True,
                "docker_data_root": "/mnt/docker",
            }
        ),
    )
    words = " ".join(result.stdout.split())
    assert result.returncode != 0
    assert (
        'docker_data_root ("/mnt/docker") must be a directory inside docker_data_disk_mount_point ("/mnt/nvme"' in words
    )
