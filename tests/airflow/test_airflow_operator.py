"""DdbS3ExportOperator waiting in the worker, with real Apache Airflow 3 (dag.test() on the example
DAG) against the local stack and the local EMR, which really runs the step
(tests/fixtures/emr/airflow_driver.py): a verified export, a step that fails on the node because
its table was deleted after the plan, and a task killed while its step runs. One driver process runs
the three DAG runs, to pay Airflow's start-up once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest

from helpers import FIXTURES, REPO_ROOT
from launcher.dev.sample_data import create_lab_table, lab_items, load_items

pytest.importorskip("airflow", reason="the airflow extra is not installed (uv sync --all-extras)")
pytestmark = pytest.mark.e2e
ROOT = REPO_ROOT
DRIVER = FIXTURES / "emr" / "airflow_driver.py"
DAG = ROOT / "examples" / "airflow" / "ddb_s3_export_dag.py"
MODES = ("success", "kill", "fail")  # fail last: it deletes the table
# Real-looking fake credentials for the Airflow runs (moto and dynalite accept any): none of them may
# appear in the task logs or the driver's output.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIAZ7QXJ4LEAKCHECK1",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYLEAKCHECK40",
    "AWS_SESSION_TOKEN": "FwoGZXIvYXdzEBYaDLEAKCHECKSESSIONTOKENxyz0123456789abcdef",
}
AIRFLOW_HOME: list[Path] = []


@pytest.fixture(scope="module")
def runs(local_stack, tmp_path_factory) -> dict[str, tuple[dict, str]]:
    if local_stack.emr_endpoint is None:  # the local EMR beside the session's stack, as test_local_emr.py starts it
        local_stack.start_local_emr(REPO_ROOT, sys.executable, tmp_path_factory.mktemp("emr-nodes"), time.monotonic() + 60, 60)
    home = tmp_path_factory.mktemp("airflow")
    table, bucket = f"af-{uuid.uuid4().hex[:10]}", f"af-{uuid.uuid4().hex[:10]}"
    ddb = boto3.client("dynamodb")
    create_lab_table(ddb, table)
    load_items(ddb, table, lab_items(40))
    boto3.client("s3").create_bucket(Bucket=bucket)
    # dag.test() serializes the DAG from the dags folder, then runs the in-memory task.
    env = dict(
        os.environ,
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(DAG.parent),
        PYTHONPATH=str(ROOT),
        AWS_ENDPOINT_URL_EMR=local_stack.emr_endpoint,
        DDB_S3_POLL_SECONDS="1",
        **FAKE_CREDENTIALS,
    )
    AIRFLOW_HOME.append(home)
    migrate = subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), "db", "migrate"], capture_output=True, text=True, timeout=300, env=env
    )
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    proc = subprocess.run(
        [sys.executable, str(DRIVER), str(DAG), table, f"s3://{bucket}/ddb", *MODES],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
        env=env,
        cwd=home,
    )
    out: dict[str, tuple[dict, str]] = {}
    for chunk in proc.stdout.split("DRIVER-BEGIN ")[1:]:
        mode, _, text = chunk.partition("\n")
        line = next((ln for ln in text.splitlines() if ln.startswith("DRIVER-RESULT ")), None)
        if line:
            out[mode] = (json.loads(line.removeprefix("DRIVER-RESULT ")), text)
    assert set(out) == set(MODES), f"driver exited {proc.returncode}:\n{proc.stdout[-5000:]}"
    return out


def test_example_dag_exports_verifies_and_terminates_its_cluster(runs):
    result, output = runs["success"]
    assert result["state"].endswith("success"), output[-4000:]
    (cluster_id,) = result["clusters"]
    assert result["clusters"][cluster_id] == "TERMINATED", output[-4000:]
    assert f"started cluster {cluster_id}" in output and f"terminated cluster {cluster_id} (the export finished)" in output
    assert f"cluster {cluster_id} RUNNING; step 1/1 RUNNING" in output  # waited in the worker, polled
    assert "verified s3://" in output and ": 40 items in " in output


def test_failed_step_fails_the_task_with_its_cause_and_terminates_the_cluster(runs):
    result, output = runs["fail"]
    assert result["state"].endswith("failed"), output[-4000:]
    assert not result["tableExists"]  # the driver deleted it after the plan: the step's Scan failed on the node
    # The failed step's ActionOnFailure TERMINATE_CLUSTER ends it with errors, unless our teardown came first.
    assert list(result["clusters"].values()) in (["TERMINATED_WITH_ERRORS"], ["TERMINATED"])
    assert "FAILED" in output and "probable cause: " in output and "ResourceNotFoundException" in output, output[-4000:]


def test_killed_task_terminates_its_cluster_and_fails(runs):
    result, output = runs["kill"]
    assert result["state"].endswith("failed"), output[-4000:]
    (cluster_id,) = result["clusters"]
    assert result["clusters"][cluster_id] == "TERMINATED"
    assert f"terminated cluster {cluster_id} (the Airflow task was killed)" in output, output[-4000:]


def test_no_credential_in_airflow_logs_or_task_output(runs):
    # dag.test() streams the task logs to the console, which the driver captured; files under
    # $AIRFLOW_HOME/logs are scanned too, if any were written.
    texts = {f"task log ({mode})": text for mode, (_, text) in runs.items()}
    assert all("started cluster j-" in text for text in texts.values())  # the operator's own log lines are here
    logs = [p for p in AIRFLOW_HOME[0].rglob("*") if p.is_file() and p.suffix in (".log", ".json", ".txt", "")]
    texts.update({str(p): p.read_text(errors="replace") for p in logs if p.stat().st_size < 50_000_000})
    for name, secret in FAKE_CREDENTIALS.items():
        for where, text in texts.items():
            assert secret not in text and secret[:16] not in text, f"{name} leaked into {where}"
