"""Make the collection importable as ansible_collections.gpuhost.provision (make setup links it)."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".collections")
if not os.path.isdir(os.path.join(COLLECTIONS, "ansible_collections", "gpuhost", "provision")):
    raise RuntimeError("run `make setup` first: it links this repo into .collections as gpuhost.provision")
sys.path.insert(0, COLLECTIONS)
# tests/ansible_run.py: the helpers that drive the Ansible CLI.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
