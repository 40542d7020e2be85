"""gpu_verify's reports land in the user's project, beside the inventory, not inside the collection.

Run as `ansible-playbook gpuhost.provision.verify`, playbook_dir is the installed collection's playbooks/
directory; the old default (playbook_dir/../reports) wrote reports into the collection. The test resolves
the role's default the way the role does, from a user's project directory.
"""

import json
import os
import subprocess

from ansible_run import ROOT, _env, cli

PLAYBOOK = """---
- name: The role's default for the fetch directory, resolved in this project
  hosts: all
  gather_facts: false
  tasks:
    - name: The gpu_verify defaults are read
      ansible.builtin.include_vars:
        file: {defaults}
    - name: The fetch directory
      ansible.builtin.debug:
        msg: "FETCH_DIR={{{{ gpu_verify_fetch_dir }}}}"
"""


def resolve(project, inventory):
    playbook = project / "show.yml"
    playbook.write_text(PLAYBOOK.format(defaults=json.dumps(os.path.join(ROOT, "roles/gpu_verify/defaults/main.yml"))))
    env = _env(ANSIBLE_CONFIG=os.path.join(ROOT, "tests", "integration", "ansible.cfg"), PWD=str(project))
    proc = subprocess.run(
        [cli("ansible-playbook"), "-i", inventory, "-c", "local", str(playbook)],
        capture_output=True,
        text=True,
        check=False,
        cwd=project,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.split("FETCH_DIR=", 1)[1].split('"')[0].strip()


def test_reports_go_beside_the_users_inventory(tmp_path):
    inventory = tmp_path / "inventories" / "gpu" / "hosts.yml"
    inventory.parent.mkdir(parents=True)
    inventory.write_text("all:\n  hosts:\n    localhost:\n      ansible_python_interpreter: python3\n")
    fetch_dir = resolve(tmp_path, str(inventory))
    assert os.path.normpath(fetch_dir) == str(inventory.parent / "reports")
    assert not fetch_dir.startswith(ROOT)


def test_an_inventory_that_is_no_file_puts_reports_in_the_working_directory(tmp_path):
    fetch_dir = resolve(tmp_path, "localhost,")
    assert os.path.normpath(fetch_dir) == str(tmp_path / "reports")
