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

import time
from urllib.parse import unquote, urlsplit

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import fetch_url
from ansible_collections.gpuhost.provision.plugins.module_utils.files import write_atomic
from ansible_collections.gpuhost.provision.plugins.module_utils.openpgp import (
    OpenPGPError,
    normalize_fingerprint,
    primary_fingerprints,
    select_key,
)


def read_keyring(path):
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        return data, primary_fingerprints(data)
    except (OSError, OpenPGPError):
        return None, []


def _fetch_error(info):
    """Why one try failed. fetch_url's msg reads "OK (n bytes)" on responses that are not 200: never show it."""
    status, msg = info.get("status"), info.get("msg") or ""
    if msg and not msg.startswith("OK"):
        return msg
    return f"HTTP status {status}"


def download(module, url):
    params = module.params
    parts = urlsplit(url)
    if parts.scheme == "file":
        # fetch_url answers file:// with status None, so it is read here: a path on the managed host.
        path = unquote(parts.path)
        try:
            with open(path, "rb") as handle:
                return handle.read()
        except OSError as exc:
            module.fail_json(msg=f"could not read the apt signing key {path} (from {url}): {exc.strerror}", url=url)
    error = ""
    for attempt in range(params["retries"] + 1):
        if attempt:
            time.sleep(params["delay"])
        response, info = fetch_url(module, url, timeout=params["timeout"])
        if info["status"] == 200 and response is not None:
            return response.read()
        error = _fetch_error(info)
    module.fail_json(
        msg=f"could not download the apt signing key from {url} after {params['retries'] + 1} tries: {error}",
        url=url,
    )


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
    url, dest = module.params["url"], module.params["dest"]
    try:
        wanted = normalize_fingerprint(module.params["fingerprint"])
    except OpenPGPError as exc:
        module.fail_json(msg=f"fingerprint: {exc}")

    current, current_fprs = read_keyring(dest)
    if wanted in current_fprs and not module.params["force"]:
        # The pinned key is there already: no download (a converged host needs no network), but any other
        # key beside it is dropped.
        keyring = select_key(current, wanted)
    else:
        data = download(module, url)
        try:
            found = primary_fingerprints(data)
        except OpenPGPError as exc:
            module.fail_json(msg=f"the file at {url} is not an OpenPGP public key: {exc}", url=url)
        if wanted not in found:
            module.fail_json(
                msg=(
                    f"the key at {url} has fingerprint {', '.join(found)}, expected {wanted}: refusing to "
                    "trust it. If the repository rotated its key, check the new fingerprint with its "
                    "publisher and update the pinned value."
                ),
                url=url,
                found=found,
                expected=wanted,
            )
        keyring = select_key(data, wanted)
    found = [wanted]

    changed = keyring != current
    result = {
        "changed": changed,
        "fingerprints": found,
        "diff": {
            "before": "\n".join(current_fprs) + "\n",
            "after": "\n".join(found) + "\n",
            "before_header": dest,
            "after_header": dest,
        },
    }
    if changed and not module.check_mode:
        write_atomic(module, dest, keyring)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
