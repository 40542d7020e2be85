# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: key_fingerprint
short_description: Whether a value is a full OpenPGP key fingerprint
version_added: 0.1.0
author: gpuhost contributors
description:
  - True for 40 hexadecimal digits (a v4 key; 64 for a v6 key), spaces and a C(0x) prefix allowed, as
    M(gpuhost.provision.apt_signing_key) reads it. A short key ID is not a pin.
options:
  _input:
    description: The value to test.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: The pinned fingerprint is a whole fingerprint
  ansible.builtin.assert:
    that:
      - docker_upstream_key_fingerprint is gpuhost.provision.key_fingerprint
"""

RETURN = r"""
_value:
  description: Whether the value is a full fingerprint.
  type: bool
"""

from ansible_collections.gpuhost.provision.plugins.module_utils.formats import is_key_fingerprint


class TestModule:
    def tests(self):
        return {"key_fingerprint": is_key_fingerprint}
