# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions behind apt_ready: who holds apt's locks, whether dpkg was interrupted, which source file
apt is complaining about. The module does the waiting and the commands; pytest calls these directly.
"""

from __future__ import annotations

import os
import re

from ansible_collections.gpuhost.provision.plugins.module_utils.apt_update import uris

# The locks apt and dpkg take (apt-get(8), dpkg(1)); the frontend lock first, as apt takes it.
LOCKS = (
    "/var/lib/dpkg/lock-frontend",
    "/var/lib/dpkg/lock",
    "/var/lib/apt/lists/lock",
    "/var/cache/apt/archives/lock",
)
DPKG_UPDATES = "/var/lib/dpkg/updates"
# The first line the deb822 filter writes: a source file this collection wrote (its role rewrites it).
MANAGED_MARKER = "# Managed by gpuhost.provision"
# apt names the file it cannot parse: "E: Malformed entry 1 in list file /etc/apt/sources.list.d/x.list
# (Component)", "E: Malformed stanza 1 in source list /etc/apt/sources.list.d/x.sources (URI parse)",
# "E: Type 'dbe' is not known on line 1 in source list /etc/apt/sources.list.d/x.list".
_SOURCE_FILE = re.compile(r"(/etc/apt/sources\.list(?:\.d/[^\s:()]+\.(?:list|sources))?)")


def lock_holders(proc_locks: str, inodes: dict[int, str]) -> dict[str, list[int]]:
    """{lock file: [pid, ...]} from the text of /proc/locks, for the lock files whose inode is given.

    A /proc/locks line: "1: POSIX  ADVISORY  WRITE 12345 fd:01:1835231 0 EOF" (the pid, then
    major:minor:inode). A pid of 0 or -1 is a holder outside this pid namespace: still a holder.
    """
    held: dict[str, list[int]] = {}
    for line in proc_locks.splitlines():
        fields = line.split()
        if "->" in fields:  # a blocked waiter, not a holder
            continue
        for index, field in enumerate(fields):
            if re.fullmatch(r"[0-9a-f]+:[0-9a-f]+:[0-9]+", field) and index > 0:
                inode = int(field.rsplit(":", 1)[1])
                if inode in inodes:
                    try:
                        pid = int(fields[index - 1])
                    except ValueError:
                        break
                    held.setdefault(inodes[inode], []).append(pid)
                break
    return held


def describe_process(pid: int, cmdline: bytes | None) -> str:
    """'1234 (/usr/bin/python3 /usr/bin/unattended-upgrade)', from /proc/PID/cmdline."""
    if pid <= 0:
        return "a process outside this host's view (another container or namespace)"
    if not cmdline:
        return f"process {pid}"
    words = cmdline.rstrip(b"\0").split(b"\0")
    return f"process {pid} ({' '.join(w.decode('utf-8', 'replace') for w in words)[:200]})"


def dpkg_interrupted(updates_entries: list[str], audit_output: str) -> bool:
    """dpkg was stopped mid-run: journal files in /var/lib/dpkg/updates, or `dpkg --audit` lists packages.

    apt refuses to go on in that state ("E: dpkg was interrupted, you must manually run 'dpkg --configure
    -a' to correct the problem."); the journal entries are numbered files (dpkg's src/main/update.c).
    """
    return any(re.fullmatch(r"[0-9]+", name) for name in updates_entries) or bool(audit_output.strip())


def unreadable_source_files(output: str) -> list[str]:
    """The source files apt named as ones it could not parse, in order, each once."""
    found = []
    for line in output.splitlines():
        if not line.strip().startswith("E:"):
            continue
        for path in _SOURCE_FILE.findall(line):
            if path not in found:
                found.append(path)
    return found


def one_line_uris(text: str) -> list[str]:
    """The URIs of one-line-style sources (`deb [options] URI suite ...`)."""
    found = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if not words or words[0] not in ("deb", "deb-src"):
            continue
        rest = words[1:]
        if rest and rest[0].startswith("["):
            while rest and not rest[0].endswith("]"):
                rest = rest[1:]
            rest = rest[1:]
        if rest:
            found.append(rest[0])
    return found


def source_uris(path: str, text: str) -> list[str]:
    return uris(text) if path.endswith(".sources") else one_line_uris(text)


def files_for_problems(problem_lines: list[str], sources: dict[str, str]) -> dict[str, list[str]]:
    """{source file: [apt's lines about it]} by matching each line's URL to the URIs each file names."""
    by_file: dict[str, list[str]] = {}
    for line in problem_lines:
        best, best_len = None, 0
        for path, text in sources.items():
            for uri in source_uris(path, text):
                stem = uri.rstrip("/")
                if stem and stem in line and len(stem) > best_len:
                    best, best_len = path, len(stem)
        if best:
            by_file.setdefault(best, []).append(line)
    return by_file


def is_managed(text: str) -> bool:
    """Whether this collection wrote the source file (its role writes it again on the next run)."""
    return text.lstrip().startswith(MANAGED_MARKER)


def source_files(etc_apt: str = "/etc/apt") -> list[str]:
    """sources.list and every *.list / *.sources under sources.list.d, as apt reads them."""
    files = []
    main = os.path.join(etc_apt, "sources.list")
    if os.path.isfile(main):
        files.append(main)
    parts = os.path.join(etc_apt, "sources.list.d")
    if os.path.isdir(parts):
        files += [
            os.path.join(parts, name)
            for name in sorted(os.listdir(parts))
            if name.endswith((".list", ".sources")) and re.fullmatch(r"[A-Za-z0-9_.-]+", name)
        ]
    return files
