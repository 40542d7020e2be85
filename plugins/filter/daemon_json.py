# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: daemon_json_would_change
short_description: Whether gpuhost.provision.docker_daemon_json would change daemon.json as a probe read it
version_added: 0.1.0
author: gpuhost contributors
description:
  - Takes the line a role's read-only probe printed for daemon.json, C(daemon.json BASE64) (the file's bytes) or
    C(daemon.json -) (no file), and merges the options as the module would (the same functions,
    C(plugins/module_utils/daemon_json.py)).
  - Returns false only where the module would find nothing to change; true where it would, and where the probe
    line is missing or the file is not one the module can read (the module then runs and says why).
positional: ""
options:
  _input:
    description: The probe's line for daemon.json, or an empty string where there is none.
    type: str
    required: true
  settings:
    description: As the module's O(gpuhost.provision.docker_daemon_json#module:settings).
    type: dict
    default: {}
  defaults:
    description: As the module's O(gpuhost.provision.docker_daemon_json#module:defaults).
    type: dict
    default: {}
  replace:
    description: As the module's O(gpuhost.provision.docker_daemon_json#module:replace).
    type: list
    elements: str
    default: []
  remove_matching:
    description: As the module's O(gpuhost.provision.docker_daemon_json#module:remove_matching).
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Docker's daemon.json holds the role's keys
  gpuhost.provision.docker_daemon_json:
    settings: "{{ wanted }}"
  when: probe.stdout_lines | select('match', '^daemon.json ') | first | default('')
        | gpuhost.provision.daemon_json_would_change(settings=wanted)
"""

RETURN = r"""
_value:
  description: False where the module would leave the file as it is.
  type: bool
"""

import base64
import binascii

from ansible_collections.gpuhost.provision.plugins.module_utils.daemon_json import (
    DaemonJsonError,
    apply,
    parse,
    would_change,
)

PREFIX = "daemon.json "


def daemon_json_would_change(probe_line, settings=None, defaults=None, replace=None, remove_matching=None):
    if not isinstance(probe_line, str) or not probe_line.startswith(PREFIX):
        return True
    encoded = probe_line[len(PREFIX) :].strip()
    exists = encoded != "-"
    try:
        current = parse(base64.b64decode(encoded, validate=True).decode("utf-8")) if exists else {}
    except (binascii.Error, UnicodeDecodeError, DaemonJsonError):
        return True
    config = apply(current, settings or {}, defaults or {}, replace or [], remove_matching or {})
    return would_change(current, config, exists)


class FilterModule:
    def filters(self):
        return {"daemon_json_would_change": daemon_json_would_change}
