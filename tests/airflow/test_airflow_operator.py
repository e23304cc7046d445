"""DdbS3ExportOperator with real Apache Airflow 3 (dag.test() on the example DAG) against the local
stack: a transient cluster on moto's EMR. moto never finishes a step, so the step outcome is
injected through the operator's `waiter` (tests/fixtures/emr/airflow_driver.py); the cluster is
really created and really terminated on the moto server. One driver process runs the three DAG
runs (success, failed step, killed task), to pay Airflow's start-up once."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest

from helpers import FIXTURES, REPO_ROOT

pytest.importorskip("airflow", reason="the airflow extra is not installed (uv sync --all-extras)")
pytestmark = pytest.mark.integration
ROOT = REPO_ROOT
DRIVER = FIXTURES / "emr" / "airflow_driver.py"
DAG = ROOT / "examples" / "airflow" / "ddb_s3_export_dag.py"
MODES = ("success", "fail", "kill")
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
    home = tmp_path_factory.mktemp("airflow")
    jars = tmp_path_factory.mktemp("jars")
    (jars / "ddb-s3-spark-helpers-0.1.0.jar").write_bytes(b"PK\x05\x06" + b"\x00" * 18)  # only uploaded
    table, bucket = f"af-{uuid.uuid4().hex[:10]}", f"af-{uuid.uuid4().hex[:10]}"
    ddb = boto3.client("dynamodb")
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    boto3.client("s3").create_bucket(Bucket=bucket)
    # dag.test() serializes the DAG from the dags folder, then runs the in-memory task (with the waiter).
    env = dict(os.environ, AIRFLOW_HOME=str(home), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               AIRFLOW__CORE__DAGS_FOLDER=str(DAG.parent), DDB_S3_JARS_DIR=str(jars), PYTHONPATH=str(ROOT),
               **FAKE_CREDENTIALS)
    AIRFLOW_HOME.append(home)
    migrate = subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], capture_output=True,
                             text=True, timeout=300, env=env)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    proc = subprocess.run([sys.executable, str(DRIVER), str(DAG), table, f"s3://{bucket}/ddb", *MODES],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600, env=env,
                          cwd=home)
    out: dict[str, tuple[dict, str]] = {}
    for chunk in proc.stdout.split("DRIVER-BEGIN ")[1:]:
        mode, _, text = chunk.partition("\n")
        line = next((l for l in text.splitlines() if l.startswith("DRIVER-RESULT ")), None)
        if line:
            out[mode] = (json.loads(line.removeprefix("DRIVER-RESULT ")), text)
    assert set(out) == set(MODES), f"driver exited {proc.returncode}:\n{proc.stdout[-5000:]}"
    ddb.delete_table(TableName=table)
    return out


def test_example_dag_succeeds_and_terminates_its_cluster(runs):
    result, output = runs["success"]
    assert result["state"].endswith("success"), output[-4000:]
    assert list(result["clusters"].values()) == ["TERMINATED"], output[-4000:]
    assert "terminated cluster" in output and "started cluster j-" in output


def test_failed_step_fails_the_task_with_its_reason_and_terminates_the_cluster(runs):
    result, output = runs["fail"]
    assert result["state"].endswith("failed"), output[-4000:]
    assert list(result["clusters"].values()) == ["TERMINATED"]
    assert "FAILED: Unknown Error: SparkException: Job aborted due to stage failure" in output


def test_killed_task_terminates_its_cluster_and_fails(runs):
    result, output = runs["kill"]
    assert result["state"].endswith("failed"), output[-4000:]
    assert list(result["clusters"].values()) == ["TERMINATED"]
    assert "the Airflow task was killed" in output and "ended before step" in output


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
