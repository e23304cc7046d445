# ddb-s3: every target installs what it needs, so each works on a fresh machine.
SHELL := /bin/bash
PY := .venv/bin/python
UV_VERSION := 0.13.8

.PHONY: setup venv node jars hive-jars java demo lint test test-fast bench clean

setup: venv node jars hive-jars java

venv: .venv/.synced
.venv/.synced: pyproject.toml uv.lock
	@command -v uv >/dev/null || python3 -m pip install -q uv==$(UV_VERSION)
	uv sync --frozen --all-extras
	@touch $@

node: node_modules/.package-lock.json
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

jars: venv
	$(PY) -m launcher.export.run.jars build

# The local Hive engine's classpath (emr-dynamodb-hive 4.5.0, SDK v1, hadoop-aws) and the HiveQL checker.
hive-jars: venv
	mvn -q -B -Dstyle.color=never -f hive/jvm/pom.xml clean package -Dhive.jars.dir=$(CURDIR)/.cache/hive-jars

java:
	@$(PY) -m launcher.export.run.jars check-java

demo: setup
	$(PY) -m launcher.dev.demo

# Lint and types: ruff (launcher/core and launcher/job against Python 3.9, the Python of EMR 7 nodes),
# ruff format, mypy (strict on launcher/core), and basedpyright for what Python 3.9 cannot run in core/job.
lint: venv
	.venv/bin/ruff check launcher bench
	.venv/bin/ruff format --check launcher
	.venv/bin/mypy
	.venv/bin/basedpyright

test: setup lint
	$(PY) -m pytest

# Unit tests only: no servers, no Spark.
test-fast: venv
	$(PY) -m pytest -m unit

bench: setup
	$(PY) -m bench

clean:
	rm -rf .cache backups artifacts bench/out
