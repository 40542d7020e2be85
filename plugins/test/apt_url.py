# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: apt_url
short_description: Whether a value is a URL an apt source or key download can use
version_added: 0.1.0
author: gpuhost contributors
description:
  - True for an C(http://) or C(https://) URL with a host, or a C(file://) URL with an absolute path, with
    no whitespace. The roles check their repository and key URLs with it before any change.
options:
  _input:
    description: The value to test.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Docker's repository URL is a URL
  ansible.builtin.assert:
    that:
      - docker_upstream_repo_url is gpuhost.provision.apt_url
"""

RETURN = r"""
_value:
  description: Whether the value is such a URL.
  type: bool
"""

from ansible_collections.gpuhost.provision.plugins.module_utils.formats import is_apt_url


class TestModule:
    def tests(self):
        return {"apt_url": is_apt_url}
