"""`--runner emr-serverless` end to end on the local EMR (launcher/dev/local_emr.py), which serves moto's
EMR Serverless API in-process and runs each job run as the service does: the run's own
sparkSubmitParameters and entry point, its s3:// artifacts, Python 3.9, the job runtime role's
credentials, the driver's logs under <logUri>/applications/<app>/jobs/<run>/SPARK_DRIVER/, cancel and
executionTimeoutMinutes honoured. No outcome is injected here."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from test_local_emr import read_back

from helpers import table_items, unique_name
from launcher.core.codec import items_equal
from launcher.core.wait import poll_until
from launcher.dev.localstack import REPO_ROOT, LocalStack
from launcher.dev.sample_data import create_lab_table, lab_items, load_items

pytestmark = pytest.mark.e2e
DDB_S3 = str(Path(sys.executable).parent / "ddb-s3")


@pytest.fixture(scope="module")
def local_emr(local_stack, tmp_path_factory) -> str:
    if local_stack.emr_endpoint is None:
        local_stack.start_local_emr(REPO_ROOT, sys.executable, tmp_path_factory.mktemp("emr-nodes"), time.monotonic() + 60, 60)
    assert local_stack.emr_endpoint
    return local_stack.emr_endpoint


@pytest.fixture
def on_serverless(local_emr, monkeypatch) -> Any:
    monkeypatch.setenv("AWS_ENDPOINT_URL_EMR_SERVERLESS", local_emr)
    monkeypatch.setenv("DDB_S3_POLL_SECONDS", "1")
    return boto3.client("emr-serverless", endpoint_url=local_emr)


@pytest.fixture(scope="module")
def source(local_stack) -> tuple[str, str, dict]:
    ddb = boto3.client("dynamodb")
    name = unique_name("lsls")
    create_lab_table(ddb, name)
    load_items(ddb, name, lab_items(300))
    items = table_items(ddb, name)
    bucket = unique_name("lsls").lower()
    boto3.client("s3").create_bucket(Bucket=bucket)
    return name, bucket, items


def export(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([DDB_S3, "export", "--runner", "emr-serverless", "--json", *args], capture_output=True, text=True, timeout=600)


def driver_log(bucket: str, app_id: str, run_id: str, name: str) -> str:
    import gzip

    key = f"logs/applications/{app_id}/jobs/{run_id}/SPARK_DRIVER/{name}"
    return gzip.decompress(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()).decode(errors="replace")


def test_export_runs_as_a_job_run_verifies_and_deletes_its_application(on_serverless, source):
    table, bucket, items = source
    proc = export("--table", table, "--to", f"s3://{bucket}/sls", "--log-uri", f"s3://{bucket}/logs/")
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout)
    assert result["itemCount"] == len(items) == 300
    back = read_back(bucket, result["exportUri"])
    assert back.keys() == items.keys()
    assert all(items_equal(items[k], back[k]) for k in items)
    app_id, run_id = result["clusterId"].split("/")
    assert f"created EMR Serverless application {app_id}" in proc.stderr
    assert f"job run {run_id} RUNNING" in proc.stderr and f"job run {run_id} SUCCESS" in proc.stderr
    assert f"deleted EMR Serverless application {app_id} (the export finished)" in proc.stderr
    assert on_serverless.get_application(applicationId=app_id)["application"]["state"] == "TERMINATED"  # deleted
    run = on_serverless.get_job_run(applicationId=app_id, jobRunId=run_id)["jobRun"]
    assert run["state"] == "SUCCESS" and run["executionTimeoutMinutes"] >= 60
    assert "--py-files s3://" in run["jobDriver"]["sparkSubmit"]["sparkSubmitParameters"]
    # the driver ran under EMR 7's Python 3.9 (boto3's warning, which the job's driver writes to
    # stdout), and its logs are where EMR Serverless writes them
    assert "python3.9" in driver_log(bucket, app_id, run_id, "stdout.gz")
    assert "StandaloneSchedulerBackend" in driver_log(bucket, app_id, run_id, "stderr.gz")  # executors apart from it


def test_existing_application_runs_the_job_and_stays(on_serverless, source):
    table, bucket, items = source
    app_id = on_serverless.create_application(name="team-app", releaseLabel="emr-7.9.0", type="SPARK")["applicationId"]
    proc = export("--table", table, "--to", f"s3://{bucket}/sls-existing", "--reader", "segments", "--application-id", app_id)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert json.loads(proc.stdout)["itemCount"] == len(items)
    assert "deleted EMR Serverless application" not in proc.stderr  # not ours to delete
    assert on_serverless.get_application(applicationId=app_id)["application"]["state"] == "STARTED"


def test_failed_run_reports_the_cause_from_the_driver_stderr_on_s3(on_serverless, source):
    from launcher.aws.session import Aws
    from launcher.core.errors import DdbS3Error
    from launcher.export.flow import plan_export, run_and_verify
    from launcher.export.run.emr_serverless import EmrServerlessRunner
    from launcher.options import build_request

    _, bucket, _ = source
    ddb = boto3.client("dynamodb")
    doomed = unique_name("lsls-gone")
    create_lab_table(ddb, doomed)
    plan = plan_export(
        build_request(
            {
                "table": doomed,
                "to": f"s3://{bucket}/failed",
                "runner": "emr-serverless",
                "reader": "segments",
                "log_uri": f"s3://{bucket}/logs/",
            }
        )
    )
    ddb.delete_table(TableName=doomed)  # gone between the plan and the run: the Scan fails in the job
    lines: list[str] = []
    runner = EmrServerlessRunner(progress=lines.append, poll_seconds=1, log_wait_seconds=30, log_poll_seconds=1)
    with pytest.raises(DdbS3Error) as e:
        run_and_verify(plan, runner, Aws())
    message = str(e.value)
    assert "FAILED" in message and "ResourceNotFoundException" in message, message
    assert f"s3://{bucket}/logs/applications/" in message and message.endswith("/SPARK_DRIVER/stderr.gz)"), message
    assert any(line.startswith("stderr | ") for line in lines)
    assert any(line.startswith("deleted EMR Serverless application") for line in lines), lines


def started(proc: subprocess.Popen) -> tuple[str, str, str]:
    """Read the CLI's stderr until its job run is RUNNING: (seen so far, application id, run id)."""
    seen = ""
    assert proc.stderr is not None
    for line in proc.stderr:
        seen += line
        if " RUNNING; " in line and "job run " in line:
            break
    app_id = seen.split("created EMR Serverless application ", 1)[1].split()[0]
    run_id = seen.split("started job run ", 1)[1].split()[0]
    return seen, app_id, run_id


# SIGTERM only: SIGINT takes the same path (launcher/export/run/signals.py), tested on the local and EMR runners
@pytest.mark.parametrize("sig", [signal.SIGTERM])
def test_signal_cancels_the_run_and_deletes_the_application(on_serverless, source, sig):
    table, bucket, _ = source
    proc = subprocess.Popen(
        [
            DDB_S3,
            "export",
            "--runner",
            "emr-serverless",
            "--table",
            table,
            "--to",
            f"s3://{bucket}/sig",
            "--reader",
            "segments",
            "--read-percent",
            "0.0001",
        ],  # 4 units/s: the run goes on for a while
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )  # as in a background job
    seen, app_id, run_id = started(proc)
    proc.send_signal(sig)
    rest = proc.communicate(timeout=120)[1]
    assert proc.returncode != 0
    assert f"job run {run_id} CANCELLED" in seen + rest, (seen + rest)[-3000:]
    assert f"deleted EMR Serverless application {app_id}" in seen + rest
    run = on_serverless.get_job_run(applicationId=app_id, jobRunId=run_id)["jobRun"]
    assert run["state"] == "CANCELLED" and "CancelJobRun" in run["stateDetails"]
    assert on_serverless.get_application(applicationId=app_id)["application"]["state"] == "TERMINATED"
    left = subprocess.run(["pgrep", "-f", run_id], capture_output=True, text=True).stdout.split()
    assert not left, f"processes of {run_id} still running: {left}"


@pytest.fixture(scope="module")
def fast_clock_emr(local_stack, tmp_path_factory) -> Any:
    """A second local EMR on the same servers whose minutes last 2 seconds, so executionTimeoutMinutes
    (at least 5 on EMR Serverless) ends a run in 10 s."""
    stack = LocalStack(dynamodb_endpoint=local_stack.dynamodb_endpoint, s3_endpoint=local_stack.s3_endpoint)
    os.environ["DDB_S3_LOCAL_MINUTE_SECONDS"] = "2"
    try:
        stack.start_local_emr(REPO_ROOT, sys.executable, tmp_path_factory.mktemp("fast-emr"), time.monotonic() + 60, 60)
    finally:
        del os.environ["DDB_S3_LOCAL_MINUTE_SECONDS"]
    yield stack.emr_endpoint
    stack.stop()


def test_a_run_past_its_timeout_is_cancelled_and_the_export_fails_saying_so(fast_clock_emr, source, monkeypatch):
    table, bucket, _ = source
    monkeypatch.setenv("AWS_ENDPOINT_URL_EMR_SERVERLESS", fast_clock_emr)
    proc = export(
        "--table",
        table,
        "--to",
        f"s3://{bucket}/timeout",
        "--reader",
        "segments",
        "--read-percent",
        "0.0001",
        "--max-hours",
        "0.05",
        "--poll-seconds",
        "1",
        "--log-uri",
        f"s3://{bucket}/logs/",
    )
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "timeout 5 minutes" in proc.stderr  # --max-hours 0.05 is 3 minutes; EMR Serverless takes 5 at least
    last = proc.stderr.strip().splitlines()[-1]
    assert "CANCELLED" in last and "timed out after 5 minutes (executionTimeoutMinutes)" in last, last
    assert "deleted EMR Serverless application" in proc.stderr


def test_the_local_service_refuses_a_job_run_while_the_application_is_creating(on_serverless):
    """The stand-in itself: a new application is CREATING for a while (AWS: "isn't ready to use
    yet"), and a StartJobRun then is refused; once CREATED, the same request is accepted."""
    app = on_serverless.create_application(
        name="ddb-s3-states-test", releaseLabel="emr-7.9.0", type="SPARK", clientToken=unique_name("tok")
    )["applicationId"]
    assert on_serverless.get_application(applicationId=app)["application"]["state"] == "CREATING"
    request = {
        "applicationId": app,
        "clientToken": unique_name("tok"),
        "name": "states",
        "executionRoleArn": "arn:aws:iam::123456789012:role/ddb-s3-serverless-job",
        "jobDriver": {"sparkSubmit": {"entryPoint": "s3://nowhere/job.py"}},
    }
    with pytest.raises(on_serverless.exceptions.ValidationException, match="is in CREATING state"):
        on_serverless.start_job_run(**request)
    state = poll_until(
        lambda: on_serverless.get_application(applicationId=app)["application"]["state"],
        lambda st: st != "CREATING",
        every=0.2,
        timeout=30,
        what=f"application {app} leaving CREATING",
    )
    assert state == "CREATED"
    run = on_serverless.start_job_run(**request)["jobRunId"]
    on_serverless.cancel_job_run(applicationId=app, jobRunId=run)
