# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing a file the way the collection's modules do: parent created, atomic replace, root-owned mode."""

from __future__ import annotations

import os


def write_atomic(module, path: str, data: bytes, mode: str | None = "0644") -> None:
    """Replace path with data in one rename, so a reader never sees half a file.

    mode=None keeps the permissions of the file being replaced (atomic_move carries them over).
    """
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, mode=0o755)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.gpuhost.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
    module.atomic_move(tmp, path)
    if mode is None:
        return
    file_args = module.load_file_common_arguments({"path": path, "mode": mode, "owner": "root", "group": "root"})
    module.set_fs_attributes_if_different(file_args, False)
