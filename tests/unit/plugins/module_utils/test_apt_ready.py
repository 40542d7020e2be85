from ansible_collections.gpuhost.provision.plugins.module_utils.apt_ready import (
    describe_process,
    dpkg_interrupted,
    files_for_problems,
    is_managed,
    lock_holders,
    one_line_uris,
    unreadable_source_files,
)

# /proc/locks while unattended-upgrade holds dpkg's frontend lock (pid 812) and a waiter queues behind it.
PROC_LOCKS = """1: POSIX  ADVISORY  WRITE 812 fe:01:393286 0 EOF
1: -> POSIX  ADVISORY  WRITE 990 fe:01:393286 0 EOF
2: FLOCK  ADVISORY  WRITE 455 00:19:1093 0 EOF
3: POSIX  ADVISORY  WRITE 812 fe:01:393290 0 EOF
"""


def test_lock_holders_by_inode_without_waiters():
    inodes = {393286: "/var/lib/dpkg/lock-frontend", 393290: "/var/lib/dpkg/lock", 1: "/var/lib/apt/lists/lock"}
    assert lock_holders(PROC_LOCKS, inodes) == {
        "/var/lib/dpkg/lock-frontend": [812],
        "/var/lib/dpkg/lock": [812],
    }


def test_a_holder_is_named_by_its_command_line():
    cmdline = b"/usr/bin/python3\0/usr/bin/unattended-upgrade\0--download-only\0"
    assert (
        describe_process(812, cmdline) == "process 812 (/usr/bin/python3 /usr/bin/unattended-upgrade --download-only)"
    )
    assert describe_process(812, None) == "process 812"
    assert "outside" in describe_process(0, None)


def test_dpkg_interrupted_by_journal_or_audit():
    assert dpkg_interrupted(["0001"], "")
    assert dpkg_interrupted([], "The following packages are only half configured ...\n jq  ...\n")
    assert not dpkg_interrupted([], "")
    assert not dpkg_interrupted(["tmp.i"], "")


def test_unreadable_source_files_named_by_apt():
    # apt 2.6 (bookworm) on a list file and a deb822 file it cannot parse.
    output = """E: Malformed entry 1 in list file /etc/apt/sources.list.d/other.list (Component)
E: The list of sources could not be read.
E: Malformed stanza 1 in source list /etc/apt/sources.list.d/nvidia-container-toolkit.sources (URI parse)
"""
    assert unreadable_source_files(output) == [
        "/etc/apt/sources.list.d/other.list",
        "/etc/apt/sources.list.d/nvidia-container-toolkit.sources",
    ]
    assert unreadable_source_files("W: nothing here /etc/apt/sources.list.d/x.list\n") == []


def test_problems_are_mapped_to_the_file_naming_that_repository():
    sources = {
        "/etc/apt/sources.list": "deb http://deb.debian.org/debian bookworm main\n",
        "/etc/apt/sources.list.d/vendor.list": (
            "deb [signed-by=/usr/share/keyrings/v.gpg arch=amd64] http://10.0.0.9/repo stable main\n"
        ),
        "/etc/apt/sources.list.d/docker.sources": (
            "# Managed by gpuhost.provision (Ansible)\nTypes: deb\n"
            "URIs: https://download.docker.com/linux/ubuntu\nSuites: noble\n"
        ),
    }
    lines = [
        "Err:4 http://10.0.0.9/repo stable InRelease",
        "W: Failed to fetch http://10.0.0.9/repo/dists/stable/InRelease  Could not connect to 10.0.0.9:80",
        "E: The repository 'https://download.docker.com/linux/ubuntu noble InRelease' is not signed.",
    ]
    assert files_for_problems(lines, sources) == {
        "/etc/apt/sources.list.d/vendor.list": lines[:2],
        "/etc/apt/sources.list.d/docker.sources": lines[2:],
    }
    assert is_managed(sources["/etc/apt/sources.list.d/docker.sources"])
    assert not is_managed(sources["/etc/apt/sources.list.d/vendor.list"])


def test_one_line_sources_with_options():
    text = "# comment\ndeb [ arch=amd64 signed-by=/k.gpg ] https://x.example/r stable main\ndeb-src http://y/ z c\n"
    assert one_line_uris(text) == ["https://x.example/r", "http://y/"]
