"""DdbS3ExportOperator(runner="emr-serverless" | "glue") with real Airflow 3 against the local EMR: the
task runs the CLI's runner for it, waiting in the worker or deferred to DdbS3RunTrigger, the job
runs on the local EMR, and the XCom is the verified export."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import boto3
import pytest

from helpers import FIXTURES, unique_name
from launcher.dev.localstack import REPO_ROOT
from launcher.dev.sample_data import create_lab_table, lab_items, load_items

pytest.importorskip("airflow", reason="the airflow extra is not installed (uv sync --all-extras)")
pytestmark = pytest.mark.e2e
DRIVER = FIXTURES / "emr" / "airflow_runner_driver.py"


@pytest.fixture(scope="module")
def local_emr(local_stack, tmp_path_factory) -> str:
    if local_stack.emr_endpoint is None:
        local_stack.start_local_emr(REPO_ROOT, sys.executable, tmp_path_factory.mktemp("emr-nodes"), time.monotonic() + 60, 60)
    assert local_stack.emr_endpoint
    return local_stack.emr_endpoint


@pytest.mark.parametrize("runner, mode", [("emr-serverless", "wait"), ("glue", "wait"), ("emr-serverless", "defer"), ("glue", "defer")])
def test_operator_runs_the_export_with_the_runner_it_is_given(local_emr, tmp_path, runner, mode):
    ddb = boto3.client("dynamodb")
    table, bucket = unique_name("afr"), unique_name("afr").lower()
    create_lab_table(ddb, table)
    load_items(ddb, table, lab_items(80))
    boto3.client("s3").create_bucket(Bucket=bucket)
    env = dict(os.environ, AIRFLOW_HOME=str(tmp_path), PYTHONPATH=str(REPO_ROOT), DDB_S3_POLL_SECONDS="1")
    for svc in ("EMR_SERVERLESS", "GLUE", "CLOUDWATCH_LOGS"):
        env[f"AWS_ENDPOINT_URL_{svc}"] = local_emr
    proc = subprocess.run(
        [sys.executable, str(DRIVER), runner, table, f"s3://{bucket}/af", mode], capture_output=True, text=True, timeout=600, env=env
    )
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("DRIVER-RESULT ")), None)
    assert line, f"driver exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    result = json.loads(line.removeprefix("DRIVER-RESULT "))
    assert result["ok"], result
    assert result["xcom"]["itemCount"] == 80  # verified against the manifest
    assert result["deferred"] == (mode == "defer")
    if mode == "defer":  # the trigger polled the run to its end; the resumed task ended what it created
        assert result["event"]["status"] == "done" and result["event"]["handle"]["created"], result
        assert result["xcom"]["clusterId"] == "/".join([result["event"]["handle"]["resource"], *result["event"]["handle"]["runs"]])
    kind = {"emr-serverless": "deleted EMR Serverless application", "glue": "deleted Glue job"}[runner]
    assert kind in proc.stdout + proc.stderr
