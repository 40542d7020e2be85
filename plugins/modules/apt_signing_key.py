#!/usr/bin/python
# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: apt_signing_key
short_description: Install an apt repository's signing key as a keyring, after checking its fingerprint
description:
  - Downloads the OpenPGP key at O(url), checks that it holds the primary key O(fingerprint), and writes
    only that key (its user IDs, subkeys and signatures) dearmored to O(dest), the keyring an apt source
    names with C(signed-by).
  - apt trusts every key in a C(signed-by) keyring, so any other key in the downloaded file is dropped, and
    an existing O(dest) holding other keys beside the pinned one is rewritten to the pinned key alone.
  - A key whose fingerprint differs fails the task with both fingerprints and the URL; nothing is written.
  - The target host needs no gpg, the key is parsed in Python.
  - When O(dest) already holds the pinned key and O(force=false), nothing is downloaded, so a converged
    host needs no network for this step.
version_added: 0.1.0
author: gpuhost contributors (@gpuhost)
options:
  url:
    description:
      - Where the key is published (ASCII-armored or binary), C(https://), C(http://) or C(file://).
      - A C(file://) URL names a file on the managed host (air-gapped sites copy the key there first).
    type: str
    required: true
  fingerprint:
    description: The primary key fingerprint that must be found, spaces allowed.
    type: str
    required: true
  dest:
    description: The keyring file to write, e.g. C(/etc/apt/keyrings/docker.gpg).
    type: path
    required: true
  force:
    description: Download and compare even when O(dest) already holds the pinned key.
    type: bool
    default: false
  retries:
    description: How many times a failed download is tried again before the task fails.
    type: int
    default: 3
  delay:
    description: Seconds between download tries.
    type: int
    default: 3
  timeout:
    description: Seconds one download may take.
    type: int
    default: 30
  validate_certs:
    description: Check the server's TLS certificate.
    type: bool
    default: true
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
"""

EXAMPLES = r"""
- name: Docker's apt key is in /etc/apt/keyrings
  gpuhost.provision.apt_signing_key:
    url: https://download.docker.com/linux/ubuntu/gpg
    fingerprint: 9DC8 5822 9FC7 DD38 854A E2D8 8D81 803C 0EBF CD88
    dest: /etc/apt/keyrings/docker.gpg
"""

RETURN = r"""
fingerprints:
  description: Primary key fingerprints held by O(dest) after the task (only the pinned one).
  type: list
  elements: str
  returned: success
  sample: ["9DC858229FC7DD38854AE2D88D81803C0EBFCD88"]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpuhost.provision.plugins.module_utils.signing_key import put_keyring


def main():
    module = AnsibleModule(
        argument_spec={
            "url": {"type": "str", "required": True},
            "fingerprint": {"type": "str", "required": True},
            "dest": {"type": "path", "required": True},
            "force": {"type": "bool", "default": False},
            "retries": {"type": "int", "default": 3},
            "delay": {"type": "int", "default": 3},
            "timeout": {"type": "int", "default": 30},
            "validate_certs": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    result = put_keyring(
        module,
        params["url"],
        params["fingerprint"],
        params["dest"],
        force=params["force"],
        retries=params["retries"],
        delay=params["delay"],
        timeout=params["timeout"],
    )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
