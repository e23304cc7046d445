"""DdbS3RunTrigger against moto's EMR API (in its own process, so Airflow's imports stay out of
the test session): it serializes to what re-creates it, it polls through the plan's runner, a
passed deadline fires a timeout event that carries the plan and the handle back, and a user's kill
(on_kill) has the runner end a cluster the task started and leave alone one it did not."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import boto3
import pytest

from helpers import REPO_ROOT

pytest.importorskip("airflow", reason="the airflow extra is not installed (uv sync --all-extras)")
pytestmark = pytest.mark.integration

SCRIPT = r"""
import asyncio, json, sys, time
sys.path.insert(0, "tests")
from helpers import emr_plan
from launcher.airflow.triggers import DdbS3RunTrigger
from airflow.sdk._shared.module_loading import import_string

ours, theirs, step = sys.argv[1:4]
plan = emr_plan(region="us-east-1").model_dump(mode="json")
t = DdbS3RunTrigger(plan=plan, handle={"resource": ours, "runs": [step], "created": True}, poll_seconds=0.1,
                    deadline=time.time() - 1, since=123.0)
path, kwargs = t.serialize()
again = import_string(path)(**kwargs)

async def first(trigger):
    async for event in trigger.run():
        return event.payload

event = asyncio.run(first(again))
out = {"same": again.serialize() == t.serialize(), "event": {**event, "plan_same": event.pop("plan") == plan}}
asyncio.run(again.on_kill())
asyncio.run(DdbS3RunTrigger(plan=plan, handle={"resource": theirs, "runs": [], "created": False}).on_kill())
print("RESULT " + json.dumps(out))
"""


def test_trigger_serializes_times_out_and_kills_only_its_own_cluster(local_stack):
    emr = boto3.client("emr")

    def cluster(name: str) -> str:
        return emr.run_job_flow(
            Name=name,
            ReleaseLabel="emr-7.9.0",
            ServiceRole="EMR_DefaultRole",
            JobFlowRole="EMR_EC2_DefaultRole",
            Instances={"MasterInstanceType": "m5.xlarge", "InstanceCount": 1, "KeepJobFlowAliveWhenNoSteps": True},
            Steps=[{"Name": "s", "ActionOnFailure": "CONTINUE", "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["true"]}}],
        )["JobFlowId"]

    ours, theirs = cluster("ours"), cluster("theirs")
    step = emr.list_steps(ClusterId=ours)["Steps"][0]["Id"]
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, ours, theirs, step],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)),
        cwd=REPO_ROOT,
    )
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert line, proc.stderr[-3000:]
    out = json.loads(line.removeprefix("RESULT "))
    assert out["same"]
    event = out["event"]
    assert event["status"] == "timeout" and event["plan_same"] and event["since"] == 123.0
    assert event["handle"] == {"resource": ours, "runs": [step], "created": True}
    assert event["message"] == f"emr run on {ours} (max_wait_seconds): not done after 0m00s"
    state = {c: emr.describe_cluster(ClusterId=c)["Cluster"]["Status"]["State"] for c in (ours, theirs)}
    assert state[ours] in ("TERMINATING", "TERMINATED")
    assert state[theirs] not in ("TERMINATING", "TERMINATED")
    emr.terminate_job_flows(JobFlowIds=[theirs])
