"""EmrRunner's one line for a step that never ran: CANCELLED while PENDING, as EMR leaves every step
of a cluster whose bootstrap action failed (BOOTSTRAP_FAILURE) and the steps after one that failed
with TERMINATE_CLUSTER or CANCEL_AND_WAIT. Such a step has no StartDateTime and no logs: the runner
says why the cluster ended and where the bootstrap logs are, without waiting (up to
log_wait_seconds, 5 minutes by default) for a stderr that never comes. Recorded responses (botocore
Stubber) shaped as the local EMR answers them (tests/dev/test_local_emr_paths.py)."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from helpers import emr_plan, fake_clock
from launcher.aws.emr_hook import EmrHook
from launcher.export.run.emr import EmrRunner, started

pytestmark = pytest.mark.unit
CID, SID, MASTER = "j-2AXXXXXXGAPLF", "s-3ABCDEFGHIJK", "i-0a1b2c3d4e5f60718"
BOOTSTRAP = f"On the master instance ({MASTER}), bootstrap action 1 returned a non-zero return code"


def cancelled_step(**timeline) -> dict:
    return {
        "Id": SID,
        "Name": "ddb-s3 export LabResults",
        "ActionOnFailure": "TERMINATE_CLUSTER",
        "Config": {"Jar": "command-runner.jar", "Args": ["spark-submit"]},
        "Status": {"State": "CANCELLED", "StateChangeReason": {}, "Timeline": {"CreationDateTime": "2025-01-02T03:04:10Z", **timeline}},
    }


def diagnose(step: dict, cluster_reason: dict, log_uri: str | None) -> tuple[str | None, list[str], Stubber, Stubber]:
    kw = {"region_name": "eu-west-1", "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    emr, s3 = boto3.client("emr", **kw), boto3.client("s3", **kw)
    stub, s3stub = Stubber(emr), Stubber(s3)
    stub.add_response(
        "describe_cluster",
        {
            "Cluster": {
                "Id": CID,
                "Name": "ddb-s3 export LabResults",
                "Status": {"State": "TERMINATED_WITH_ERRORS", "StateChangeReason": cluster_reason},
            }
        },
        {"ClusterId": CID},
    )
    lines: list[str] = []
    runner = EmrRunner(lines.append, hook=EmrHook(emr=emr, s3=s3), clock=fake_clock(), log_poll_seconds=1, log_wait_seconds=300)
    plan = emr_plan(cluster=CID, **({"log_uri": log_uri} if log_uri else {}))
    with stub, s3stub:  # no S3 response is queued: a read of the step's stderr would fail the test
        message = runner.failure(runner.make_hook(plan), plan, CID, [step])
        stub.assert_no_pending_responses()
    return message, lines, stub, s3stub


def test_a_step_cancelled_by_a_bootstrap_failure_says_why_and_waits_for_no_log():
    message, lines, _, _ = diagnose(cancelled_step(), {"Code": "BOOTSTRAP_FAILURE", "Message": BOOTSTRAP}, "s3://lab-logs/emr/")
    assert message == (
        f"step 'ddb-s3 export LabResults' ({SID}) on {CID} CANCELLED: cluster: BOOTSTRAP_FAILURE {BOOTSTRAP}; "
        f"the step never started; bootstrap action logs: s3://lab-logs/emr/{CID}/node/"
    )
    assert not any("waiting for" in line for line in lines)


def test_a_step_cancelled_after_another_failed_says_the_clusters_reason():
    message, lines, _, _ = diagnose(cancelled_step(), {"Code": "STEP_FAILURE", "Message": "Shut down as step failed"}, None)
    assert message == (
        f"step 'ddb-s3 export LabResults' ({SID}) on {CID} CANCELLED: cluster: STEP_FAILURE Shut down as step failed; "
        "the step never started"
    )
    assert not lines


def test_only_a_cancelled_step_without_a_start_never_ran():
    assert not started(cancelled_step())
    assert started(cancelled_step(StartDateTime="2025-01-02T03:05:00Z"))  # CancelSteps can stop a running one
    for state in ("FAILED", "INTERRUPTED"):
        assert started({"Status": {"State": state, "Timeline": {}}})
