#!/usr/bin/python
# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: container_image
short_description: Make sure a container image is in the local Docker engine, from an archive or a registry
description:
  - Looks the image O(name) up in the local engine with the C(docker) CLI. A missing image is loaded from the
    first of O(archives) that provides it (C(docker save) files, for air-gapped sites), else pulled when
    O(pull=true); otherwise the task fails saying which sources were tried.
  - Returns the image's environment (C(Config.Env)), from which callers judge its CUDA requirements.
  - Needs only the C(docker) CLI on the host, not the Docker SDK for Python.
version_added: 0.2.0
author: gpuhost contributors (@gpuhost)
options:
  name:
    description: The image reference, e.g. C(nvidia/cuda:12.6.3-base-ubuntu24.04).
    type: str
    required: true
  archives:
    description: Image archives on the host (C(docker save) output, optionally compressed) tried in order.
    type: list
    elements: path
    default: []
  pull:
    description: Pull from the image's registry when no archive provides it.
    type: bool
    default: true
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""

EXAMPLES = r"""
- name: The CUDA image is on the host
  gpuhost.provision.container_image:
    name: nvidia/cuda:12.6.3-base-ubuntu24.04
    archives:
      - /srv/images/cuda-12.6.3-base.tar
"""

RETURN = r"""
source:
  description: Where the image came from in this run.
  type: str
  returned: success
  sample: archive
env:
  description: The image's Config.Env, a list of NAME=value (empty in check mode for an image not yet present).
  type: list
  elements: str
  returned: success
  sample: ["CUDA_VERSION=12.6.3", "NVIDIA_REQUIRE_CUDA=cuda>=12.6"]
id:
  description: The image ID, when present.
  type: str
  returned: success
  sample: sha256:0b2c...
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule


def inspect(module, name):
    rc, out, _err = module.run_command(["docker", "image", "inspect", "--format", "{{json .}}", name])
    if rc != 0:
        return None
    data = json.loads(out)
    return {"id": data.get("Id"), "env": (data.get("Config") or {}).get("Env") or []}


def main():
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "archives": {"type": "list", "elements": "path", "default": []},
            "pull": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    name = module.params["name"]
    if module.get_bin_path("docker") is None:
        module.fail_json(msg=f"the docker CLI is not on this host, so image {name} cannot be checked")
    found = inspect(module, name)
    if found:
        module.exit_json(changed=False, source="present", **found)

    tried = []
    for archive in module.params["archives"]:
        if not os.path.isfile(archive):
            tried.append(f"{archive} (no such file)")
            continue
        if module.check_mode:
            module.exit_json(changed=True, source="archive", env=[], id=None, msg=f"would load {archive}")
        rc, _out, err = module.run_command(["docker", "load", "--input", archive])
        if rc != 0:
            module.fail_json(msg=f"docker load --input {archive} failed: {err.strip()}")
        found = inspect(module, name)
        if found:
            module.exit_json(changed=True, source="archive", archive=archive, **found)
        tried.append(f"{archive} (loaded, but it holds no {name})")

    if module.params["pull"]:
        if module.check_mode:
            module.exit_json(changed=True, source="pull", env=[], id=None, msg=f"would pull {name}")
        rc, _out, err = module.run_command(["docker", "pull", name])
        if rc == 0:
            module.exit_json(changed=True, source="pull", **inspect(module, name))
        tried.append(f"docker pull ({err.strip().splitlines()[-1] if err.strip() else 'rc=' + str(rc)})")
    else:
        tried.append("no pull (pull=false)")
    module.fail_json(
        msg=(
            f"image {name} is not on this host and could not be brought: {'; '.join(tried)}. Load it with "
            "`docker load`, list its archive in the archives option, or allow pulling."
        )
    )


if __name__ == "__main__":
    main()
