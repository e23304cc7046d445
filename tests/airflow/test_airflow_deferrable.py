"""DdbS3ExportOperator with real Apache Airflow (dag.test()) against the local stack and the local
EMR (launcher/dev/local_emr.py), which really runs the export's step; nothing is injected.

- The example DAG, unchanged, with Airflow's `[operators] default_deferrable` on (set outside the
  DAG, as a deployment would): the task submits, pushes the cluster id, defers; dag.test() runs
  DdbS3RunTrigger in line until the step is done; the task resumes, verifies the export with no
  GetObject of a data file (S3 requests counted by the fault proxy) and terminates its cluster.
- Reattach: a DAG whose first try is lost right after RunJobFlow (tests/airflow/dags); the retry of
  the same task instance finds the running cluster by its tag and waits on it: exactly one cluster.

Each DAG runs in its own process (airflow_dag_driver.py) with a temporary AIRFLOW_HOME."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from faults.fixtures import faulty  # noqa: F401  (fixture)
from helpers import REPO_ROOT, unique_name
from launcher.dev.sample_data import create_lab_table, lab_items, load_items

pytest.importorskip("airflow", reason="the airflow extra is not installed (uv sync --all-extras)")
pytestmark = pytest.mark.e2e
HERE = Path(__file__).parent
DRIVER = HERE / "airflow_dag_driver.py"
EXAMPLE = REPO_ROOT / "examples" / "airflow" / "ddb_s3_export_dag.py"
REATTACH = HERE / "dags" / "ddb_s3_reattach_dag.py"
CONNECTION_DAG = HERE / "dags" / "ddb_s3_connection_dag.py"
TIMEOUT_DAG = HERE / "dags" / "ddb_s3_timeout_dag.py"
AIRFLOW = str(Path(sys.executable).parent / "airflow")


@pytest.fixture(scope="module")
def local_emr(local_stack, tmp_path_factory) -> str:
    """The local EMR beside the session's stack (as tests/e2e/test_local_emr.py starts it)."""
    if local_stack.emr_endpoint is None:
        local_stack.start_local_emr(REPO_ROOT, sys.executable, tmp_path_factory.mktemp("emr-nodes"), time.monotonic() + 60, 60)
    assert local_stack.emr_endpoint
    return local_stack.emr_endpoint


@pytest.fixture(scope="module")
def airflow_env(local_emr, tmp_path_factory) -> dict[str, str]:
    """A migrated AIRFLOW_HOME whose dags folder holds the example DAG and the reattach test DAG."""
    home = tmp_path_factory.mktemp("airflow")
    dags = home / "dags"
    dags.mkdir()
    shutil.copy(EXAMPLE, dags / EXAMPLE.name)
    shutil.copy(REATTACH, dags / REATTACH.name)
    shutil.copy(TIMEOUT_DAG, dags / TIMEOUT_DAG.name)
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "PYTHONPATH": str(REPO_ROOT),
        "AWS_ENDPOINT_URL_EMR": local_emr,
        "DDB_S3_POLL_SECONDS": "1",  # the request's poll interval (ddb-s3's own setting), not a DAG knob
    }
    migrate = subprocess.run([AIRFLOW, "db", "migrate"], capture_output=True, text=True, timeout=300, env={**os.environ, **env})
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    return env


def run_dag(env: dict[str, str], dag_file: Path, dag_id: str, **extra: str) -> tuple[dict, str]:
    proc = subprocess.run(
        [sys.executable, str(DRIVER), str(Path(env["AIRFLOW__CORE__DAGS_FOLDER"]) / dag_file.name), dag_id],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=420,
        env={**os.environ, **env, **extra},
        cwd=env["AIRFLOW_HOME"],
    )
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("DRIVER-RESULT ")), None)
    assert line, f"driver exited {proc.returncode}:\n{proc.stdout[-6000:]}"
    return json.loads(line.removeprefix("DRIVER-RESULT ")), proc.stdout


def local_emr_client(env: dict[str, str]) -> Any:
    return boto3.client("emr", endpoint_url=env["AWS_ENDPOINT_URL_EMR"])


def lab_table(name: str, count: int) -> int:
    """The table, made and filled if absent; its item count."""
    ddb = boto3.client("dynamodb")
    if name not in ddb.list_tables()["TableNames"]:
        create_lab_table(ddb, name)
        load_items(ddb, name, lab_items(count))
    return sum(page["Count"] for page in ddb.get_paginator("scan").paginate(TableName=name, Select="COUNT"))


def test_example_dag_defers_to_the_trigger_and_verifies_without_downloading(airflow_env, faulty):
    # The example DAG's own table and bucket, on the local stack.
    items = lab_table("LabResults", 200)
    s3 = boto3.client("s3")
    if "lab-backups" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket="lab-backups")
    before = len(faulty.plan.requests("s3"))
    result, out = run_dag(airflow_env, EXAMPLE, "ddb_s3_export", AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE="True")
    assert result["state"].endswith("success"), out[-6000:]
    # one cluster, started by the task and terminated by it after the trigger fired
    assert list(result["clusters"].values()) == ["TERMINATED"], (result, out[-4000:])
    (cluster_id,) = result["clusters"]
    # deferred: the trigger ran in line (dag.test()'s triggerer), polled EMR, and the task resumed
    step_ids = result["xcom"]["export_lab_results.stepIds"]
    assert f"deferring: the triggerer waits for emr {cluster_id} ({step_ids[0]})" in out, out[-6000:]
    assert "[DAG TEST] running trigger in line" in out and "[DAG TEST] Trigger completed" in out
    assert f"cluster {cluster_id} RUNNING; step 1/1 RUNNING" in out, out[-6000:]
    xcom = result["xcom"]
    assert xcom["export_lab_results.clusterId"] == cluster_id  # pushed right after RunJobFlow
    done = xcom["export_lab_results.return_value"]
    assert done["clusterId"] == cluster_id and done["itemCount"] == items
    assert done["exportUri"].startswith("s3://lab-backups/ddb/") and done["exportUri"].endswith(f"/AWSDynamoDB/{done['exportId']}/")
    # verified without downloading: S3's stored checksums (HeadObject), no GetObject of a data file
    calls = faulty.plan.requests("s3")[before:]
    data = [r for r in calls if "/data/" in r.path and done["exportId"] in r.path]
    assert any(r.op == "HeadObject" for r in data), [(r.op, r.path) for r in calls][-20:]
    assert not [r.path for r in data if r.op == "GetObject"]
    assert "SHA-256 checksums stored by S3 match the manifest" in out


def test_retry_reattaches_to_the_cluster_of_the_lost_try(airflow_env, tmp_path):
    table = unique_name("afre")
    items = lab_table(table, 150)
    bucket = unique_name("afre").lower()
    boto3.client("s3").create_bucket(Bucket=bucket)
    marker = tmp_path / "first-try-lost"
    result, out = run_dag(
        airflow_env,
        REATTACH,
        "ddb_s3_reattach",
        DDB_S3_TEST_TABLE=table,
        DDB_S3_TEST_TO=f"s3://{bucket}/ddb",
        DDB_S3_TEST_MARKER=str(marker),
    )
    assert marker.exists(), "the first try never reached its defer"
    assert "worker lost after RunJobFlow (simulated)" in out
    assert result["state"].endswith("success"), out[-6000:]
    assert result["tries"] == {"export": 2}
    # exactly one cluster: the second try waited on the first try's cluster, then ended it
    assert list(result["clusters"].values()) == ["TERMINATED"], (result, out[-4000:])
    (cluster_id,) = result["clusters"]
    assert f"reattached to cluster {cluster_id}" in out
    assert out.count("started cluster j-") == 1
    done = result["xcom"]["export.return_value"]
    assert done["clusterId"] == cluster_id and done["itemCount"] == items
    # the export verified is the one the first try's cluster wrote (its export-id tag)
    tags = {t["Key"]: t["Value"] for t in local_emr_client(airflow_env).describe_cluster(ClusterId=cluster_id)["Cluster"]["Tags"]}
    assert tags["ddb-s3:export-id"] == done["exportId"] and tags.get("ddb-s3:airflow-task")
    boto3.client("dynamodb").delete_table(TableName=table)


def test_deferred_task_that_fails_terminates_its_cluster(airflow_env):
    table = unique_name("afto")
    lab_table(table, 300)
    bucket = unique_name("afto").lower()
    boto3.client("s3").create_bucket(Bucket=bucket)
    result, out = run_dag(airflow_env, TIMEOUT_DAG, "ddb_s3_timeout", DDB_S3_TEST_TABLE=table, DDB_S3_TEST_TO=f"s3://{bucket}/ddb")
    assert result["state"].endswith("failed"), out[-6000:]
    (cluster_id,) = result["clusters"]
    assert "[DAG TEST] running trigger in line" in out
    assert f"emr run on {cluster_id} (max_wait_seconds): not done after 0m0" in out, out[-6000:]
    assert f"terminated cluster {cluster_id} (the export failed)" in out, out[-6000:]
    emr = local_emr_client(airflow_env)
    deadline = time.monotonic() + 30
    while emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"] != "TERMINATED":
        assert time.monotonic() < deadline, "the cluster was not terminated"
        time.sleep(0.5)
    reason = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["StateChangeReason"]
    assert reason.get("Code") == "USER_REQUEST", reason  # ended by the task, not by finishing its step
    boto3.client("dynamodb").delete_table(TableName=table)


def test_aws_conn_id_alone_reaches_aws_for_export_verify_and_restore(airflow_env, local_stack, local_emr):
    """No AWS variable in the Airflow process: credentials, region and endpoints come only from the
    connection (its extra's endpoint_url and service_config, as the Amazon provider reads them)."""
    table = unique_name("afconn")
    items = lab_table(table, 120)
    bucket = unique_name("afconn").lower()
    boto3.client("s3").create_bucket(Bucket=bucket)
    conn = {
        "conn_type": "aws",
        "login": os.environ["AWS_ACCESS_KEY_ID"],
        "password": os.environ["AWS_SECRET_ACCESS_KEY"],
        "extra": {
            "region_name": os.environ["AWS_DEFAULT_REGION"],
            "endpoint_url": local_stack.s3_endpoint,
            "service_config": {"dynamodb": {"endpoint_url": local_stack.dynamodb_endpoint}, "emr": {"endpoint_url": local_emr}},
        },
    }
    env = {k: v for k, v in {**os.environ, **airflow_env}.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE="/nonexistent",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
        AWS_EC2_METADATA_DISABLED="true",
        AIRFLOW_CONN_DDB_S3_LAB=json.dumps(conn),
        DRIVER_AWS_CONN_ID="ddb_s3_lab",
        DDB_S3_TEST_TABLE=table,
        DDB_S3_TEST_TO=f"s3://{bucket}/ddb",
    )
    dag_file = Path(airflow_env["AIRFLOW__CORE__DAGS_FOLDER"]) / CONNECTION_DAG.name
    shutil.copy(CONNECTION_DAG, dag_file)
    proc = subprocess.run(
        [sys.executable, str(DRIVER), str(dag_file), "ddb_s3_connection"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=420,
        env=env,
        cwd=airflow_env["AIRFLOW_HOME"],
    )
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("DRIVER-RESULT ")), None)
    assert line, f"driver exited {proc.returncode}:\n{proc.stdout[-6000:]}"
    result = json.loads(line.removeprefix("DRIVER-RESULT "))
    out = proc.stdout
    assert result["state"].endswith("success"), out[-6000:]
    assert list(result["clusters"].values()) == ["TERMINATED"]
    assert "[DAG TEST] running trigger in line" in out
    xcom = result["xcom"]
    assert xcom["export.return_value"]["itemCount"] == items
    assert xcom["verify.return_value"]["itemCount"] == items
    assert xcom["verify.return_value"]["checked"].startswith("sizes and SHA-256 checksums stored by S3")
    assert xcom["restore.return_value"]["counts"]["written"] == items
    ddb = boto3.client("dynamodb")
    restored = sum(p["Count"] for p in ddb.get_paginator("scan").paginate(TableName=table + "-restored", Select="COUNT"))
    assert restored == items
    for name in (table, table + "-restored"):
        ddb.delete_table(TableName=name)


def test_example_dag_and_test_dags_load_in_a_dagbag(airflow_env):
    code = (
        "import json, sys\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "bag = DagBag(dag_folder=sys.argv[1])\n"
        "print('BAG ' + json.dumps({'errors': {k: str(v) for k, v in bag.import_errors.items()}, 'dags': sorted(bag.dag_ids)}))\n"
    )
    dags = [(str(EXAMPLE.parent), ["ddb_s3_export"]), (str(HERE / "dags"), ["ddb_s3_connection", "ddb_s3_reattach", "ddb_s3_timeout"])]
    for folder, ids in dags:
        proc = subprocess.run(
            [sys.executable, "-c", code, folder], capture_output=True, text=True, timeout=120, env={**os.environ, **airflow_env}
        )
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("BAG ")), None)
        assert line, proc.stderr[-3000:]
        bag = json.loads(line.removeprefix("BAG "))
        assert bag == {"errors": {}, "dags": ids}
    task_code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from ddb_s3_export_dag import dag\n"
        "t = dag.get_task('export_lab_results')\n"
        "print('TASK', type(t).__name__, sorted(t.template_fields), t.aws_conn_id, t.deferrable)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", task_code, str(EXAMPLE.parent)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **airflow_env, "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True"},
    )
    assert (
        "TASK DdbS3ExportOperator ['aws_conn_id', 'cluster', 'config_path', 'config_profile', 'options', 'runner', 'table', 'to'] None True"
        in proc.stdout
    ), proc.stderr[-3000:]
