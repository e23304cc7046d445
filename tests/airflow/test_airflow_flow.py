"""The Airflow operator runs the CLI's export flow (launcher.export.flow), so it checks the
destination's owner like the CLI does: every S3 call it makes, the verification of the finished
export included, carries ExpectedBucketOwner, and a bucket of another account is refused before a
cluster starts.

moto does not enforce ExpectedBucketOwner, so the fault proxy in front of it does, as S3 documents
(403 AccessDenied when the header names another account); the operator runs in its own process
(tests/fixtures/emr/airflow_owner_driver.py) with real Airflow, and its step really runs on the
local EMR, so the job's own S3 calls are checked too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from faults.fixtures import faulty  # noqa: F401  (fixture)
from helpers import FIXTURES, REPO_ROOT, unique_name
from launcher.dev.sample_data import create_lab_table, lab_items, load_items

pytest.importorskip("airflow", reason="the airflow extra is not installed (uv sync --all-extras)")
pytestmark = pytest.mark.e2e
DRIVER = FIXTURES / "emr" / "airflow_owner_driver.py"
MOTO_ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def local_emr(local_stack, tmp_path_factory) -> str:
    if local_stack.emr_endpoint is None:  # the local EMR beside the session's stack, as test_local_emr.py starts it
        local_stack.start_local_emr(REPO_ROOT, sys.executable, tmp_path_factory.mktemp("emr-nodes"), time.monotonic() + 60, 60)
    return local_stack.emr_endpoint


def run_operator(table: str, to: str, owner: str, home: Path) -> dict:
    env = dict(os.environ, AIRFLOW_HOME=str(home), PYTHONPATH=str(REPO_ROOT), DDB_S3_POLL_SECONDS="1")
    proc = subprocess.run([sys.executable, str(DRIVER), table, to, owner], capture_output=True, text=True, timeout=300, env=env)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("DRIVER-RESULT ")), None)
    assert line, f"driver exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(line.removeprefix("DRIVER-RESULT "))


@pytest.fixture
def table_and_bucket(faulty, local_emr, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_EMR", local_emr)
    faulty.plan.bucket_owner = MOTO_ACCOUNT  # the proxy answers like S3: another owner gets 403
    table, bucket = unique_name("owner"), unique_name("owner").lower()
    ddb = boto3.client("dynamodb")
    create_lab_table(ddb, table)
    load_items(ddb, table, lab_items(25))
    boto3.client("s3").create_bucket(Bucket=bucket)
    yield table, bucket
    ddb.delete_table(TableName=table)


def test_operator_verifies_with_the_bucket_owner(faulty, table_and_bucket, tmp_path):
    table, bucket = table_and_bucket
    before = len(faulty.plan.requests("s3"))  # the test's own CreateBucket is not the operator's
    result = run_operator(table, f"s3://{bucket}/ddb", MOTO_ACCOUNT, tmp_path)
    assert result["ok"], result
    assert result["xcom"]["itemCount"] == 25  # exported on the local EMR and verified against the manifest
    calls = faulty.plan.requests("s3")[before:]
    reads = [r for r in calls if r.op in ("GetObject", "HeadObject", "ListObjectsV2")]
    assert reads, "the operator's verification made no S3 reads"
    missing = [(r.op, r.path) for r in calls if r.headers.get("x-amz-expected-bucket-owner") != MOTO_ACCOUNT]
    assert not missing, f"S3 calls without ExpectedBucketOwner: {missing[:5]}"


def test_operator_refuses_a_bucket_of_another_owner(faulty, table_and_bucket, tmp_path):
    table, bucket = table_and_bucket
    clusters_before = len(boto3.client("emr").list_clusters()["Clusters"])
    result = run_operator(table, f"s3://{bucket}/ddb", "999999999999", tmp_path)
    assert not result["ok"]
    assert result["error"].startswith("AirflowException: ddb-s3: access denied to bucket"), result
    assert len(boto3.client("emr").list_clusters()["Clusters"]) == clusters_before  # nothing was started
