"""`--runner glue` end to end on the local EMR (launcher/dev/local_emr.py), which serves moto's Glue and
CloudWatch Logs APIs in-process and runs each Glue job run as Glue 5 does: the job's script with its
--extra-jars and --extra-py-files, Python 3.11, the job role's credentials, the run's Timeout, the
driver's stderr in /aws-glue/jobs/error. No outcome is injected here."""

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
def on_glue(local_emr, monkeypatch) -> Any:
    monkeypatch.setenv("AWS_ENDPOINT_URL_GLUE", local_emr)
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", local_emr)
    monkeypatch.setenv("DDB_S3_POLL_SECONDS", "1")
    return boto3.client("glue", endpoint_url=local_emr)


@pytest.fixture(scope="module")
def source(local_stack) -> tuple[str, str, dict]:
    ddb = boto3.client("dynamodb")
    name = unique_name("lglue")
    create_lab_table(ddb, name)
    load_items(ddb, name, lab_items(300))
    items = table_items(ddb, name)
    bucket = unique_name("lglue").lower()
    boto3.client("s3").create_bucket(Bucket=bucket)
    return name, bucket, items


def export(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([DDB_S3, "export", "--runner", "glue", "--json", *args], capture_output=True, text=True, timeout=600)


def job_names(glue: Any) -> set[str]:
    return set(glue.list_jobs()["JobNames"])


@pytest.mark.parametrize("reader, keep", [("connector", False), ("segments", True)])
def test_export_runs_as_a_glue_job_verifies_and_deletes_the_job_unless_kept(on_glue, source, reader, keep):
    """Both readers, verified item for item; the job is deleted after the run, or left with --keep
    (one run each: the two cases share everything else)."""
    table, bucket, items = source
    proc = export("--table", table, "--to", f"s3://{bucket}/glue-{reader}", "--reader", reader, *(["--keep"] if keep else []))
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout)
    assert result["itemCount"] == len(items) == 300
    back = read_back(bucket, result["exportUri"])
    assert back.keys() == items.keys()
    assert all(items_equal(items[k], back[k]) for k in items)
    job, run_id = result["clusterId"].split("/")
    assert f"created Glue job {job}" in proc.stderr and f"job run {run_id} SUCCEEDED" in proc.stderr
    if not keep:
        assert f"deleted Glue job {job} (the export finished)" in proc.stderr
        assert job not in job_names(on_glue)
        return
    assert "deleted Glue job" not in proc.stderr and job in job_names(on_glue)
    tags = on_glue.get_tags(ResourceArn=f"arn:aws:glue:us-east-1:123456789012:job/{job}")["Tags"]
    assert tags["ddb-s3:managed"] == "true"
    on_glue.delete_job(JobName=job)


def test_existing_job_is_updated_run_and_kept(on_glue, source):
    """`--glue-job`: the user's job runs the export with its own settings kept (Connections,
    SecurityConfiguration, DefaultArguments such as --TempDir, NotificationProperty, ...: the local
    UpdateJob replaces the whole definition, as Glue's does), and is put back as it was after the run,
    not deleted (issue 23). In-process, to look at the job while it holds the export's definition."""
    from launcher.aws.session import Aws
    from launcher.export.flow import plan_export, run_and_verify
    from launcher.export.render import glue
    from launcher.export.run.glue import GlueRunner
    from launcher.options import build_request

    table, bucket, items = source
    name = unique_name("team-export")
    on_glue.create_job(
        Name=name,
        Role="team-role",
        Description="the team's nightly job",
        Command={"Name": "glueetl", "ScriptLocation": "s3://elsewhere/x.py", "PythonVersion": "3"},
        DefaultArguments={
            "--TempDir": f"s3://{bucket}/team-tmp/",
            "--enable-metrics": "true",
            "--job-bookmark-option": "job-bookmark-enable",
        },
        Connections={"Connections": ["team-vpc"]},
        SecurityConfiguration="team-kms",
        NotificationProperty={"NotifyDelayAfter": 10},
        MaxRetries=2,
        Timeout=45,
        GlueVersion="4.0",
        WorkerType="G.2X",
        NumberOfWorkers=4,
        ExecutionClass="FLEX",
    )
    before = on_glue.get_job(JobName=name)["Job"]
    during: dict[str, Any] = {}
    lines: list[str] = []

    def progress(line: str) -> None:
        lines.append(line)
        if line.startswith("started job run "):  # the run has started: the job holds our definition
            during.update(on_glue.get_job(JobName=name)["Job"])

    plan = plan_export(
        build_request({"table": table, "to": f"s3://{bucket}/glue-existing", "runner": "glue", "glue_job": name, "workers": 3})
    )
    outcome = run_and_verify(plan, GlueRunner(progress=progress, poll_seconds=1), Aws())
    assert outcome.report is not None and outcome.report.ok, outcome.report.problems if outcome.report else None
    assert outcome.report.summary["itemCount"] == outcome.report.item_count == len(items)
    assert any(line.startswith(f"updated Glue job {name} to run this export") for line in lines), lines
    assert f"put Glue job {name} back as it was before the run (the export finished)" in lines, lines
    assert not any("deleted Glue job" in line for line in lines)
    # during the run: theirs, with ours on top
    for key in ("Connections", "SecurityConfiguration", "NotificationProperty", "Description", "Timeout"):
        assert during[key] == before[key], key
    assert (
        during["DefaultArguments"]["--TempDir"] == f"s3://{bucket}/team-tmp/" and during["DefaultArguments"]["--enable-metrics"] == "true"
    )
    assert during["DefaultArguments"]["--job-bookmark-option"] == "job-bookmark-disable"
    assert during["Command"]["ScriptLocation"] == f"{plan.artifacts_uri}/export_job.py" and during["Role"] == plan.glue.role
    assert (during["GlueVersion"], during["WorkerType"], during["NumberOfWorkers"], during["MaxRetries"]) == ("5.0", "G.1X", 3, 0)
    assert during["ExecutionClass"] == "STANDARD"
    # after it: the job as it was, every member a JobUpdate carries
    after = on_glue.get_job(JobName=name)["Job"]
    assert glue.as_job_update(after) == glue.as_job_update(before)
    assert after["Command"]["ScriptLocation"] == "s3://elsewhere/x.py" and after["Connections"] == {"Connections": ["team-vpc"]}
    on_glue.delete_job(JobName=name)


def test_failed_run_reports_the_cause_from_its_cloudwatch_log(on_glue, source):
    from launcher.aws.session import Aws
    from launcher.core.errors import DdbS3Error
    from launcher.export.flow import plan_export, run_and_verify
    from launcher.export.run.glue import GlueRunner
    from launcher.options import build_request

    _, bucket, _ = source
    ddb = boto3.client("dynamodb")
    doomed = unique_name("lglue-gone")
    create_lab_table(ddb, doomed)
    plan = plan_export(build_request({"table": doomed, "to": f"s3://{bucket}/glue-failed", "runner": "glue", "reader": "segments"}))
    ddb.delete_table(TableName=doomed)  # gone between the plan and the run: the Scan fails in the job
    lines: list[str] = []
    runner = GlueRunner(progress=lines.append, poll_seconds=1, log_wait_seconds=30, log_poll_seconds=1)
    with pytest.raises(DdbS3Error) as e:
        run_and_verify(plan, runner, Aws())
    message = str(e.value)
    assert " FAILED: " in message and "ResourceNotFoundException" in message, message
    assert message.endswith(f"(CloudWatch Logs /aws-glue/jobs/error, stream {message.split('job run ')[1].split(maxsplit=1)[0]})"), message
    assert any(line.startswith("stderr | ") for line in lines)
    assert plan.glue.job_name not in job_names(on_glue)


# SIGTERM only: SIGINT takes the same path (launcher/export/run/signals.py), tested on the local and EMR runners
@pytest.mark.parametrize("sig", [signal.SIGTERM])
def test_signal_stops_the_run_and_deletes_the_job(on_glue, source, sig):
    table, bucket, _ = source
    proc = subprocess.Popen(
        [
            DDB_S3,
            "export",
            "--runner",
            "glue",
            "--table",
            table,
            "--to",
            f"s3://{bucket}/glue-sig",
            "--reader",
            "segments",
            "--read-percent",
            "0.0001",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    seen = ""
    assert proc.stderr is not None
    for line in proc.stderr:
        seen += line
        if " RUNNING; " in line and "job run " in line:
            break
    job = seen.split("created Glue job ", 1)[1].split()[0]
    run_id = seen.split("started job run ", 1)[1].split()[0]
    proc.send_signal(sig)
    rest = proc.communicate(timeout=120)[1]
    assert proc.returncode != 0
    assert f"job run {run_id} STOPPED" in seen + rest, (seen + rest)[-3000:]
    assert f"deleted Glue job {job}" in seen + rest
    assert job not in job_names(on_glue)
    left = subprocess.run(["pgrep", "-f", run_id], capture_output=True, text=True).stdout.split()
    assert not left, f"processes of {run_id} still running: {left}"


@pytest.fixture(scope="module")
def fast_clock_emr(local_stack, tmp_path_factory) -> Any:
    """A second local EMR on the same servers whose minutes last 5 seconds."""
    stack = LocalStack(dynamodb_endpoint=local_stack.dynamodb_endpoint, s3_endpoint=local_stack.s3_endpoint)
    os.environ["DDB_S3_LOCAL_MINUTE_SECONDS"] = "5"
    try:
        stack.start_local_emr(REPO_ROOT, sys.executable, tmp_path_factory.mktemp("fast-glue"), time.monotonic() + 60, 60)
    finally:
        del os.environ["DDB_S3_LOCAL_MINUTE_SECONDS"]
    yield stack.emr_endpoint
    stack.stop()


def test_a_run_past_its_timeout_ends_timeout_and_the_export_fails_saying_so(fast_clock_emr, source, monkeypatch):
    table, bucket, _ = source
    monkeypatch.setenv("AWS_ENDPOINT_URL_GLUE", fast_clock_emr)
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", fast_clock_emr)
    proc = export(
        "--table",
        table,
        "--to",
        f"s3://{bucket}/glue-timeout",
        "--reader",
        "segments",
        "--read-percent",
        "0.0001",
        "--max-hours",
        "0.02",
        "--poll-seconds",
        "1",
    )
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "timeout 2 minutes" in proc.stderr  # --max-hours 0.02 is 72 s: 2 whole minutes
    last = proc.stderr.strip().splitlines()[-1]
    assert " TIMEOUT: " in last and "timed out after 2 minutes" in last, last
    assert "deleted Glue job" in proc.stderr
