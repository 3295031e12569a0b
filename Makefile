# The two front doors: `make run` (local service) and `make test` (everything CI runs).
# Both install what they need on a fresh clone with nothing but Python >= 3.11.

SHELL := /bin/bash
SAM_CLI_VERSION := 1.170.0
VENV := .venv
TOOLS := .tools
SAM := $(TOOLS)/sam/bin/sam

# The Lambda runtime is python3.13: prefer that interpreter (pyenv keeps it outside PATH), else
# the newest Python >= 3.11 there is.
PYTHON := $(shell for p in python3.13 $$(ls -d $$HOME/.pyenv/versions/3.13*/bin/python3.13 /usr/local/bin/python3.13 2>/dev/null) python3.12 python3.11 python3; do \
	$$p -c 'import sys; assert sys.version_info >= (3, 11)' >/dev/null 2>&1 && { command -v $$p; break; }; done)
PYTHON313_DIR := $(shell for p in python3.13 $$(ls -d $$HOME/.pyenv/versions/3.13*/bin/python3.13 2>/dev/null); do \
	$$p -c '' >/dev/null 2>&1 && { dirname $$(command -v $$p); break; }; done)

export SAM_CLI_TELEMETRY := 0

.PHONY: setup run test lint unit integration e2e sam clean

setup: $(VENV)/.installed $(SAM)

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python >= 3.11 is required" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e ".[dev]"
	@touch $@

# The SAM CLI pins its own boto3: it gets a tool environment of its own.
$(SAM):
	$(PYTHON) -m venv $(TOOLS)/sam
	$(TOOLS)/sam/bin/python -m pip install --quiet "aws-sam-cli==$(SAM_CLI_VERSION)"

run: $(VENV)/.installed
	$(VENV)/bin/approvals-local serve

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

unit: $(VENV)/.installed
	$(VENV)/bin/pytest tests/unit

integration: $(VENV)/.installed
	$(VENV)/bin/pytest tests/integration

e2e: $(VENV)/.installed
	$(VENV)/bin/pytest tests/e2e

# Tests over HTTPS against a deployed stack, found by its CloudFormation outputs. Needs AWS
# credentials. With the stack's own user pool (AllowAdminPasswordSignIn=true) they make their own
# customers, sign them in and delete them again (docs/deploy.md, "Checking a stack: make e2e-aws").
.PHONY: e2e-aws
e2e-aws: $(VENV)/.installed
	@test -n "$(STACK)" || { echo "usage: make e2e-aws STACK=<stack name>" >&2; exit 2; }
	STACK='$(STACK)' $(VENV)/bin/pytest tests/aws

sam: setup
	SAM_CLI=$(SAM) PYTHON313_DIR=$(PYTHON313_DIR) $(VENV)/bin/pytest tests/template -m sam

test: setup lint
	SAM_CLI=$(SAM) PYTHON313_DIR=$(PYTHON313_DIR) $(VENV)/bin/pytest -n 2 --dist loadfile

# Schemathesis against a serve of its own with ten times the random cases of `make test`.
.PHONY: fuzz
fuzz: $(VENV)/.installed
	FUZZ_SCALE=10 $(VENV)/bin/pytest tests/fuzz

# Benchmarks (docs/benchmarks.md): prints the figures, never fails on a slow machine.
# BENCH_ARGS passes options on, e.g. make bench BENCH_ARGS="--scale smoke" or "--only 1".
.PHONY: bench
bench: $(VENV)/.installed
	$(VENV)/bin/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) .aws-sam .pytest_cache .mypy_cache .ruff_cache
