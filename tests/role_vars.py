"""A role's derived variables (its vars/main.yml), templated by Ansible itself with the inputs a test gives."""

from __future__ import annotations

import os

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from ansible_run import ROOT


def templated(role: str, name: str, **variables):
    with open(os.path.join(ROOT, "roles", role, "vars", "main.yml"), encoding="utf-8") as handle:
        role_vars = yaml.safe_load(handle)
    # Role vars refer to each other: hand Ansible all of them, as untemplated (trusted) strings.
    trusted = {k: trust_as_template(v) if isinstance(v, str) else v for k, v in role_vars.items()}
    templar = Templar(loader=DataLoader(), variables={**trusted, **variables})
    return templar.template(trusted[name])
