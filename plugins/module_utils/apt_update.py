# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions behind apt_source_update: the command, and reading apt's complaints."""

from __future__ import annotations

import re

# apt's words for a repository whose signature it will not accept: retrying cannot help.
_SIGNATURE = re.compile(r"NO_PUBKEY|is not signed|EXPKEYSIG|BADSIG|KEYEXPIRED|signatures couldn't be verified")


def command(source: str, lock_timeout: int = 0) -> list[str]:
    """apt-get update for one source file, keeping every other list as it is.

    lock_timeout: seconds apt waits for the locks another apt or dpkg holds (DPkg::Lock::Timeout, apt 1.9.11+).
    """
    return [
        "apt-get",
        "update",
        "-o",
        f"Dir::Etc::SourceList={source}",
        "-o",
        "Dir::Etc::SourceParts=-",
        "-o",
        "APT::Get::List-Cleanup=0",
        "-o",
        f"DPkg::Lock::Timeout={lock_timeout}",
    ]


def problems(output: str) -> list[str]:
    """apt's error and warning lines (E:, W:, Err:), in order."""
    return [line.strip() for line in output.splitlines() if re.match(r"\s*(E:|W:|Err:)", line)]


def is_signature_problem(lines: list[str]) -> bool:
    return any(_SIGNATURE.search(line) for line in lines)


def uris(source_text: str) -> list[str]:
    """The URIs a deb822 source names."""
    found = []
    for line in source_text.splitlines():
        if line.lower().startswith("uris:"):
            found += line.split(":", 1)[1].split()
    return found
