# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: deb822
short_description: Render an apt source in deb822 format
version_added: 0.1.0
author: gpuhost contributors
description:
  - Renders one apt source stanza (/etc/apt/sources.list.d/*.sources) from a dict of its fields.
  - Lists are joined with spaces; empty values are left out. Written with M(ansible.builtin.copy), the source
    needs no python3-debian on the host and check mode and --diff work as for any file.
positional: ""
options:
  _input:
    description: Fields of the stanza, e.g. Types, URIs, Suites, Components, Architectures, Signed-By.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Docker's apt source
  ansible.builtin.copy:
    dest: /etc/apt/sources.list.d/docker.sources
    content: "{{ {'Types': 'deb', 'URIs': url, 'Suites': 'noble', 'Components': 'stable',
                  'Signed-By': '/etc/apt/keyrings/docker.gpg'} | gpuhost.provision.deb822 }}"
    mode: "0644"
"""

RETURN = r"""
_value:
  description: The stanza, ending in a newline, after a comment saying who manages the file.
  type: str
"""

from ansible.errors import AnsibleFilterError

FIELD_ORDER = ["Types", "URIs", "Suites", "Components", "Architectures", "Signed-By"]


def deb822(fields):
    if not isinstance(fields, dict):
        raise AnsibleFilterError(f"deb822 expects a dict of fields, got {type(fields).__name__}")
    for required in ("Types", "URIs", "Suites"):
        if not fields.get(required):
            raise AnsibleFilterError(f"deb822: the field {required} is required")
    ordered = [key for key in FIELD_ORDER if key in fields] + sorted(k for k in fields if k not in FIELD_ORDER)
    lines = ["# Managed by gpuhost.provision (Ansible); local changes are overwritten."]
    for key in ordered:
        value = fields[key]
        if isinstance(value, (list, tuple)):
            value = " ".join(str(item) for item in value)
        if value in (None, ""):
            continue
        if "\n" in str(value):
            raise AnsibleFilterError(f"deb822: the field {key} must be a single line")
        lines.append(f"{key}: {value}")
    return "\n".join(lines) + "\n"


class FilterModule:
    def filters(self):
        return {"deb822": deb822}
