# ddb-s3: every target installs what it needs, so each works on a fresh machine.
SHELL := /bin/bash
PY := .venv/bin/python
UV_VERSION := 0.13.8

.PHONY: setup venv node jars hive-jars yarn-jars java py39 demo lint test test-fast bench clean

setup: venv node jars hive-jars yarn-jars java py39

venv: .venv/.synced
.venv/.synced: pyproject.toml uv.lock
	@command -v uv >/dev/null || python3 -m pip install -q uv==$(UV_VERSION)
	@# Bytecode now, once: uv writes none by default, and where PYTHONDONTWRITEBYTECODE is set (this
	@# machine) every Python process would compile what it imports again (~0.4 CPU s for boto3 and
	@# the CLI; the tests start about a thousand of them).
	uv sync --frozen --all-extras --quiet --compile-bytecode
	$(PY) -m compileall -q launcher
	@touch $@

node: node_modules/.package-lock.json
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

# The Maven builds run again only when a pom or a source file changed (a stamp file per build).
jars: .cache/jars/.built
.cache/jars/.built: spark/jvm/pom.xml $(shell find spark/jvm/src -type f) | venv
	$(PY) -m launcher.export.run.jars build
	@touch $@

# The local Hive engine's classpath (emr-dynamodb-hive 4.5.0, SDK v1, hadoop-aws) and the HiveQL checker.
hive-jars: .cache/hive-jars/.built
.cache/hive-jars/.built: hive/jvm/pom.xml $(shell find hive/jvm/src -type f) | venv
	@# Maven 3.8 prints ANSI resets even with -q and style.color=never: strip them, keep its exit code.
	set -o pipefail; mvn -q -B -Dstyle.color=never -f hive/jvm/pom.xml clean package -Dhive.jars.dir=$(CURDIR)/.cache/hive-jars 2>&1 | sed 's/\x1b\[[0-9;]*m//g'
	@touch $@

# YARN for the local EMR's Hive steps (Hadoop 3.3.4's ResourceManager, NodeManager and MapReduce).
yarn-jars: .cache/yarn-jars/.built
.cache/yarn-jars/.built: hive/jvm/yarn/pom.xml
	set -o pipefail; mvn -q -B -Dstyle.color=never -f hive/jvm/yarn/pom.xml clean package -Dyarn.jars.dir=$(CURDIR)/.cache/yarn-jars 2>&1 | sed 's/\x1b\[[0-9;]*m//g'
	@touch $@

# EMR 7's node Python for the local EMR: CPython 3.9 (pyenv, as on the machine image) and pinned boto3.
PY39_BASE ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.9*/bin/python3.9) $(shell command -v python3.9))
py39: .cache/py39/.synced
.cache/py39/.synced: launcher/dev/emr-node-requirements.txt
	@test -n "$(PY39_BASE)" || { echo "make py39: no CPython 3.9 found (pyenv install 3.9, or set PY39_BASE)" >&2; exit 1; }
	rm -rf .cache/py39
	$(PY39_BASE) -m venv .cache/py39
	.cache/py39/bin/pip install -q --disable-pip-version-check --no-deps -r launcher/dev/emr-node-requirements.txt
	@touch $@

java:
	@$(PY) -m launcher.export.run.jars check-java

demo: setup
	$(PY) -m launcher.dev.demo

# Lint and types: ruff (launcher/core and launcher/job against Python 3.9's syntax, the Python of EMR 7
# nodes), ruff format, mypy (strict on launcher/core). What 3.9 cannot run at import time is caught by
# tests/job/test_emr_python.py, which imports every shipped module in the node Python (make py39).
lint: venv
	.venv/bin/ruff check launcher bench tests
	.venv/bin/ruff format --check launcher tests
	.venv/bin/mypy

# Four workers on two cores (pytest-xdist, issue 26): much of a test is waiting on servers, JVMs and
# polls, and the run is CPU-bound at four (fresh clones: 12-15 min; docs/bench.md, "The test suite").
# --dist loadfile keeps a test file on one worker, so its module fixtures (a local EMR, the packaging
# venvs) are built once; each worker starts its own local stack and has its own tmp_path_factory folders.
# `make test PYTEST_WORKERS=0` runs in one process.
PYTEST_WORKERS ?= 4
test: setup lint
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile

# Unit tests only: no servers, no Spark.
test-fast: venv
	$(PY) -m pytest -m unit

bench: setup
	$(PY) -m bench

clean:
	rm -rf .cache backups artifacts bench/out
