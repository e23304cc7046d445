"""IAM evaluated, not eyeballed (issue 13): every AWS call the tool makes in end-to-end runs on the
local stack is recorded on the wire and evaluated against the policy `ddb-s3 iam-policy --runner R`
prints for the same table, bucket, prefix, account and region, by a real IAM policy evaluator
(@cloud-copilot/iam-simulate, a pinned devDependency run by tests/iam/evaluate.mjs).

Recording: tests/faults/proxy.py's FaultProxy, with no faults, in front of dynalite, moto (S3) and
the local EMR's API; AWS_ENDPOINT_URL_* point the CLI, its Spark jobs and the JVM connector at the
proxies. Who made a call is read from its signature's access key id: the launcher signs with the
stack's key, the local EMR's nodes (bootstrap actions, artifacts, the steps, log archiving) with the
instance profile's (launcher/dev/local_emr.py INSTANCE_PROFILE_CREDENTIALS). tests/iam/calls.py maps
each call to IAM requests (action, resource, context keys).

Each scenario fails on
  - a call its principal's policy does not allow (denied or unmappable), listed with principal,
    action, resource and context;
  - an action a statement grants that no recorded call used, unless EXEMPT says why the scenario
    cannot use it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from calls import Decision, IamRequest, Scope, evaluate, granted, iam_requests, used

from faults import FaultPlan, FaultProxy
from faults.proxy import Seen
from helpers import NATIVE, stream_admin, unique_name
from launcher.aws.iam_policies import policies
from launcher.core import layout
from launcher.core.codec import item_line, wire_to_json
from launcher.core.s3args import S3WriteSettings
from launcher.dev.local_emr import GLUE_ROLE_CREDENTIALS, INSTANCE_PROFILE_CREDENTIALS, JOB_ROLE_CREDENTIALS
from launcher.dev.localstack import FAKE_KEY_ID, REGION, REPO_ROOT, LocalStack
from launcher.dev.sample_data import create_lab_table, lab_items, load_items
from launcher.job import commit, s3io

pytestmark = pytest.mark.e2e
DDB_S3 = str(Path(sys.executable).parent / "ddb-s3")
ACCOUNT = "123456789012"  # moto's account; the policies are printed for it
INSTANCE_KEY = INSTANCE_PROFILE_CREDENTIALS["AWS_ACCESS_KEY_ID"]
JOB_KEY = JOB_ROLE_CREDENTIALS["AWS_ACCESS_KEY_ID"]
GLUE_KEY = GLUE_ROLE_CREDENTIALS["AWS_ACCESS_KEY_ID"]
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/"

# Granted actions a scenario legitimately leaves unused, keyed by (statement Sid, action). Each
# reason says which path uses it; nothing else may go unused.
EXEMPT: dict[tuple[str, str], str] = {
    (
        "ExportWrite",
        "s3:AbortMultipartUpload",
    ): "a data file's multipart upload is aborted only when writing it fails (launcher/job/s3io.py)",
    ("ExportWrite", "s3:DeleteObject"): "the commit deletes data files of failed Spark task attempts (orphans); a clean run leaves none",
    ("ScanTable", "dynamodb:DescribeTable"): "the Hive engine's DynamoDBStorageHandler describes the table on the node (preCreateTable, "
    "configureTableJobProperties); the Spark readers take size and count from the plan",
    ("SseKmsKey", "kms:GenerateDataKey"): "with --kms-key-arn only: S3 calls KMS as the caller for SSE-KMS; the local stack has no KMS",
    ("SseKmsKey", "kms:Decrypt"): "with --kms-key-arn only: S3 calls KMS as the caller for SSE-KMS; the local stack has no KMS",
    (
        "EmrRunSteps",
        "elasticmapreduce:AddJobFlowSteps",
    ): "only with --cluster j-... (a running cluster); a transient cluster gets its steps in RunJobFlow",
    (
        "EmrListClusters",
        "elasticmapreduce:ListClusters",
    ): "`ddb-s3 clusters list`, and the cleanup after a RunJobFlow interrupted before it returned",
    ("StepLogsList", "s3:ListBucket"): "the launcher reads step logs only with --log-uri (a running step's stdout "
    "for its counters, a failed step's stderr)",
    ("StepLogsRead", "s3:GetObject"): "the launcher reads step logs only with --log-uri (a running step's stdout "
    "for its counters, a failed step's stderr)",
    (
        "ServerlessJobRuns",
        "emr-serverless:CancelJobRun",
    ): "only when the export is interrupted (Ctrl-C, SIGTERM, an error) while its job run goes on (evaluated in test_failed_and_interrupted_serverless_runs)",
    (
        "ServerlessListApplications",
        "emr-serverless:ListApplications",
    ): "the cleanup after a CreateApplication interrupted before it returned",
    (
        "DriverLogsList",
        "s3:ListBucket",
    ): "the launcher reads the driver's stderr from --log-uri only when the job run failed (evaluated in test_failed_and_interrupted_serverless_runs)",
    (
        "DriverLogsRead",
        "s3:GetObject",
    ): "the launcher reads the driver's stderr from --log-uri only when the job run failed (evaluated in test_failed_and_interrupted_serverless_runs)",
    (
        "GlueRunJob",
        "glue:BatchStopJobRun",
    ): "only when the export is interrupted while its Glue job run goes on (evaluated in test_failed_and_interrupted_serverless_runs)",
    (
        "DriverLogs",
        "logs:GetLogEvents",
    ): "the launcher reads the driver's stderr from CloudWatch Logs only when the job run failed (evaluated in test_failed_and_interrupted_serverless_runs)",
    (
        "JobLogGroups",
        "logs:CreateLogGroup",
    ): "Glue writes the job's logs as the job role; the local Glue writes them from its executor, not through the recording proxy",
    (
        "JobLogs",
        "logs:CreateLogStream",
    ): "Glue writes the job's logs as the job role; the local Glue writes them from its executor, not through the recording proxy",
    (
        "JobLogs",
        "logs:PutLogEvents",
    ): "Glue writes the job's logs as the job role; the local Glue writes them from its executor, not through the recording proxy",
}


# --------------------------------------------------------------------------- recording


@dataclass
class Recorder:
    """Proxies in front of dynalite and moto (and of the local EMR, once started), one plan each test."""

    stack: LocalStack
    dynamodb: FaultProxy
    s3: FaultProxy
    answer: Callable[[Seen], tuple[int, list, bytes] | None] | None = None
    emr: FaultProxy | None = None
    emr_stack: LocalStack | None = None

    def start_recording(self) -> FaultPlan:
        plan = FaultPlan()
        for p in (self.dynamodb, self.s3, self.emr):
            if p is not None:
                p.plan = plan
        return plan

    def env(self) -> dict[str, str]:
        """Every service the stack serves through a proxy: moto's EMR, Glue and STS through the S3
        proxy (calls are told apart by their signature's service, tests/iam/calls.py), or the local
        EMR's API once it runs."""
        # DynamoDB Streams is served on dynalite's port (launcher/dev/dynalite_streams.js): through its proxy too
        return {
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb.url,
            "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": self.dynamodb.url,
            "AWS_ENDPOINT_URL_S3": self.s3.url,
            "AWS_ENDPOINT_URL_STS": self.s3.url,
            "AWS_ENDPOINT_URL_GLUE": self.emr.url if self.emr is not None else self.s3.url,
            "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": self.emr.url if self.emr is not None else self.s3.url,
            "AWS_ENDPOINT_URL_EMR": self.emr.url if self.emr is not None else self.s3.url,
            "AWS_ENDPOINT_URL_EMR_SERVERLESS": self.emr.url if self.emr is not None else self.s3.url,
        }


@pytest.fixture(scope="module")
def recorder(local_stack) -> Iterator[Recorder]:
    holder: list[Recorder] = []

    def answer(seen: Seen) -> tuple[int, list, bytes] | None:
        return holder[0].answer(seen) if holder and holder[0].answer else None

    with (
        FaultProxy("dynamodb", local_stack.dynamodb_endpoint, FaultPlan(), answer=answer) as ddb,
        FaultProxy("s3", local_stack.s3_endpoint, FaultPlan()) as s3,
    ):
        rec = Recorder(local_stack, ddb, s3)
        holder.append(rec)
        try:
            yield rec
        finally:
            if rec.emr is not None:
                rec.emr.stop()
            if rec.emr_stack is not None:
                rec.emr_stack.stop()


@pytest.fixture
def recording(recorder, monkeypatch) -> Iterator[tuple[Recorder, FaultPlan]]:
    plan = recorder.start_recording()
    for k, v in recorder.env().items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("DDB_S3_POLL_SECONDS", "1")
    yield recorder, plan
    recorder.answer = None


@pytest.fixture(scope="module")
def recorded_emr(recorder, tmp_path_factory) -> Recorder:
    """A local EMR whose nodes reach S3 and DynamoDB through the recording proxies, and a proxy in
    front of its EMR API (what the launcher calls)."""
    if recorder.emr is None:
        behind = LocalStack(dynamodb_endpoint=recorder.dynamodb.url, s3_endpoint=recorder.s3.url)
        recorder.emr_stack = behind
        behind.start_local_emr(REPO_ROOT, sys.executable, tmp_path_factory.mktemp("iam-emr-nodes"), time.monotonic() + 60, 60)
        assert behind.emr_endpoint
        recorder.emr = FaultProxy("emr", behind.emr_endpoint, FaultPlan()).start()
    return recorder


# --------------------------------------------------------------------------- the check


def check(
    plan: FaultPlan,
    docs_by_principal: dict[str, tuple[str, dict[str, dict]]],
    keys: dict[str, str],
    unused_ok: frozenset[tuple[str, str]] = frozenset(),
) -> tuple[list[IamRequest], list[Decision]]:
    """Evaluate every recorded call under its principal's documents ({principal: (role ARN, {name:
    document})}, principals told by access key id in `keys`); fail on a denied or unmappable call
    and on a granted action no call used that EXEMPT does not excuse."""
    requests, problems = iam_requests(plan.requests(), Scope(ACCOUNT, REGION, keys))
    assert requests, "nothing was recorded: are the AWS_ENDPOINT_URL_* variables pointing at the proxies?"
    decisions = evaluate(requests, docs_by_principal, ACCOUNT)
    tally = Counter((r.principal, r.action, d.decision, ",".join(d.allowed_by)) for r, d in zip(requests, decisions, strict=True))
    print("recorded IAM requests (shown when the test fails):")
    for (principal, action, decision, by), n in sorted(tally.items()):
        print(f"  {n:5d} x {principal} {action} {decision} {by}")
    denied = {
        f"{d.decision}: {r.describe()}" + (f" [{d.error}]" if d.error else "")
        for r, d in zip(requests, decisions, strict=True)
        if d.decision != "Allowed"
    }
    # a context key the evaluator drops as not applicable to the action is a mapping error in calls.py
    ignored = sorted({f"{r.action}: {k}" for r, d in zip(requests, decisions, strict=True) for k in d.ignored_context_keys})
    docs = {name: doc for _, by_name in docs_by_principal.values() for name, doc in by_name.items()}
    unused = sorted(
        f"{doc}: {sid} grants {action}"
        for doc, sid, action in granted(docs) - used(requests, decisions)
        if (sid, action) not in EXEMPT and (sid, action) not in unused_ok
    )
    message = []
    if problems:
        message += ["calls that could not be mapped to IAM requests:", *sorted(set(problems))]
    if ignored:
        message += ["context keys the evaluator ignored (not applicable to the action: fix calls.py):", *ignored]
    if denied:
        message += [f"{len(denied)} distinct calls the printed policy does not allow:", *sorted(denied)]
    if unused:
        message += ["granted but used by no recorded call (remove them, or add them to EXEMPT with a reason):", *unused]
    assert not message, "\n".join(message)
    return requests, decisions


def run(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([DDB_S3, *args], check=False, capture_output=True, text=True, timeout=timeout)


def direct(stack: LocalStack, service: str) -> Any:
    """A client on the server itself, not through a proxy (setting up is not part of the recording)."""
    endpoint = stack.dynamodb_endpoint if service == "dynamodb" else stack.s3_endpoint
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION)


def lab_table(stack: LocalStack, items: int) -> str:
    ddb = direct(stack, "dynamodb")
    name = unique_name("iam")
    create_lab_table(ddb, name)
    if items:
        load_items(ddb, name, lab_items(items))
    return name


def new_bucket(stack: LocalStack) -> str:
    name = unique_name("iam").lower()
    direct(stack, "s3").create_bucket(Bucket=name)
    return name


def printed(runner: str, table: str, bucket: str, prefix: str, *extra: str) -> dict[str, dict]:
    """What `ddb-s3 iam-policy` prints for the scenario's table, bucket, prefix, region and account."""
    proc = run(
        "iam-policy",
        "--runner",
        runner,
        "--table",
        table,
        "--bucket",
        bucket,
        "--prefix",
        prefix,
        "--region",
        REGION,
        "--account",
        ACCOUNT,
        *extra,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def launcher_only(runner: str, table: str, bucket: str, prefix: str) -> dict[str, tuple[str, dict[str, dict]]]:
    return {"launcher": (ROLE_ARN + "ddb-s3-launcher", printed(runner, table, bucket, prefix))}


# --------------------------------------------------------------------------- scenarios


def test_local_export_verify_and_download(recording, tmp_path):
    rec, plan = recording
    table, bucket = lab_table(rec.stack, 120), new_bucket(rec.stack)
    proc = run(
        "export",
        "--runner",
        "local",
        "--table",
        table,
        "--to",
        f"s3://{bucket}/iam-local",
        "--json",
        "--segments",
        "4",
        "--work-dir",
        str(tmp_path / "work"),
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    uri = json.loads(proc.stdout)["exportUri"]
    for args in (["verify", uri], ["download", uri, str(tmp_path / "copy")]):
        proc = run(*args)
        assert proc.returncode == 0, proc.stderr[-3000:]
    check(plan, launcher_only("local", table, bucket, "iam-local"), {FAKE_KEY_ID: "launcher"})


def test_local_export_of_tables_named_by_a_glob(recording, tmp_path):
    """`--table 'base-*'` lists the tables (ListTables) and exports each; the policy printed for the
    glob names the tables as an ARN pattern."""
    rec, plan = recording
    ddb = direct(rec.stack, "dynamodb")
    base = unique_name("iamg")
    for suffix in ("a", "b"):
        create_lab_table(ddb, f"{base}-{suffix}")
        load_items(ddb, f"{base}-{suffix}", lab_items(20))
    bucket = new_bucket(rec.stack)
    proc = run(
        "export",
        "--runner",
        "local",
        "--table",
        f"{base}-*",
        "--to",
        f"s3://{bucket}/iam-glob",
        "--json",
        "--work-dir",
        str(tmp_path / "work"),
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert [r["table"] for r in json.loads(proc.stdout)] == [f"{base}-a", f"{base}-b"]
    check(plan, launcher_only("local", f"{base}-*", bucket, "iam-glob"), {FAKE_KEY_ID: "launcher"})


@pytest.mark.parametrize("reader", ["connector", "segments"])
def test_emr_transient_cluster_launcher_and_instance_role(recording, recorded_emr, reader):
    rec, plan = recording
    table, bucket = lab_table(rec.stack, 120), new_bucket(rec.stack)
    proc = run(
        "export",
        "--runner",
        "emr",
        "--reader",
        reader,
        "--table",
        table,
        "--to",
        f"s3://{bucket}/iam-emr",
        "--json",
        "--log-uri",
        f"s3://{bucket}/iam-logs/",
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    docs = printed("emr", table, bucket, "iam-emr", "--log-prefix", "iam-logs")
    requests, _ = check(
        plan,
        {
            "launcher": (ROLE_ARN + "ddb-s3-launcher", {"launcher": docs["launcher"]}),
            "instance_role": (ROLE_ARN + "EMR_EC2_DefaultRole", {"instance_role": docs["instance_role"]}),
        },
        {FAKE_KEY_ID: "launcher", INSTANCE_KEY: "instance_role"},
    )
    by = {r.principal for r in requests}
    assert by == {"launcher", "instance_role"}, by
    # the steps' DynamoDB reads came from the nodes: the JVM connector's (SDK v2) or boto3's in the
    # executors; the launcher's own Scans are the plan's size sample of a table not counted yet
    scans = [s for s in plan.requests("dynamodb", "Scan") if FAKE_KEY_ID not in s.headers.get("authorization", "")]
    launcher_scans = [s for s in plan.requests("dynamodb", "Scan") if FAKE_KEY_ID in s.headers.get("authorization", "")]
    sample = [json.loads(s.body) for s in launcher_scans]
    assert sample and all(b.get("TotalSegments") == 1000 or b.get("Limit") == 1000 for b in sample), sample
    assert scans and all(INSTANCE_KEY in s.headers.get("authorization", "") for s in scans)
    sdk = {"connector": "java", "segments": "boto3"}[reader]
    assert all(sdk in s.headers.get("user-agent", "").lower() for s in scans), {s.headers.get("user-agent") for s in scans}


@pytest.mark.parametrize("reader", ["connector", "segments"])
def test_emr_serverless_launcher_and_job_role(recording, recorded_emr, reader):
    """An application created, the job run on it, the application stopped and deleted: the launcher's
    calls under `launcher`, the job's (artifacts, Scan, export, its driver logs) under `job_role`."""
    rec, plan = recording
    table, bucket = lab_table(rec.stack, 120), new_bucket(rec.stack)
    proc = run(
        "export",
        "--runner",
        "emr-serverless",
        "--reader",
        reader,
        "--table",
        table,
        "--to",
        f"s3://{bucket}/iam-sls",
        "--json",
        "--log-uri",
        f"s3://{bucket}/iam-logs/",
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "deleted EMR Serverless application" in proc.stderr
    docs = printed("emr-serverless", table, bucket, "iam-sls", "--log-prefix", "iam-logs")
    requests, _ = check(
        plan,
        {
            "launcher": (ROLE_ARN + "ddb-s3-launcher", {"launcher": docs["launcher"]}),
            "job_role": (ROLE_ARN + "ddb-s3-serverless-job", {"job_role": docs["job_role"]}),
        },
        {FAKE_KEY_ID: "launcher", JOB_KEY: "job_role"},
    )
    assert {r.principal for r in requests} == {"launcher", "job_role"}
    actions = {r.action for r in requests if r.principal == "launcher"}
    assert {
        "emr-serverless:CreateApplication",
        "emr-serverless:StartJobRun",
        "emr-serverless:DeleteApplication",
        "iam:PassRole",
    } <= actions, actions
    scans = [s for s in plan.requests("dynamodb", "Scan") if FAKE_KEY_ID not in s.headers.get("authorization", "")]
    assert scans and all(JOB_KEY in s.headers.get("authorization", "") for s in scans)


@pytest.mark.parametrize("reader", ["connector", "segments"])
def test_glue_launcher_and_job_role(recording, recorded_emr, reader):
    """A Glue job created, run and deleted: the launcher's calls under `launcher`, the job's (artifacts
    and jars, Scan, the export) under `job_role`."""
    rec, plan = recording
    table, bucket = lab_table(rec.stack, 120), new_bucket(rec.stack)
    proc = run("export", "--runner", "glue", "--reader", reader, "--table", table, "--to", f"s3://{bucket}/iam-glue", "--json")
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "deleted Glue job" in proc.stderr
    docs = printed("glue", table, bucket, "iam-glue")
    requests, _ = check(
        plan,
        {
            "launcher": (ROLE_ARN + "ddb-s3-launcher", {"launcher": docs["launcher"]}),
            "job_role": (ROLE_ARN + "ddb-s3-glue-job", {"job_role": docs["job_role"]}),
        },
        {FAKE_KEY_ID: "launcher", GLUE_KEY: "job_role"},
    )
    assert {r.principal for r in requests} == {"launcher", "job_role"}
    actions = {r.action for r in requests if r.principal == "launcher"}
    assert {"glue:CreateJob", "glue:StartJobRun", "glue:DeleteJob", "iam:PassRole"} <= actions, actions


@pytest.mark.parametrize("runner", ["emr-serverless", "glue"])
def test_failed_and_interrupted_serverless_runs(recording, recorded_emr, runner):
    """The paths the happy scenarios leave to EXEMPT, evaluated: a run interrupted by SIGINT
    (CancelJobRun or BatchStopJobRun, then the teardown), and a run that fails (the table is gone when
    the job scans: the launcher reads the driver's stderr, from S3 or from CloudWatch Logs)."""
    import signal

    from launcher.aws.session import Aws
    from launcher.core.errors import DdbS3Error
    from launcher.export.flow import make_runner, plan_export, run_and_verify
    from launcher.options import build_request

    rec, plan = recording
    table, bucket = lab_table(rec.stack, 120), new_bucket(rec.stack)
    log = ["--log-uri", f"s3://{bucket}/iam-logs/"] if runner == "emr-serverless" else []
    proc = subprocess.Popen(
        [
            DDB_S3,
            "export",
            "--runner",
            runner,
            "--reader",
            "segments",
            "--read-percent",
            "0.0001",
            "--table",
            table,
            "--to",
            f"s3://{bucket}/iam-x",
            *log,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = ""
    assert proc.stderr is not None
    for line in proc.stderr:
        seen += line
        if " RUNNING; " in line and "job run " in line:
            break
    proc.send_signal(signal.SIGINT)
    seen += proc.communicate(timeout=120)[1]
    assert proc.returncode != 0 and ("CANCELLED" in seen or "STOPPED" in seen), seen[-3000:]
    flags = {"table": table, "to": f"s3://{bucket}/iam-x", "runner": runner, "reader": "segments", "poll_seconds": 1}
    if log:
        flags["log_uri"] = log[1]
    aws = Aws()
    failing = plan_export(build_request(flags), aws)
    direct(rec.stack, "dynamodb").delete_table(TableName=table)  # gone when the job scans
    runner_obj = make_runner(failing, aws, lambda line: None)
    runner_obj.log_poll_seconds = 1
    with pytest.raises(DdbS3Error, match="probable cause"):
        run_and_verify(failing, runner_obj, aws)
    key, role = {"emr-serverless": (JOB_KEY, "ddb-s3-serverless-job"), "glue": (GLUE_KEY, "ddb-s3-glue-job")}[runner]
    docs = printed(runner, table, bucket, "iam-x", *(["--log-prefix", "iam-logs"] if log else []))
    requests, _ = check(
        plan,
        {
            "launcher": (ROLE_ARN + "ddb-s3-launcher", {"launcher": docs["launcher"]}),
            "job_role": (ROLE_ARN + role, {"job_role": docs["job_role"]}),
        },
        {FAKE_KEY_ID: "launcher", key: "job_role"},
        # no export finishes here: nothing is verified, and the job never lists its data for the commit
        unused_ok=frozenset({("VerifyRead", "s3:GetObject"), ("VerifyList", "s3:ListBucket"), ("ExportList", "s3:ListBucket")}),
    )
    wanted = {"emr-serverless": {"emr-serverless:CancelJobRun", "s3:GetObject"}, "glue": {"glue:BatchStopJobRun", "logs:GetLogEvents"}}
    assert wanted[runner] <= {r.action for r in requests if r.principal == "launcher"}


# --as-of: the Scan and the table's stream (DescribeStream, GetShardIterator, GetRecords), each read
# by whoever scans the table (this process, the Spark driver and its tasks, the EMR nodes); the
# launcher describes the stream before any read. The stand-in's shards roll over every few seconds
# here: an open, quiet shard proves nothing until it closes, so the export would wait for it.


def stream_table(stack: LocalStack, items: int) -> str:
    """A lab table created with a NEW_AND_OLD_IMAGES stream, then loaded (the writes are in its stream)."""
    ddb = direct(stack, "dynamodb")
    name = unique_name("iam-asof")
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "patient_id", "KeyType": "HASH"}, {"AttributeName": "sample_id", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "patient_id", "AttributeType": "S"}, {"AttributeName": "sample_id", "AttributeType": "S"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    load_items(ddb, name, lab_items(items))
    return name


def stream_knobs(stack: LocalStack, knobs: dict[str, float]) -> dict[str, float]:
    """DdbS3Local.SetStreamKnobs on dynalite itself (an admin call: unsigned, not recorded); the knobs as they were."""

    def call(body: dict[str, float]) -> dict[str, Any]:
        return stream_admin(stack.dynamodb_endpoint, "SetStreamKnobs", body)

    saved = call({})
    call(knobs)
    return saved


@pytest.fixture
def rolling_shards(recorder) -> Iterator[None]:
    saved = stream_knobs(recorder.stack, {"DDB_S3_LOCAL_STREAM_ROLLOVER_S": 2, "DDB_S3_LOCAL_STREAM_SPLIT": 2})
    yield
    stream_knobs(recorder.stack, saved)


STREAM_ACTIONS = {"dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords"}


def stream_reads(requests: list[IamRequest], table: str) -> dict[str, set[str]]:
    """{principal: stream actions it was authorised for}, every one on the table's stream."""
    out: dict[str, set[str]] = {}
    for r in requests:
        if r.action in STREAM_ACTIONS:
            assert f":table/{table}/stream/" in r.resource, r.describe()
            out.setdefault(r.principal, set()).add(r.action)
    return out


@pytest.mark.parametrize("engine", ["python", "spark"])
def test_local_as_of_export_reads_the_stream(recording, rolling_shards, tmp_path, engine):
    rec, plan = recording
    table, bucket = stream_table(rec.stack, 60), new_bucket(rec.stack)
    proc = run(
        "export",
        "--runner",
        "local",
        "--engine",
        engine,
        "--as-of",
        "start",
        "--stream-wait-seconds",
        "120",
        "--table",
        table,
        "--to",
        f"s3://{bucket}/iam-asof",
        "--json",
        "--work-dir",
        str(tmp_path / "work"),
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert json.loads(proc.stdout)["itemCount"] == 60
    docs = printed("local", table, bucket, "iam-asof", "--as-of")
    requests, _ = check(plan, {"launcher": (ROLE_ARN + "ddb-s3-launcher", docs)}, {FAKE_KEY_ID: "launcher"})
    assert stream_reads(requests, table) == {"launcher": STREAM_ACTIONS}


@pytest.mark.parametrize("runner", ["emr", "emr-serverless", "glue"])
def test_cloud_as_of_export_reads_the_stream_where_it_scans(recording, recorded_emr, rolling_shards, runner):
    """The launcher checks the stream (DescribeStream); the job's driver and tasks read it, as the
    role that scans: the EMR nodes' instance role, the EMR Serverless or Glue job role."""
    rec, plan = recording
    table, bucket = stream_table(rec.stack, 60), new_bucket(rec.stack)
    logs = ["--log-uri", f"s3://{bucket}/iam-logs/"] if runner != "glue" else []
    proc = run(
        "export",
        "--runner",
        runner,
        "--as-of",
        "start",
        "--stream-wait-seconds",
        "120",
        "--table",
        table,
        "--to",
        f"s3://{bucket}/iam-asof",
        "--json",
        *logs,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert json.loads(proc.stdout)["itemCount"] == 60
    docs = printed(runner, table, bucket, "iam-asof", "--as-of", *(["--log-prefix", "iam-logs"] if logs else []))
    role, (key, arn) = {
        "emr": ("instance_role", (INSTANCE_KEY, "EMR_EC2_DefaultRole")),
        "emr-serverless": ("job_role", (JOB_KEY, "ddb-s3-serverless-job")),
        "glue": ("job_role", (GLUE_KEY, "ddb-s3-glue-job")),
    }[runner]
    requests, _ = check(
        plan,
        {"launcher": (ROLE_ARN + "ddb-s3-launcher", {"launcher": docs["launcher"]}), role: (ROLE_ARN + arn, {role: docs[role]})},
        {FAKE_KEY_ID: "launcher", key: role},
    )
    assert stream_reads(requests, table) == {"launcher": {"dynamodb:DescribeStream"}, role: STREAM_ACTIONS}


# The native engine: dynalite has no PITR and no export API, so the proxy answers those three calls
# as DynamoDB would (and puts a native export, tests/fixtures/backups/native-full, where DynamoDB
# would write it). The requests themselves are the tool's, recorded on the wire like all others.
def native_answers(stack: LocalStack, bucket: str, prefix: str) -> Callable[[Seen], tuple[int, list, bytes] | None]:
    export_id = NATIVE.name
    exports: dict[str, dict] = {}

    def reply(doc: dict) -> tuple[int, list, bytes]:
        return 200, [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", uuid.uuid4().hex)], json.dumps(doc).encode()

    def answer(seen: Seen) -> tuple[int, list, bytes] | None:
        body = json.loads(seen.body or b"{}")
        if seen.op == "DescribeContinuousBackups":
            return reply(
                {
                    "ContinuousBackupsDescription": {
                        "ContinuousBackupsStatus": "ENABLED",
                        "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "ENABLED"},
                    }
                }
            )
        if seen.op == "ExportTableToPointInTime":
            s3 = direct(stack, "s3")
            root = "/".join(x for x in (prefix, "AWSDynamoDB", export_id) if x)
            for f in NATIVE.rglob("*"):
                if f.is_file():
                    s3.put_object(Bucket=bucket, Key=f"{root}/{f.relative_to(NATIVE)}", Body=f.read_bytes())
            arn = f"{body['TableArn']}/export/{export_id}"
            exports[arn] = {
                "ExportArn": arn,
                "ExportStatus": "COMPLETED",
                "TableArn": body["TableArn"],
                "S3Bucket": body["S3Bucket"],
                "S3Prefix": body.get("S3Prefix"),
                "ItemCount": 40,
                "ExportManifest": f"{root}/manifest-summary.json",
                "ExportType": body.get("ExportType"),
            }
            return reply({"ExportDescription": dict(exports[arn], ExportStatus="IN_PROGRESS")})
        if seen.op == "DescribeExport":
            return reply({"ExportDescription": exports[body["ExportArn"]]})
        return None

    return answer


def test_native_export_and_verify(recording):
    rec, plan = recording
    table, bucket = lab_table(rec.stack, 0), new_bucket(rec.stack)
    rec.answer = native_answers(rec.stack, bucket, "iam-native")
    proc = run("export", "--engine", "native", "--table", table, "--to", f"s3://{bucket}/iam-native", "--json")
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert json.loads(proc.stdout)["itemCount"] == 40
    assert plan.requests("dynamodb", "DescribeExport"), "the runner never polled the export"
    check(plan, launcher_only("native", table, bucket, "iam-native"), {FAKE_KEY_ID: "launcher"})


def make_export(stack: LocalStack, bucket: str, prefix: str, items: list[dict], table: str) -> str:
    """An export in our layout, written by the job's own modules straight to moto (not recorded)."""
    s3 = direct(stack, "s3")
    export_id = layout.new_export_id(datetime.now(UTC))
    root = layout.export_root(prefix, export_id)
    settings = S3WriteSettings()
    commit.write_started(s3, bucket, root, settings)
    lines = (item_line(wire_to_json(i)) for i in items)
    files = list(s3io.write_data_files(s3, bucket, root + "data/", 0, lines, 40, settings))
    schema = {
        "KeySchema": [{"AttributeName": "patient_id", "KeyType": "HASH"}, {"AttributeName": "sample_id", "KeyType": "RANGE"}],
        "AttributeDefinitions": [
            {"AttributeName": "patient_id", "AttributeType": "S"},
            {"AttributeName": "sample_id", "AttributeType": "S"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
    commit.commit(s3, bucket, root, files, {"exportId": export_id, "tableName": table, "tableSchema": schema}, settings)
    return f"s3://{bucket}/{root}"


def test_restore_into_a_new_table_and_into_an_existing_one(recording, tmp_path):
    """One target table, one policy: created from the export (--create-table), then restored into
    again while it holds the items: refused without --force (the emptiness check) when it is not the
    same restore run again, put-if-absent
    with --force (every put meets an existing item and is compared), then --overwrite."""
    rec, plan = recording
    bucket = new_bucket(rec.stack)
    items = list(lab_items(60))
    uri = make_export(rec.stack, bucket, "iam-restore", items, "LabResults")
    target = unique_name("iam-restored")
    try:
        proc = run("restore", uri, "--table", target, "--create-table", "--json")
        assert proc.returncode == 0, proc.stderr[-3000:]
        # a restore that does not know the first one (another checkpoint: another machine) is refused
        proc = run("restore", uri, "--table", target, "--checkpoint", str(tmp_path / "elsewhere.json"), "--json")
        assert proc.returncode != 0 and "--force" in proc.stderr, proc.stderr[-3000:]
        for extra in ([], ["--overwrite"]):
            proc = run("restore", uri, "--table", target, "--force", "--json", *extra)
            assert proc.returncode == 0, proc.stderr[-3000:]
        assert plan.requests("dynamodb", "GetItem"), "put-if-absent never compared an existing item"
        check(plan, launcher_only("restore", target, bucket, "iam-restore"), {FAKE_KEY_ID: "launcher"})
    finally:
        direct(rec.stack, "dynamodb").delete_table(TableName=target)


def test_every_exemption_names_a_statement_that_grants_it():
    """EXEMPT stays honest: each entry is an action some printed document grants under that Sid."""
    docs = {}
    for runner in ("local", "emr", "emr-serverless", "glue", "native", "restore"):
        for name, doc in policies(
            runner,
            "LabResults",
            "lab-backups",
            "ddb",
            REGION,
            ACCOUNT,
            log_prefix="logs",
            kms_key_arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ).items():
            docs[f"{runner}/{name}"] = doc
    grants = {(sid, action) for _, sid, action in granted(docs)}
    assert set(EXEMPT) <= grants, sorted(set(EXEMPT) - grants)


# --------------------------------------------------------------------------- the checker itself (no servers)


def test_the_evaluator_decides_on_actions_resources_and_conditions():
    """evaluate.mjs on the printed emr documents: actions, resources and every condition kind they use."""
    docs = policies("emr", "LabResults", "lab-backups", "ddb", REGION, ACCOUNT)
    principals = {
        "launcher": (ROLE_ARN + "launcher", {"launcher": docs["launcher"]}),
        "instance_role": (ROLE_ARN + "EMR_EC2_DefaultRole", {"instance_role": docs["instance_role"]}),
    }
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/LabResults"
    cluster = f"arn:aws:elasticmapreduce:{REGION}:{ACCOUNT}:cluster/j-1"
    managed = {"aws:RequestTag/ddb-s3:managed": "true", "aws:TagKeys": ["ddb-s3:managed"]}
    cases = [
        (IamRequest("instance_role", "dynamodb:Scan", table), "Allowed", ("instance_role:ScanTable",)),
        (IamRequest("launcher", "dynamodb:PutItem", table), "ImplicitlyDenied", ()),  # the launcher never writes
        (IamRequest("instance_role", "dynamodb:Scan", table.replace("LabResults", "Other")), "ImplicitlyDenied", ()),
        (IamRequest("launcher", "s3:ListBucket", "arn:aws:s3:::lab-backups", {"s3:prefix": "ddb/"}), "Allowed", ("launcher:VerifyList",)),
        (IamRequest("launcher", "s3:ListBucket", "arn:aws:s3:::lab-backups", {"s3:prefix": "other/"}), "ImplicitlyDenied", ()),
        (IamRequest("launcher", "s3:ListBucket", "arn:aws:s3:::lab-backups"), "ImplicitlyDenied", ()),  # HeadBucket
        (IamRequest("launcher", "elasticmapreduce:RunJobFlow", "*", managed), "Allowed", ("launcher:EmrStart",)),
        (IamRequest("launcher", "elasticmapreduce:RunJobFlow", "*"), "ImplicitlyDenied", ()),  # untagged
        (
            IamRequest("launcher", "elasticmapreduce:TerminateJobFlows", cluster, {"aws:ResourceTag/ddb-s3:managed": "true"}),
            "Allowed",
            ("launcher:EmrEndOwnClusters",),
        ),
        (IamRequest("launcher", "elasticmapreduce:TerminateJobFlows", cluster), "ImplicitlyDenied", ()),  # not ours
        (
            IamRequest("launcher", "iam:PassRole", ROLE_ARN + "EMR_EC2_DefaultRole", {"iam:PassedToService": "ec2.amazonaws.com"}),
            "Allowed",
            ("launcher:PassInstanceRole",),
        ),
        (
            IamRequest("launcher", "iam:PassRole", ROLE_ARN + "EMR_DefaultRole", {"iam:PassedToService": "ec2.amazonaws.com"}),
            "ImplicitlyDenied",
            (),
        ),  # the service role goes to EMR only
        (IamRequest("launcher", "s3:NoSuchAction", "arn:aws:s3:::lab-backups/ddb/k"), "Error", ()),
    ]
    decisions = evaluate([r for r, _, _ in cases], principals, ACCOUNT)
    assert [(d.decision, d.allowed_by) for d in decisions] == [(want, by) for _, want, by in cases]


def test_check_fails_with_the_denied_calls_and_the_unused_grants():
    """check() on a synthetic recording and a restore policy that lacks GetItem (the defect this test
    found): it names the denied call and the grants no call used."""

    def call(op: str, body: dict) -> Seen:
        headers = {
            "authorization": f"AWS4-HMAC-SHA256 Credential={FAKE_KEY_ID}/20261127/{REGION}/dynamodb/aws4_request, "
            "SignedHeaders=host, Signature=00",
            "x-amz-target": f"DynamoDB_20120810.{op}",
        }
        return Seen("dynamodb", op, "POST", "/", headers, None, status=200, body=json.dumps(body).encode())

    plan = FaultPlan()
    plan.seen += [call("DescribeTable", {"TableName": "Tab1"}), call("GetItem", {"TableName": "Tab1", "Key": {}})]
    docs = policies("restore", "Tab1", "lab-backups", "ddb", REGION, ACCOUNT)
    for st in docs["restore"]["Statement"]:
        st["Action"] = [a for a in st["Action"] if a != "dynamodb:GetItem"]
    with pytest.raises(AssertionError) as e:
        check(plan, {"launcher": (ROLE_ARN + "x", docs)}, {FAKE_KEY_ID: "launcher"})
    message = str(e.value)
    assert f"ImplicitlyDenied: launcher: dynamodb:GetItem on arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Tab1" in message
    assert "restore: RestoreTable grants dynamodb:PutItem" in message and "restore: ReadExportRead grants s3:GetObject" in message
