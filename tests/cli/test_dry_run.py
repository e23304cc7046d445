"""`export --dry-run --json`: one JSON document a script can read (plan, estimate, artifacts, steps,
the RunJobFlow request), nothing started (issue 15)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3

from helpers import unique_name
from launcher.dev.sample_data import create_lab_table

DDB_S3 = str(Path(sys.executable).parent / "ddb-s3")


def test_dry_run_json_is_one_document(local_stack):
    table, bucket = unique_name("dry"), unique_name("dry").lower()
    create_lab_table(boto3.client("dynamodb"), table)
    boto3.client("s3").create_bucket(Bucket=bucket)
    proc = subprocess.run(
        [DDB_S3, "export", "--table", table, "--to", f"s3://{bucket}/x", "--runner", "emr", "--dry-run", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)  # the whole of stdout, nothing else on it
    assert doc["plan"]["table"]["name"] == table and doc["plan"]["engineReason"] == "the default engine"
    assert "cluster" in doc["estimate"]["text"] and doc["estimate"]["clusterCostUsd"] > 0
    assert "export_job.py" in doc["artifacts"] and doc["artifacts"]["ddbs3_job.zip"].endswith("bytes>")
    assert doc["steps"][0]["HadoopJarStep"]["Jar"] == "command-runner.jar"
    assert {t["Key"] for t in doc["runJobFlow"]["Tags"]} >= {"ddb-s3:managed", "ddb-s3:table"}
    assert "plan: " in proc.stderr  # the human lines stay on stderr


def test_dry_run_of_the_serverless_runners_and_auto_shows_their_requests(local_stack):
    table, bucket = unique_name("dry"), unique_name("dry").lower()
    create_lab_table(boto3.client("dynamodb"), table)
    boto3.client("s3").create_bucket(Bucket=bucket)

    def dry(*args: str) -> tuple[dict, str]:
        proc = subprocess.run(
            [DDB_S3, "export", "--table", table, "--to", f"s3://{bucket}/x", "--dry-run", "--json", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout), proc.stderr

    doc, err = dry("--runner", "emr-serverless", "--log-uri", f"s3://{bucket}/logs/")
    assert doc["runJobFlow"] is None and doc["createApplication"]["type"] == "SPARK"
    assert doc["startJobRun"]["jobDriver"]["sparkSubmit"]["entryPoint"].endswith("/export_job.py")
    assert "vCPU-hours" in doc["estimate"]["text"] and "job run times out after" in err
    doc, err = dry("--runner", "glue", "--workers", "3")
    assert doc["glueJob"]["GlueVersion"] == "5.0" and doc["glueJob"]["NumberOfWorkers"] == 3
    assert doc["startJobRun"]["JobName"] == doc["glueJob"]["Name"] and "DPU-hours" in doc["estimate"]["text"]
    doc, err = dry("--runner", "auto")
    assert doc["plan"]["runner"] == "local" and "plan: runner local (the table is" in err
