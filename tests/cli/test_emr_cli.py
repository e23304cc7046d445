"""`ddb-s3 clusters list/terminate` as a subprocess against moto's EMR API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from helpers import cluster_state_after_termination

pytestmark = pytest.mark.integration
DDB_S3 = str(Path(sys.executable).parent / "ddb-s3")


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([DDB_S3, *args], capture_output=True, text=True, timeout=120)


def start(emr, tags: list[dict], name: str = "c") -> str:
    return emr.run_job_flow(
        Name=name,
        ReleaseLabel="emr-7.9.0",
        ServiceRole="EMR_DefaultRole",
        JobFlowRole="EMR_EC2_DefaultRole",
        Tags=tags,
        Instances={"MasterInstanceType": "m5.xlarge", "InstanceCount": 1, "KeepJobFlowAliveWhenNoSteps": True},
    )["JobFlowId"]


def test_clusters_list_and_terminate_only_touch_our_clusters(local_stack):
    emr = boto3.client("emr")
    ours = start(
        emr,
        [
            {"Key": "ddb-s3:managed", "Value": "true"},
            {"Key": "ddb-s3:table", "Value": "LabResults"},
            {"Key": "ddb-s3:export-id", "Value": "x-1"},
        ],
        name="ddb-s3 export LabResults x-1",
    )
    theirs = start(emr, [{"Key": "team", "Value": "lab"}])
    long_tags = [{"Key": "ddb-s3:managed", "Value": "true"}, {"Key": "ddb-s3:table", "Value": "Lab.Results-Archive_2026"}]
    other = start(emr, long_tags, name="ddb-s3 export Lab.Results-Archive_2026")
    try:
        listed = json.loads(cli("clusters", "list", "--json").stdout)  # one JSON list, as exports list gives
        ids = {row["id"] for row in listed}
        assert ours in ids and other in ids and theirs not in ids
        assert next(r for r in listed if r["id"] == ours)["table"] == "LabResults"
        # the plain listing: a header and aligned columns, whatever the tables' lengths (issue 24)
        lines = cli("clusters", "list", "--all").stdout.splitlines()
        assert lines[0].split() == ["cluster", "state", "table", "export", "id"]
        mine = [line for line in lines if line.startswith((ours, other))]
        assert len(mine) == 2 and {line.index("Lab") for line in mine} == {lines[0].index("table")}
        assert {line.index("x-1") if "x-1" in line else line.rindex("-") for line in mine} == {lines[0].index("export id")}

        refused = cli("clusters", "terminate", theirs)
        assert refused.returncode == 2 and "not started by ddb-s3" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
        assert emr.describe_cluster(ClusterId=theirs)["Cluster"]["Status"]["State"] == "WAITING"

        done = cli("clusters", "terminate", ours)
        assert done.returncode == 0, done.stderr
        assert cluster_state_after_termination(emr, ours) == "TERMINATED"
        assert ours not in cli("clusters", "list").stdout

        missing = cli("clusters", "terminate", "j-NOSUCHCLUSTER")
        assert missing.returncode == 2 and "not found" in missing.stderr

        forced = cli("clusters", "terminate", "--force", theirs)
        assert forced.returncode == 0, forced.stderr
        assert cluster_state_after_termination(emr, theirs) == "TERMINATED"
    finally:
        emr.terminate_job_flows(JobFlowIds=[ours, theirs, other])
