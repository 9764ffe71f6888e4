# PocketStack: the two commands.
#   make run   install what is missing and start the whole stack
#   make test  install what is missing and run the whole test suite
# Both run as root on Debian 12; see README.md.

PYTHON    ?= python3
VENV      := .venv
CLIENTS   := .venv-clients
ANSIBLE   := .venv-ansible
STATE_DIR ?= /var/lib/pocketstack
# Two workers by default (the suite's heavy tests boot real VMs under TCG).
TEST_WORKERS ?= 2
PYTEST_ARGS  ?=

.PHONY: run test lint types unit slow down status install system-packages test-packages bytecode \
	contract-sources clean compare lab-vm-check fuzz kill-matrix

run: install
	$(VENV)/bin/pocketstack --state-dir $(STATE_DIR) up

down:
	$(VENV)/bin/pocketstack --state-dir $(STATE_DIR) down

status:
	$(VENV)/bin/pocketstack --state-dir $(STATE_DIR) status

# The image API tests run twice: once with imaged-api on its own database,
# once with its metadata behind imaged-registry (data_api = registry).
IMAGE_API_TESTS := tests/api/test_images_*.py tests/compat/test_image_client.py

# The fast lane first (seconds, no root, no daemons): a broken import, a type
# error or a failing unit test shows before any stack starts.
test: install lint types unit slow

# ruff: style, imports, bugbear, pyupgrade, simplifications (pyproject.toml).
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

# mypy over the product code (the packages listed in pyproject.toml).
types: $(VENV)/.installed
	$(VENV)/bin/mypy

unit: $(VENV)/.installed
	$(VENV)/bin/python -m pytest -q -n $(TEST_WORKERS) $(PYTEST_ARGS) tests/unit

# Everything else: real daemons, real clients, real QEMU and tgtd.
# The stacks' state directories go under a short TEST_TMP: a guest's serial
# port is a unix socket in its instance directory, and a socket's path may
# not exceed 107 bytes (pytest's own temporary paths come close to it).
TEST_TMP ?= /tmp/pst
slow: install test-packages $(ANSIBLE)/.installed contract-sources
	$(VENV)/bin/python -m pytest -n $(TEST_WORKERS) --dist loadfile --basetemp=$(TEST_TMP) \
		$(PYTEST_ARGS) --ignore=tests/unit --ignore=tests/killmatrix tests
	POCKETSTACK_TEST_DATA_API=registry $(VENV)/bin/python -m pytest -n $(TEST_WORKERS) \
		--dist loadfile --basetemp=$(TEST_TMP) $(PYTEST_ARGS) $(IMAGE_API_TESTS)

install: system-packages $(VENV)/.installed $(CLIENTS)/.installed bytecode

# The project's own modules compiled ahead, as a distribution's package is:
# an editable install leaves them to be compiled at first import, and where
# PYTHONDONTWRITEBYTECODE is set, at every import of every start (half a
# second of `pocketstack up`). compileall redoes only what changed.
PACKAGES := computed dashboard identity imaged labs networkd pocketstack shared volumed
bytecode: $(VENV)/.installed
	@$(VENV)/bin/python -m compileall -q -j 0 $(PACKAGES) >/dev/null

system-packages:
	@sh labs/host/install-packages.sh

# The test packages include Ceph; its Python bindings (Debian's, built for
# the system Python) are then linked into the project's virtualenv.
test-packages: $(VENV)/.installed
	@sh labs/host/install-packages.sh --test
	@sh labs/host/link-ceph-bindings.sh $(VENV)

# Nova's and Cinder's source distributions from PyPI (their API samples and
# JSON schemas), for the contract tests (tests/contract/), in .cache/.
contract-sources: $(VENV)/.installed
	$(VENV)/bin/python -m tests.contract.sources

# The project and its test tools, in a virtualenv of its own.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	sh labs/host/link-ceph-bindings.sh $(VENV)
	touch $@

# The real, unmodified OpenStack clients from PyPI, in their own virtualenv
# so that nothing of the project's can change what they do.
$(CLIENTS)/.installed: tests/clients-requirements.txt
	$(PYTHON) -m venv $(CLIENTS)
	$(CLIENTS)/bin/pip install --quiet --upgrade pip
	$(CLIENTS)/bin/pip install --quiet -r tests/clients-requirements.txt
	touch $@

# Ansible and its openstack.cloud collection, for the playbook test.
$(ANSIBLE)/.installed: tests/ansible-requirements.txt
	$(PYTHON) -m venv $(ANSIBLE)
	$(ANSIBLE)/bin/pip install --quiet --upgrade pip
	$(ANSIBLE)/bin/pip install --quiet -r tests/ansible-requirements.txt
	touch $@

# Schemathesis against every API of a stack of its own, from each service's
# OpenAPI document (GET /openapi.json), with more test cases per operation
# than the run in `make test` (tests/fuzz/, 10): no 5xx, every answer as its
# document says; prints the counts per service.
FUZZ_EXAMPLES ?= 100
fuzz: install
	POCKETSTACK_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(VENV)/bin/python -m pytest \
		--basetemp=$(TEST_TMP) $(PYTEST_ARGS) tests/fuzz

# The same requests to imaged and identity and to the real Glance 33 and
# Keystone 30 (installed from PyPI into .venv-openstack/ when missing), and the
# differences; the ones kept on purpose are in imaged/ and identity/
# compare-kept.toml. Not part of `make test`: it installs OpenStack.
compare: install
	$(VENV)/bin/python -m tests.compare $(COMPARE_ARGS)

# The Vagrant lab VM proven: a Debian 12 box built from Debian packages (kept
# in LAB_VM_CACHE), a real `vagrant up --provider=libvirt` in a network
# namespace of its own, whose only way out is a caching package proxy, then
# `make status` and one server inside the VM, and `vagrant destroy`; prints
# each phase's duration as JSON. Not part of `make test`: it takes about an
# hour where the VM runs under TCG.
LAB_VM_CACHE ?= .cache/lab-vm
lab-vm-check:
	sh labs/vagrant/lab-vm-check.sh $(LAB_VM_CACHE)

# kill -9 anywhere: every flow (upload, import, launch, attach, detach,
# snapshot, backup, terminate, floating IP) held at each of its steps while
# one daemon of the stack (identity, imaged, volumed, computed, networkd,
# tgtd, libvirtd, dnsmasq) is killed with SIGKILL, then `pocketstack up`: no
# resource left transient, the flow done or cleanly undone, no orphan
# (tests/killmatrix/). Prints its counts by flow and daemon. Not part of
# `make test`: over 300 cases, many booting a guest under TCG (hours on 2
# cores). A slice: make kill-matrix KILL_MATRIX_ARGS='-k "launch and computed"'.
# libvirtd is the machine's: where other stacks run guests, add -k "not libvirtd".
KILL_MATRIX_ARGS ?=
kill-matrix: install test-packages
	$(VENV)/bin/python -m pytest -p no:cacheprovider --basetemp=$(TEST_TMP)-kill \
		$(KILL_MATRIX_ARGS) tests/killmatrix

clean:
	rm -rf $(VENV) $(CLIENTS) $(ANSIBLE) .venv-openstack *.egg-info
