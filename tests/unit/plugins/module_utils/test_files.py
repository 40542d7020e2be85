import errno

from ansible_collections.gpuhost.provision.plugins.module_utils.files import backup_name, describe_error, stale_backups


def test_backup_names_are_ansibles_and_sort_by_time():
    assert backup_name("/etc/docker/daemon.json", 0, 42).startswith("/etc/docker/daemon.json.42.")
    assert backup_name("/etc/docker/daemon.json", 0, 42).endswith("~")


def test_only_backups_beyond_the_newest_are_stale_and_other_files_never():
    names = [
        "daemon.json",
        "daemon.json.9.2026-11-03@10:00:00~",
        "daemon.json.12.2026-11-01@10:00:00~",
        "daemon.json.7.2026-11-02@09:59:59~",
        "daemon.json.mine~",
        "other.json.1.2026-01-01@00:00:00~",
    ]
    assert stale_backups(names, "daemon.json", 2) == ["daemon.json.12.2026-11-01@10:00:00~"]
    assert stale_backups(names, "daemon.json", 3) == []
    assert stale_backups(names, "daemon.json", 0) == []


def test_a_full_disk_is_said_in_words_naming_the_directory():
    words = describe_error("/etc/docker/daemon.json", OSError(errno.ENOSPC, "No space left on device"))
    assert words.startswith("no space left on the filesystem that holds /etc/docker")
    assert "[No space left on device]" in words
    assert describe_error("/x/y", OSError(errno.EIO, "Input/output error")) == "Input/output error"
