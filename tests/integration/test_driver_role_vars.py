"""The nvidia_driver role's derived variables (vars/main.yml), templated by Ansible for local facts the test
hosts do not have."""

from __future__ import annotations

import functools

from role_vars import templated as role_var

templated = functools.partial(role_var, "nvidia_driver")


def test_the_earlier_record_comes_from_the_gathered_local_facts():
    record = {"reboot_pending": True, "installed": "535.247.01", "rebooted_for": "535.247.01"}
    facts = {"ansible_local": {"gpuhost_nvidia_driver": record, "other": {"a": 1}}}
    assert templated("__nvidia_driver_gathered_record", ansible_facts=facts) == record
    # No record yet: none, which reboot.yml reads as an empty one.
    assert templated("__nvidia_driver_gathered_record", ansible_facts={"ansible_local": {}}) == {}
    # A file that is not JSON arrives as Ansible's error string: not a mapping, so not trusted as a record.
    broken = {"ansible_local": {"gpuhost_nvidia_driver": "error loading facts as JSON or ini - please check content"}}
    assert isinstance(templated("__nvidia_driver_gathered_record", ansible_facts=broken), str)
