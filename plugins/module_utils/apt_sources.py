# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions behind apt_source_replace: which other source files name the same repository as ours.

Docker's and NVIDIA's install guides leave /etc/apt/sources.list.d/docker.list and nvidia-container-toolkit.list
(one-line style, `deb [signed-by=KEYRING] URI ...`) with their own keyrings. Beside our deb822 source for the same
repository apt refuses to read any source ("E: Conflicting values set for option Signed-By regarding source
URI: A != B", then "E: The list of sources could not be read."), so the other file must go.
"""

from __future__ import annotations

# apt skips these names without a word (Dir::Ignore-Files-Silently has "\.disabled$"); the file stays for a person
# to read or restore.
DISABLED_SUFFIX = ".gpuhost.disabled"


def normalize(uri: str, arch: str) -> str:
    """A repository URI as apt compares it: $(ARCH) expanded (NVIDIA's flat list uses it), no trailing slash."""
    uri = uri.replace("$(ARCH)", arch).strip()
    scheme, sep, rest = uri.partition("://")
    if sep:
        host, slash, path = rest.partition("/")
        uri = f"{scheme.lower()}://{host.lower()}{slash}{path}"
    return uri.rstrip("/")


def one_line_entries(text: str) -> list[dict]:
    """[{'uri', 'signed_by', 'line'}] for every active `deb`/`deb-src` line of a one-line-style source."""
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words or words[0] not in ("deb", "deb-src"):
            continue
        rest, options = words[1:], {}
        if rest and rest[0].startswith("["):
            option_words = []
            while rest:
                word = rest.pop(0)
                option_words.append(word.strip("[]"))
                if word.endswith("]"):
                    break
            for word in option_words:
                key, _sep, value = word.partition("=")
                options[key.lower()] = value
        if rest:
            entries.append({"uri": rest[0], "signed_by": options.get("signed-by", ""), "line": number})
    return entries


def deb822_entries(text: str) -> list[dict]:
    """[{'uri', 'signed_by', 'line'}] for every URI of every enabled stanza of a deb822 .sources file."""
    entries = []
    for stanza in _stanzas(text):
        fields = stanza["fields"]
        if fields.get("enabled", "yes").strip().lower() == "no":
            continue
        signed_by = fields.get("signed-by", "").strip()
        # Signed-By may embed the key itself (a multi-line armored block): then it names no keyring file.
        if "\n" in signed_by or signed_by.startswith("-----BEGIN"):
            signed_by = ""
        for uri in fields.get("uris", "").split():
            entries.append({"uri": uri, "signed_by": signed_by, "line": stanza["line"]})
    return entries


def _stanzas(text: str) -> list[dict]:
    stanzas, fields, key, first = [], {}, None, None
    for number, line in enumerate(text.splitlines() + [""], 1):
        if line.startswith("#"):
            continue
        if not line.strip():
            if fields:
                stanzas.append({"fields": fields, "line": first})
            fields, key, first = {}, None, None
            continue
        if line[0] in " \t" and key:
            fields[key] += "\n" + line.strip()
            continue
        name, _sep, value = line.partition(":")
        key = name.strip().lower()
        fields[key] = value.strip()
        first = first or number
    return stanzas


def entries(path: str, text: str) -> list[dict]:
    return deb822_entries(text) if path.endswith(".sources") else one_line_entries(text)


def conflicting_files(sources: dict[str, str], uris: list[str], keep: str, arch: str) -> dict[str, dict]:
    """{file: {'whole': bool, 'keyrings': [...], 'uri': ...}} for the source files other than `keep` that name one of
    `uris`. 'whole': every active entry of the file is for those repositories (it can be set aside as a whole).
    """
    wanted = {normalize(uri, arch) for uri in uris}
    found = {}
    for path, text in sources.items():
        if path == keep:
            continue
        listed = entries(path, text)
        ours = [entry for entry in listed if normalize(entry["uri"], arch) in wanted]
        if ours:
            found[path] = {
                "whole": len(ours) == len(listed),
                "keyrings": sorted({entry["signed_by"] for entry in ours if entry["signed_by"].startswith("/")}),
                "uri": ours[0]["uri"],
                "lines": [entry["line"] for entry in ours],
            }
    return found


def keyrings_still_used(sources: dict[str, str], set_aside: set[str]) -> set[str]:
    """Keyring files that a source file which stays (not in set_aside) names in its Signed-By."""
    used = set()
    for path, text in sources.items():
        if path in set_aside:
            continue
        for entry in entries(path, text):
            used |= set(entry["signed_by"].split())
    return used
