#!/usr/bin/python
# Copyright: gpuhost contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: fleet_report
short_description: One table for all hosts, in Markdown, JSON and JUnit XML, written on the controller
description:
  - Takes one row per host (from M(gpuhost.provision.gpu_verify_report)'s report or the doctor's, through the
    P(gpuhost.provision.fleet_row#filter) filter) and writes C(<name>-fleet.md), C(<name>-fleet.json) and
    C(<name>-fleet.junit.xml) in O(dest) on the controller.
  - The JUnit file has a testsuite per host and a testcase per check; a check with status C(error) is a
    failure, C(skipped) is skipped, a C(warning) passes with its message in the testcase's system-out.
  - An action plugin, run on the controller whatever the task's host. It reports C(changed=false) and
    writes in check mode too, as the report is the controller's output, not host state. Run it with C(run_once).
version_added: 0.3.0
author: gpuhost contributors (@gpuhost)
options:
  name:
    description: The report's name and the files' prefix (C(verify), C(site), C(doctor)).
    type: str
    required: true
  title:
    description: The Markdown file's heading; by default the name, then C(fleet report) and the time.
    type: str
  dest:
    description: The directory on the controller the three files are written to (created if missing).
    type: path
    required: true
  rows:
    description:
      - One dict per host. C(host) is required; C(gpu_model), C(gpu_count), C(driver), C(toolkit),
        C(figures) (a dict or a string), C(reboot_pending) and C(report) (the per-host report's path) are columns.
      - C(checks) is a list of dicts with C(name), C(status) (C(ok), C(warning), C(error), C(skipped)) and
        C(message). C(verdict) (C(pass), C(warn), C(fail)) defaults to the worst check's.
    type: list
    elements: dict
    required: true
  hosts:
    description: Every host the report should list; one without a row gets a failing row that says it never reported.
    type: list
    elements: str
    default: []
  missing_message:
    description: The message of such a row.
    type: str
    default: "no report: the host failed or was unreachable before it reported"
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""

EXAMPLES = r"""
- name: The fleet report is written beside the inventory
  gpuhost.provision.fleet_report:
    name: verify
    dest: "{{ inventory_dir }}/reports"
    hosts: "{{ ansible_play_hosts_all }}"
    rows: "{{ ansible_play_hosts_all | map('extract', hostvars) | map('gpuhost.provision.fleet_row', 'gpu_verify') }}"
  run_once: true
"""

RETURN = r"""
rows:
  description: The rows as written, sorted by host, every column present.
  type: list
  elements: dict
  returned: always
totals:
  description: Hosts per verdict (C(pass), C(warn), C(fail)) and checks per status.
  type: dict
  returned: always
  sample: {"hosts": 2, "pass": 1, "warn": 0, "fail": 1, "ok": 9, "warning": 0, "error": 1, "skipped": 0}
summary:
  description: A line per host (and one per error or warning) for the end of the play.
  type: list
  elements: str
  returned: always
markdown:
  description: The Markdown file's path.
  type: str
  returned: always
  sample: /home/me/project/inventories/gpu/reports/verify-fleet.md
json:
  description: The JSON file's path.
  type: str
  returned: always
junit:
  description: The JUnit XML file's path.
  type: str
  returned: always
"""
