"""`ddb-s3 local up --detach` / `local down`: the stack for one's own use, started and stopped from
the CLI; the printed lines point a shell (here: boto3) at it, the local EMR included."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from helpers import process_alive

pytestmark = pytest.mark.integration
DDB_S3 = str(Path(sys.executable).parent / "ddb-s3")


def test_up_detach_prints_the_variables_and_down_stops_everything(tmp_path):
    env = dict(os.environ, DDB_S3_LOCAL_DIR=str(tmp_path))
    alone = subprocess.run([DDB_S3, "local", "up", "--sample", "30"], capture_output=True, text=True, timeout=60, env=env)
    assert alone.returncode == 2 and "--sample needs --detach" in alone.stderr, alone.stderr
    up = subprocess.run([DDB_S3, "local", "up", "--detach", "--sample", "30"], capture_output=True, text=True, timeout=120, env=env)
    assert up.returncode == 0, up.stderr
    assert "table LabResults (30 items) and bucket lab-backups are there" in up.stderr
    exports = dict(re.findall(r"^export (\w+)=(\S+)$", up.stdout, re.M))
    assert {"AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_EMR"} <= exports.keys()
    pid = int((tmp_path / "pid").read_text())
    try:
        again = subprocess.run([DDB_S3, "local", "up", "--detach"], capture_output=True, text=True, timeout=60, env=env)
        assert again.returncode == 1 and "already running" in again.stderr
        session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
        ddb = session.client("dynamodb", endpoint_url=exports["AWS_ENDPOINT_URL_DYNAMODB"])
        assert ddb.list_tables()["TableNames"] == ["LabResults"] and ddb.scan(TableName="LabResults", Select="COUNT")["Count"] == 30
        assert "lab-backups" in [
            b["Name"] for b in session.client("s3", endpoint_url=exports["AWS_ENDPOINT_URL_S3"]).list_buckets()["Buckets"]
        ]
        assert session.client("emr", endpoint_url=exports["AWS_ENDPOINT_URL_EMR"]).list_clusters()["Clusters"] == []
        servers = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        assert len(servers) == 3  # dynalite, moto, the local EMR
    finally:
        down = subprocess.run([DDB_S3, "local", "down"], capture_output=True, text=True, timeout=60, env=env)
    assert down.returncode == 0 and "stopped" in down.stderr
    assert not process_alive(pid)
    assert not any(process_alive(int(p)) for p in servers)
    assert not (tmp_path / "pid").exists() and not (tmp_path / "env").exists()  # no variables of a stopped stack
