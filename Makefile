# dockyard.discovery: the two commands are `make lab` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Two ansible-core releases are tested, the ends of requires_ansible in meta/runtime.yml: the oldest
# kept (CORE=oldest, the default: .venv on Python 3.11) and the newest (CORE=newest: .venv-newest on
# Python 3.13, which ansible-core 2.21's controller needs). `make test` runs both.
CORE ?= oldest
ifeq ($(CORE),newest)
VENV := $(CURDIR)/.venv-newest
VENV_PYTHON := $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) $(shell command -v python3.13))
REQUIREMENTS := requirements-newest.txt
CONSTRAINTS := constraints-newest.txt
SANITY_PYTHON := 3.13
RUN_SUFFIX := -newest
else ifeq ($(CORE),oldest)
VENV := $(CURDIR)/.venv
VENV_PYTHON := $(shell command -v python3)
REQUIREMENTS := requirements.txt
CONSTRAINTS := constraints.txt
SANITY_PYTHON := 3.11
RUN_SUFFIX :=
else
$(error CORE must be oldest or newest, not $(CORE))
endif
# lab/run.sh and lab/molecule-scenarios.sh use this venv and tell their logs apart by the suffix.
export DOCKYARD_VENV := $(VENV)
export DOCKYARD_LOG_SUFFIX := $(RUN_SUFFIX)
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
# ansible finds this checkout as dockyard.discovery through a symlinked collections tree.
COLLECTIONS := $(CURDIR)/build/collections
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/dockyard/discovery
# ansible-test needs a real directory named ansible_collections/dockyard/discovery.
SANITY_TREE := $(CURDIR)/build/sanity$(RUN_SUFFIX)/ansible_collections/dockyard/discovery
SCENARIOS ?= default single secure
# How many scenarios run side by side. On 2 cores one at a time is faster (21 min against 26):
# Ansible is CPU-bound. Raise it on bigger machines.
export MOLECULE_JOBS ?= 1

export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PATH := $(BIN):$(PATH)

.PHONY: help
help:
	@echo "make lab        build the toolchain and run playbooks/site.yml on the three-node lab"
	@echo "make lab-down   remove every container, network and volume the lab made"
	@echo "make test       every test: lint, sanity, unit, smoke, integration, package, molecule; then"
	@echo "                sanity, unit, integration and one scenario again on the newest ansible-core"
	@echo "make package    build the Python package (build/dist) and test it"
	@echo "make bench      benchmarks (prints tables)"
	@echo "make bench-scale  the scale benchmark alone, on the converged lab (make lab first)"

# --- environment ---------------------------------------------------------------------------
$(VENV)/.stamp: $(REQUIREMENTS) $(CONSTRAINTS)
	@[ -n "$(VENV_PYTHON)" ] || { echo "[lab] ERROR: no Python for the $(CORE) ansible-core ($(REQUIREMENTS)); next: apt-get install python3 python3-venv, or pyenv install 3.13 for CORE=newest"; exit 1; }
	$(VENV_PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r $(REQUIREMENTS) -c $(CONSTRAINTS)
	touch $@

.PHONY: venv
venv: $(VENV)/.stamp $(COLLECTION_LINK)

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn $(CURDIR) $@

# The previous releases (the secure scenario's upgrade test starts from them) only where tests
# run: `make lab` leaves them out (DOCKYARD_PREVIOUS_RELEASES=0), which saves their compile.
.PHONY: toolchain
toolchain:
	lab/ensure-docker.sh
	lab/build-binaries.sh

.PHONY: images
images: toolchain
	lab/build-images.sh

# --- the lab -------------------------------------------------------------------------------
.PHONY: lab
lab: export DOCKYARD_PREVIOUS_RELEASES ?= 0
lab: export DOCKYARD_TEST_TOOLS ?= 0
lab: venv images
	lab/run.sh molecule converge -s default
	lab/run.sh molecule side-effect -s default

.PHONY: lab-down
lab-down: venv
	lab/run.sh molecule destroy -s default
	lab/down.sh

# --- tests ---------------------------------------------------------------------------------
# The unit and integration tests run on this many pytest workers, a test file per worker: each
# integration test drives the ansible CLI and keeps one core busy, so 2 workers nearly halve them
# on 2 cores (272 s -> 150 s for one integration run). Every Consul agent they start has its own
# ports and data dir; the tests that use the controller's Docker live in one file.
PYTEST_WORKERS ?= 2
PYTEST_PARALLEL := -n $(PYTEST_WORKERS) --dist loadfile
.PHONY: test
test: static unit smoke integration package test-scenarios test-newest

# make test runs each scenario once: default and secure on the oldest ansible-core, single (seed 1's
# one-node datacenter) on the newest, in test-newest. The roles are the same code on both cores; a
# second single run on the oldest one cost about 4 minutes of the 45-minute budget.
.PHONY: test-scenarios
test-scenarios:
	$(MAKE) molecule SCENARIOS="default secure"

# Lint and sanity side by side: each keeps about one core busy, and neither needs the other.
.PHONY: static
static:
	$(MAKE) -j2 --output-sync=target lint sanity

# The newest ansible-core (CORE=newest): sanity, unit and integration tests and one Molecule
# scenario. Lint and the package test do not depend on ansible-core and run once.
.PHONY: test-newest
test-newest:
	$(MAKE) CORE=newest -j2 --output-sync=target sanity unit
	$(MAKE) CORE=newest integration molecule SCENARIOS=single

.PHONY: lint
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/ansible-lint --profile production
	@if grep -Hn . tests/sanity/ignore-*.txt; then \
	  echo "[lab] ERROR: the tests/sanity ignore files stay empty; fix the finding instead"; exit 1; fi
	$(BIN)/antsibull-changelog lint
	@mkdir -p build && $(BIN)/antsibull-changelog generate --output build/CHANGELOG.generated.md && \
	  cmp -s build/CHANGELOG.generated.md CHANGELOG.md || { \
	  echo "[lab] ERROR: CHANGELOG.md is not what changelogs/ generates; next: antsibull-changelog generate"; exit 1; }

.PHONY: sanity
sanity: venv
	rm -rf $(SANITY_TREE) && mkdir -p $(SANITY_TREE)
	git ls-files -co --exclude-standard -z | xargs -0 -I{} find {} -maxdepth 0 -type f -print0 \
	  | tar --null -T - -cf - | tar -C $(SANITY_TREE) -xf -
	@pip_version=$$(sed -n "s/^ *pip='\\(.*\\)',$$/\\1/p" $(VENV)/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py | head -n1); \
	  shim=$$HOME/.ansible/test/cache/get_pip_$${pip_version//./_}.py; \
	  [ -f $$shim ] || install -D -m 0644 lab/ansible-test-get-pip.py $$shim
	cd $(SANITY_TREE) && git init -q && git add -A && \
	  $(BIN)/ansible-test sanity --python $(SANITY_PYTHON) --requirements --color no

# The same tests also run on py-consul, python-consul2's maintained fork (same `consul` module):
# 1.5.5 is Debian 13's python3-consul, 1.8.0 the newest on PyPI.
PY_CONSUL_VERSIONS := 1.5.5 1.8.0

build/py-consul-%/consul:
	$(BIN)/pip install -q --no-deps --target build/py-consul-$* py-consul==$*

# The oldest ansible-core runs the unit tests on every client package, the newest on python-consul2.
ifeq ($(CORE),newest)
UNIT_PY_CONSUL_VERSIONS ?=
else
UNIT_PY_CONSUL_VERSIONS ?= $(PY_CONSUL_VERSIONS)
endif

.PHONY: unit
unit: venv $(PY_CONSUL_VERSIONS:%=build/py-consul-%/consul)
	$(BIN)/pytest -q $(PYTEST_PARALLEL) tests/unit
	for version in $(UNIT_PY_CONSUL_VERSIONS); do \
	  DOCKYARD_CONSUL_PACKAGE=py-consul DOCKYARD_CONSUL_VERSION=$$version PYTHONPATH=$(CURDIR)/build/py-consul-$$version $(BIN)/pytest -q $(PYTEST_PARALLEL) tests/unit || exit 1; \
	done

.PHONY: smoke
smoke: venv images
	lab/run.sh pytest -q tests/smoke

# One client package after the other: the registrator_reconcile tests use the controller's Docker
# and would see each other's containers if two runs went side by side.
# Each ansible-core runs the whole suite, and each client package runs it once, split across the
# two: python-consul2 and Debian 13's py-consul (1.5.5) on the oldest ansible-core, the newest
# py-consul on the newest (what a new controller gets). The ACL, token, keyring and session modules
# reach Consul only through ConsulClient._raw, on the collection's own transport, never through the
# consul package's API: py-consul 1.5.5 skips their tests here, and runs those modules on the secure
# scenario's hosts, where the consul role does its ACL, token and keyring work with them.
RAW_API_TESTS := test_acl_modules test_agent_token_keyring test_acl_role test_auth_method test_binding_rule test_session
PY_CONSUL_NEWEST := $(lastword $(PY_CONSUL_VERSIONS))
ifeq ($(CORE),newest)
INTEGRATION_PACKAGES ?= py-consul-$(PY_CONSUL_NEWEST)
else
INTEGRATION_PACKAGES ?= python-consul2 py-consul-1.5.5
endif

.PHONY: integration
integration: venv toolchain $(PY_CONSUL_VERSIONS:%=build/py-consul-%/consul)
	for package in $(INTEGRATION_PACKAGES); do \
	  if [ $$package = python-consul2 ]; then $(BIN)/pytest -q $(PYTEST_PARALLEL) tests/integration || exit 1; continue; fi; \
	  version=$${package#py-consul-}; \
	  ignore=; [ $$version = $(PY_CONSUL_NEWEST) ] || ignore="$(RAW_API_TESTS:%=--ignore=tests/integration/%.py)"; \
	  DOCKYARD_CONSUL_PACKAGE=py-consul DOCKYARD_CONSUL_VERSION=$$version PYTHONPATH=$(CURDIR)/build/py-consul-$$version \
	    $(BIN)/pytest -q $(PYTEST_PARALLEL) $$ignore tests/integration || exit 1; \
	done

# The Python package (pyproject.toml): tests/package builds its sdist and wheel into build/dist,
# installs the wheel into fresh venvs of Python 3.11 and 3.13 and runs the documented example and the
# command against a real Consul agent; and installs the collection tarball as the README says.
.PHONY: package
package: venv toolchain
	$(BIN)/pytest -q tests/package

.PHONY: molecule
molecule: venv images
	lab/molecule-scenarios.sh $(SCENARIOS)

.PHONY: bench
bench: venv images
	lab/run.sh python bench/catalog_lookups.py
	lab/run.sh python bench/lab_latency.py
	lab/run.sh python bench/resilience.py
	$(MAKE) bench-scale

# Issue 13's scale benchmark on the converged lab (make lab; lab_latency.py leaves it converged):
# 2,000 backends in one upstream, 50 upstreams, lookups of 10,000 instances over 200 nodes.
.PHONY: bench-scale
bench-scale: venv
	lab/run.sh python bench/scale.py
