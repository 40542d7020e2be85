# gpuhost.provision — `make run` provisions the default target, `make test` runs every test.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# Leave empty to provision the disposable local sandbox host; set to an inventory to provision real hosts.
INVENTORY ?=
PLAYBOOK ?= playbooks/site.yml
ARGS ?=
SCENARIOS ?= $(sort $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml))))

# The smoke test's CPU tests need PyTorch; 2.13.0 is the tested version (a CPU build where one is on disk).
TORCH_SPEC ?= torch==2.13.0

.PHONY: prereqs torch setup run sandbox sandbox-down test lint sanity changelog ee unit molecule gpu-test image clean

$(BIN)/ansible-playbook: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml","rb"))["dependency-groups"]["test"]))' > $(VENV)/requirements.txt
	$(BIN)/pip install -q -r $(VENV)/requirements.txt
	touch $@

.collections/ansible_collections/gpuhost/provision:
	mkdir -p $(@D)
	ln -sfn ../../.. $@

# What run and test need on this machine, for a newcomer as for CI (.ci/run): Python 3.11+, venv, Docker
# answering, debootstrap, gnupg, dpkg-deb, busybox-static. As root it installs and starts what is missing;
# otherwise it says what to run as root. Against real hosts (INVENTORY=...) only Python is needed.
prereqs:
	PYTHON=$(PYTHON) NEED_DOCKER=$(if $(INVENTORY),0,1) tools/host_prereqs.sh

setup: $(BIN)/ansible-playbook .collections/ansible_collections/gpuhost/provision  ## virtualenv + collection link

image: setup  ## the sandbox/test host images (cached): bookworm, trixie (toolkit_trixie), the Ubuntu stand-ins (driver_ubuntu_*)
	$(BIN)/python tools/sandbox_image.py
	$(BIN)/python tools/sandbox_image.py --suite trixie
	$(BIN)/python tools/sandbox_image.py --suite noble-standin
	$(BIN)/python tools/sandbox_image.py --suite jammy-standin

sandbox: image  ## start the disposable sandbox host
	$(BIN)/python tools/sandbox.py up

sandbox-down: setup
	$(BIN)/python tools/sandbox.py down

run: prereqs setup  ## provision: the sandbox by default, INVENTORY=... for real hosts
ifeq ($(INVENTORY),)
	$(MAKE) sandbox
	$(BIN)/ansible-playbook -i inventories/sandbox/hosts.yml $(PLAYBOOK) $(ARGS)
else
	$(BIN)/ansible-playbook -i $(INVENTORY) $(PLAYBOOK) $(ARGS)
endif

lint: setup
	$(BIN)/yamllint -s .
	$(BIN)/ruff check .
	$(BIN)/ansible-lint
	$(BIN)/antsibull-changelog lint

# ansible-test sanity with --venv and Python $(SANITY_PYTHON), on a copy of the collection under
# .cache/sanity/ansible_collections/gpuhost/provision (tools/sanity.py says why and how).
SANITY_PYTHON ?= 3.11
sanity: setup
	SANITY_PYTHON=$(SANITY_PYTHON) $(BIN)/python tools/sanity.py

# CHANGELOG.md from changelogs/ (released versions; fragments join at `antsibull-changelog release`).
changelog: setup
	$(BIN)/antsibull-changelog generate

# The execution environment's build context in dist/ee (no image: `ansible-builder build` where a registry is).
ee: setup
	rm -f dist/gpuhost-provision-*.tar.gz
	$(BIN)/ansible-galaxy collection build --output-path dist .
	$(BIN)/ansible-builder create -f execution-environment.yml --context dist/ee --output-filename Containerfile

torch: setup
	$(BIN)/python -c 'import torch' 2>/dev/null || $(BIN)/pip install -q '$(TORCH_SPEC)'

unit: torch
	$(BIN)/pytest tests/unit tests/integration tests/gpu

molecule: image
	for s in $(SCENARIOS); do echo "=== molecule test -s $$s"; $(BIN)/molecule test -s $$s || exit 1; done

# No `setup` here: a GPU host may have no PyPI; it needs ansible-core and pytest on PATH (or make setup first).
gpu-test: .collections/ansible_collections/gpuhost/provision  ## on a GPU host, as root: the GPU checks for real
	python3 -m pytest -m gpu tests/gpu

test: prereqs lint unit sanity molecule  ## everything: lint, pytest, ansible-test sanity, every Molecule scenario

clean: sandbox-down
	rm -rf $(VENV) .collections .cache dist
