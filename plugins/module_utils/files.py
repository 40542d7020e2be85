# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing a file the way the collection's modules do: parent created, atomic replace, root-owned mode.

A failed write (a full disk, a read-only /etc) leaves neither a half-written file nor an empty temporary one,
and its message names the file and the cause instead of a bare "[Errno 28]".
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import time

# Where the cause is one an operator can act on, the words to say it in.
_CAUSES = {
    errno.ENOSPC: "no space left on the filesystem that holds {directory} (see `df -h {directory}`; free some space)",
    errno.EDQUOT: "the disk quota on the filesystem that holds {directory} is used up",
    errno.EROFS: "{directory} is on a read-only filesystem",
    errno.EACCES: "permission denied (run with become: true)",
    errno.EPERM: "operation not permitted (an immutable file? `lsattr {path}`)",
}


def describe_error(path: str, exc: OSError) -> str:
    """'no space left on the filesystem that holds /etc/docker (...)' for errno 28, and so on."""
    words = _CAUSES.get(exc.errno)
    reason = exc.strerror or str(exc)
    if words is None:
        return reason
    return f"{words.format(directory=os.path.dirname(path) or '.', path=path)} [{reason}]"


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def write_atomic(
    module, path: str, data: bytes, mode: str | None = "0644", *, owner: str = "root", group: str = "root"
) -> None:
    """Replace path with data in one rename, so a reader never sees half a file.

    mode=None keeps the permissions of the file being replaced (atomic_move carries them over). On failure the
    temporary file is removed, path is left as it was and the task fails naming path and the cause.
    """
    directory = os.path.dirname(path)
    try:
        if not os.path.isdir(directory):
            os.makedirs(directory, mode=0o755)
    except OSError as exc:
        module.fail_json(msg=f"{directory} could not be created for {path}: {describe_error(path, exc)}")
    tmp = os.path.join(directory, f".{os.path.basename(path)}.gpuhost.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            # A full disk often shows only here: the data sat in the page cache until now.
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        _remove_quietly(tmp)
        module.fail_json(msg=f"{path} could not be written: {describe_error(path, exc)}. It was left as it was.")
    module.atomic_move(tmp, path)
    if mode is None:
        return
    file_args = module.load_file_common_arguments({"path": path, "mode": mode, "owner": owner, "group": group})
    module.set_fs_attributes_if_different(file_args, False)


def backup_name(path: str, when: float | None = None, pid: int | None = None) -> str:
    """The name ansible's backup_local gives a copy: PATH.PID.YYYY-MM-DD@HH:MM:SS~."""
    stamp = time.strftime("%Y-%m-%d@%H:%M:%S~", time.localtime(when))
    return f"{path}.{os.getpid() if pid is None else pid}.{stamp}"


def stale_backups(names: list[str], base: str, keep: int) -> list[str]:
    """The backups of file `base` among directory entries `names` beyond the `keep` newest, oldest first.

    Only names of backup_name()'s shape count (other files beside it are never touched); newest by the time
    in the name, which sorts as text. keep=0 keeps them all.
    """
    if keep <= 0:
        return []
    shape = re.compile(re.escape(base) + r"\.[0-9]+\.([0-9]{4}-[0-9]{2}-[0-9]{2}@[0-9]{2}:[0-9]{2}:[0-9]{2})~")
    found = sorted((match.group(1), name) for name in names if (match := shape.fullmatch(name)))
    return [name for _stamp, name in found[: max(0, len(found) - keep)]]


def backup(module, path: str, keep: int) -> str:
    """Copy path to backup_name(path), then remove its backups beyond the `keep` newest; returns the copy's name.

    A copy that fails (a full disk) is removed and the task fails naming path and the cause, before any change.
    """
    dest = backup_name(path)
    try:
        shutil.copy2(path, dest)
    except OSError as exc:
        _remove_quietly(dest)
        module.fail_json(
            msg=f"{path} could not be backed up to {dest} before changing it: {describe_error(dest, exc)}. "
            f"{path} was left as it was."
        )
    directory, base = os.path.split(path)
    for name in stale_backups(os.listdir(directory or "."), base, keep):
        _remove_quietly(os.path.join(directory, name))
    return dest
