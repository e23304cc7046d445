"""EmrRunner's poll, wait and diagnosis on recorded EMR responses (botocore Stubber,
tests/fixtures/emr/steps.json), with a fake clock.

Why recorded responses beside the local EMR (tests/e2e/test_local_emr.py, which runs real steps):
they hold what the local EMR cannot produce, a step INTERRUPTED by a master instance failure and
one CANCELLED by a bootstrap failure, as EMR describes them, and the exact sequence of polls and
sleeps. The Stubber also checks that every request is valid for botocore's EMR model."""

from __future__ import annotations

import gzip
import io
import json

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from helpers import FIXTURES as TEST_FIXTURES
from helpers import emr_plan, fake_clock
from launcher.aws.emr_hook import EmrHook
from launcher.core.errors import DdbS3Error
from launcher.export.run import Handle
from launcher.export.run.emr import EmrRunner

pytestmark = pytest.mark.unit
FIXTURES = TEST_FIXTURES / "emr"
REC = json.loads((FIXTURES / "steps.json").read_text())
CID, SID = REC["cluster_id"], REC["step_id"]


def clients():
    kw = {"region_name": "eu-west-1", "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    emr, s3 = boto3.client("emr", **kw), boto3.client("s3", **kw)
    return emr, Stubber(emr), s3, Stubber(s3)


def queue(stub: Stubber, scenario: str, drop_log_file: bool = False) -> None:
    for op, response in json.loads(json.dumps(REC[scenario])):
        if drop_log_file and op == "describe_step":
            response["Step"]["Status"].get("FailureDetails", {}).pop("LogFile", None)
        params = {"ClusterId": CID} if op == "describe_cluster" else {"ClusterId": CID, "StepId": SID}
        stub.add_response(op, response, params)


def stderr_body() -> dict:
    data = gzip.compress((FIXTURES / "stderr.txt").read_bytes())
    return {"Body": StreamingBody(io.BytesIO(data), len(data)), "ContentLength": len(data)}


def waiting_runner(emr, s3, lines, **settings) -> EmrRunner:
    return EmrRunner(lines.append, hook=EmrHook(emr=emr, s3=s3), clock=fake_clock(), **settings)


def test_the_wait_polls_until_completed_and_reports_state_changes():
    emr, stub, s3, _ = clients()
    queue(stub, "success")
    lines: list[str] = []
    runner = waiting_runner(emr, s3, lines, poll_seconds=30)
    with stub:
        status = runner.wait(emr_plan(), Handle(CID, (SID,)))
        stub.assert_no_pending_responses()
    assert [s["Status"]["State"] for s in status.detail] == ["COMPLETED"] and runner.clock.slept == [30, 30]
    assert lines == [
        f"cluster {CID} STARTING; step 1/1 PENDING; 0m00s elapsed",
        f"cluster {CID} RUNNING; step 1/1 RUNNING; 0m30s elapsed",
        f"cluster {CID} RUNNING; step 1/1 COMPLETED; 1m00s elapsed",
    ]


def test_the_wait_gives_up_after_max_wait():
    emr, stub, s3, _ = clients()
    for _ in range(3):  # at 0, 30 and 60 s; the bound is 60 s
        stub.add_response("describe_cluster", REC["success"][2][1], {"ClusterId": CID})
        stub.add_response("describe_step", REC["success"][3][1], {"ClusterId": CID, "StepId": SID})
    with stub, pytest.raises(DdbS3Error) as e:
        waiting_runner(emr, s3, [], poll_seconds=30, max_wait_seconds=60).wait(emr_plan(), Handle(CID, (SID,)))
    stub.assert_no_pending_responses()
    assert str(e.value) == (
        f"emr run on {CID}: not done after 1m00s (--max-wait-seconds 60); what this run created is ended on the way out"
    )


def run_existing(scenario: str, log_uri: str | None = None, with_log: bool = True, drop_log_file: bool = False):
    """A full EmrRunner.run on an existing cluster: uploads, AddJobFlowSteps, the recorded wait."""
    emr, stub, s3, s3stub = clients()
    stub.add_response("describe_cluster", REC["success"][2][1], {"ClusterId": CID})
    stub.add_response("add_job_flow_steps", {"StepIds": [SID]}, {"JobFlowId": CID, "Steps": ANY})
    queue(stub, scenario, drop_log_file)
    for _ in range(3):  # export_job.py, ddbs3_job.zip, the helper jar
        s3stub.add_response("put_object", {}, {"Bucket": "lab-backups", "Key": ANY, "Body": ANY})
    if log_uri:  # each poll of a RUNNING step looks for its stdout (the job's counters): not archived yet
        running = sum(1 for op, r in REC[scenario] if op == "describe_step" and r["Step"]["Status"]["State"] == "RUNNING")
        for _ in range(running):
            s3stub.add_response(
                "list_objects_v2",
                {"KeyCount": 0, "IsTruncated": False},
                {"Bucket": "lab-logs", "Prefix": f"emr/{CID}/steps/{SID}/stdout.gz", "MaxKeys": 1},
            )
    if log_uri and with_log:
        s3stub.add_client_error("get_object", "NoSuchKey", http_status_code=404)  # not yet uploaded
        s3stub.add_response("get_object", stderr_body(), {"Bucket": "lab-logs", "Key": f"emr/{CID}/steps/{SID}/stderr.gz"})
    lines: list[str] = []
    runner = EmrRunner(
        lines.append,
        hook=EmrHook(emr=emr, s3=s3),
        clock=fake_clock(),
        log_poll_seconds=1,
        log_wait_seconds=5,
        helper_jar=FIXTURES / "steps.json",
    )
    plan = emr_plan(cluster=CID, **({"log_uri": log_uri} if log_uri else {}))
    with stub, s3stub:
        try:
            return runner.run(plan), lines
        except DdbS3Error as e:
            stub.assert_no_pending_responses()
            s3stub.assert_no_pending_responses()
            return e, lines


def test_failed_step_shows_failure_details_and_stderr_tail_as_probable_cause():
    err, lines = run_existing("failed", log_uri="s3://lab-logs/emr/")
    assert isinstance(err, DdbS3Error)
    msg = str(err)
    assert "\n" not in msg
    assert f"({SID}) on {CID} FAILED: Unknown Error: Exception in thread" in msg
    assert 'probable cause: Exception in thread "main" org.apache.spark.SparkException: Job aborted' in msg
    assert f"stderr: s3://lab-logs/emr/{CID}/steps/{SID}/stderr.gz" in msg
    tail = [line for line in lines if line.startswith("stderr | ")]
    assert len(tail) == 8 and "not authorized to perform: dynamodb:Scan" in "".join(tail)
    assert not any(line.startswith("terminated cluster") for line in lines)  # not ours: never terminated


def test_failed_step_without_log_uri_says_so():
    err, _ = run_existing("failed", drop_log_file=True)
    assert "no --log-uri" in str(err) and "Unknown Error" in str(err)


@pytest.mark.parametrize(
    "scenario, expect",
    [
        ("interrupted", "INTERRUPTED: Step was interrupted; cluster: INSTANCE_FAILURE Master instance (i-0a1b2c3d) failed"),
        ("cancelled", "CANCELLED: Job terminated; cluster: BOOTSTRAP_FAILURE On the master instance"),
    ],
)
def test_interrupted_and_cancelled_steps_fail_the_run(scenario, expect):
    emr, _, s3, _ = clients()
    stub = Stubber(emr)
    queue(stub, scenario)
    # failure() asks the cluster why once more
    stub.add_response("describe_cluster", REC[scenario][-2][1], {"ClusterId": CID})
    with stub:
        runner = waiting_runner(emr, s3, [])
        plan, handle = emr_plan(), Handle(CID, (SID,))
        msg = runner.diagnose(plan, handle, runner.wait(plan, handle))
        stub.assert_no_pending_responses()
    assert expect in msg


def test_success_on_existing_cluster_returns_result_and_log_location():
    result, lines = run_existing("success", log_uri="s3://lab-logs/emr/", with_log=False)
    assert result.cluster_id == CID and result.logs == [f"s3://lab-logs/emr/{CID}/steps/{SID}/"]
    assert any(line.startswith(f"added 1 step(s) to cluster {CID}") for line in lines)


def test_the_probable_cause_is_not_an_executors_shutdown_noise():
    from launcher.export.run.step_logs import probable_cause

    lines = [
        "botocore.errorfactory.ResourceNotFoundException: An error occurred (ResourceNotFoundException) when calling the Scan operation",
        "org.apache.spark.SparkException: Could not find CoarseGrainedScheduler.",
        "org.apache.spark.SparkException: Could not find AppClient.",
        "26/12/07 19:45:23 ERROR Inbox: Ignoring error",
        (
            "java.util.concurrent.RejectedExecutionException: Task java.util.concurrent.ScheduledThreadPoolExecutor$ScheduledFutureTask@738804"
            "[Not completed, task = java.util.concurrent.Executors$RunnableAdapter@43628da3[Wrapped task = org.apache.spark.scheduler."
            "cluster.StandaloneSchedulerBackend$StandaloneDriverEndpoint$$anon$2@708db378]] rejected from java.util.concurrent."
            "ScheduledThreadPoolExecutor@3222354e[Terminated, pool size = 0, active threads = 0, queued tasks = 0, completed tasks = 0]"
        ),
        "\tat java.base/java.util.concurrent.ThreadPoolExecutor$AbortPolicy.rejectedExecution(ThreadPoolExecutor.java:2065)",
    ]
    assert probable_cause(lines).startswith("botocore.errorfactory.ResourceNotFoundException")
