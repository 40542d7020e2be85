# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: debian_version
short_description: Whether a value is a Debian package version apt can pin
version_added: 0.1.0
author: gpuhost contributors
description:
  - True for C([epoch:]upstream[-revision]) as Debian Policy 5.6.12 defines it (the upstream version starts
    with a digit; no spaces), optionally ending in C(*) as apt's C(name=version*) allows.
  - C(v1.17.8) and C(1.17.8 -1) are not versions.
options:
  _input:
    description: The value to test.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: The toolkit version is a Debian version
  ansible.builtin.assert:
    that:
      - nvidia_container_toolkit_version is gpuhost.provision.debian_version
"""

RETURN = r"""
_value:
  description: Whether the value is such a version.
  type: bool
"""

from ansible_collections.gpuhost.provision.plugins.module_utils.formats import is_debian_version


class TestModule:
    def tests(self):
        return {"debian_version": is_debian_version}
