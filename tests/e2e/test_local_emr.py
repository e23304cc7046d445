"""`--runner emr` end to end on the local EMR (launcher/dev/local_emr.py): moto's EMR API with a step
executor that runs what the runner sent as EMR would: the step's own spark-submit arguments, its
s3:// artifacts, the connector at EMR's path, Python 3.9 for the driver and the workers, step logs
archived under the LogUri. No step outcome is injected here."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest

from helpers import cluster_state_after_termination, table_items, unique_name
from launcher.core.codec import item_key, items_equal, parse_item_line
from launcher.core.wait import poll_until
from launcher.dev.localstack import REPO_ROOT
from launcher.dev.sample_data import create_lab_table, lab_items, load_items

pytestmark = pytest.mark.e2e
KEYS = ["patient_id", "sample_id"]
DDB_S3 = str(Path(sys.executable).parent / "ddb-s3")


@pytest.fixture(scope="module")
def local_emr(local_stack, tmp_path_factory) -> str:
    """The local EMR beside the session's stack (started once; moto's own EMR API stays the default)."""
    if local_stack.emr_endpoint is None:
        local_stack.start_local_emr(REPO_ROOT, sys.executable, tmp_path_factory.mktemp("emr-nodes"), time.monotonic() + 60, 60)
    assert local_stack.emr_endpoint
    return local_stack.emr_endpoint


@pytest.fixture
def on_local_emr(local_emr, monkeypatch) -> Any:
    monkeypatch.setenv("AWS_ENDPOINT_URL_EMR", local_emr)
    monkeypatch.setenv("DDB_S3_POLL_SECONDS", "1")
    return boto3.client("emr")


@pytest.fixture(scope="module")
def source(local_stack) -> tuple[str, str, dict]:
    ddb = boto3.client("dynamodb")
    name = unique_name("lemr")
    create_lab_table(ddb, name)
    load_items(ddb, name, lab_items(300))
    items = table_items(ddb, name)
    bucket = unique_name("lemr").lower()
    boto3.client("s3").create_bucket(Bucket=bucket)
    return name, bucket, items


def export(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([DDB_S3, "export", "--runner", "emr", "--json", *args], capture_output=True, text=True, timeout=600)


def read_back(bucket: str, uri: str) -> dict:
    s3 = boto3.client("s3")
    root = uri.split(bucket + "/", 1)[1]
    out = {}
    for entry in s3.get_object(Bucket=bucket, Key=root + "manifest-files.json")["Body"].read().decode().splitlines():
        body = s3.get_object(Bucket=bucket, Key=json.loads(entry)["dataFileS3Key"])["Body"].read()
        for line in gzip.decompress(body).decode().splitlines():
            item = parse_item_line(line)
            out[item_key(item, KEYS)] = item
    return out


def step_log(bucket: str, cluster_id: str, name: str) -> str:
    s3 = boto3.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"logs/{cluster_id}/steps/")["Contents"]]
    key = next(k for k in keys if k.endswith("/" + name))
    return gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).decode(errors="replace")


@pytest.mark.parametrize("reader, extra", [("connector", []), ("segments", ["--consistent-read"])])
def test_transient_cluster_exports_verifies_and_ends(on_local_emr, source, reader, extra):
    table, bucket, items = source
    proc = export("--table", table, "--to", f"s3://{bucket}/{reader}", "--reader", reader, "--log-uri", f"s3://{bucket}/logs/", *extra)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout)
    assert result["itemCount"] == len(items) == 300
    back = read_back(bucket, result["exportUri"])
    assert back.keys() == items.keys()
    assert all(items_equal(items[k], back[k]) for k in items)
    # the runner saw the cluster run its step and end by itself, as EMR reports it
    assert "step 1/1 RUNNING" in proc.stderr and "step 1/1 COMPLETED" in proc.stderr
    assert cluster_state_after_termination(on_local_emr, result["clusterId"]) == "TERMINATED"
    cluster = on_local_emr.describe_cluster(ClusterId=result["clusterId"])["Cluster"]
    assert cluster["Status"]["StateChangeReason"]["Code"] == "ALL_STEPS_COMPLETED"
    # the driver ran under EMR 7's Python 3.9 (boto3 itself says so when imported on 3.9; the job's
    # driver writes its warnings to stdout)
    assert "python3.9" in step_log(bucket, result["clusterId"], "stdout.gz")


def test_a_running_step_shows_the_jobs_counters_from_its_archived_stdout(on_local_emr, source):
    """The wait reads the step's stdout as EMR archives it (every ~5 minutes there, every few seconds
    on the local EMR) and shows the driver's counters: tasks from Spark's status tracker, items and
    bytes from the job's accumulators."""
    table, bucket, items = source
    proc = export(
        "--table",
        table,
        "--to",
        f"s3://{bucket}/counters",
        "--reader",
        "segments",
        "--segments",
        "1",
        # 2 units/s on one segment: ~15 s of reading, so several of the driver's 5-second
        # counter lines are archived (every 3 s here) while the step still runs
        "--read-percent",
        "0.00005",
        "--log-uri",
        f"s3://{bucket}/logs/",
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    running = [line for line in proc.stderr.splitlines() if "step 1/1 RUNNING (" in line]
    assert running, proc.stderr[-3000:]
    assert "tasks done" in running[-1] and "written so far" in running[-1], running
    # the driver's last word in the archived stdout: every task done, every item counted
    from launcher.core.result_line import last_counters

    cluster_id = json.loads(proc.stdout)["clusterId"]
    final = last_counters(step_log(bucket, cluster_id, "stdout.gz"))
    assert final["finished"] and final["items"] == len(items) and final["tasksDone"] == final["tasks"] > 0, final
    # the executors' own logs, archived as YARN's containers' are (issue 23): one application, its
    # executors' stderr each in a container folder of their own, written by the executor's JVM
    s3 = boto3.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"logs/{cluster_id}/containers/")["Contents"]]
    stderr = [k for k in keys if k.endswith("/stderr.gz")]
    assert stderr and all(
        re.fullmatch(rf"logs/{cluster_id}/containers/application_\d{{13}}_0001/container_\d{{13}}_0001_01_\d{{6}}/stderr.gz", k)
        for k in stderr
    ), keys
    text = gzip.decompress(s3.get_object(Bucket=bucket, Key=stderr[0])["Body"].read()).decode(errors="replace")
    assert "CoarseGrainedExecutorBackend" in text, text[-2000:]


def users_cluster(emr, **request: Any) -> str:
    """A long-running cluster as a user starts one (KeepJobFlowAliveWhenNoSteps), once it is WAITING."""
    cluster_id = emr.run_job_flow(
        Name="team cluster",
        ReleaseLabel="emr-7.9.0",
        ServiceRole="EMR_DefaultRole",
        JobFlowRole="EMR_EC2_DefaultRole",
        Instances={"MasterInstanceType": "m5.xlarge", "InstanceCount": 1, "KeepJobFlowAliveWhenNoSteps": True},
        **request,
    )["JobFlowId"]
    poll_until(
        lambda: emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"],
        lambda state: state == "WAITING",
        every=0.2,
        timeout=30,
        what=f"cluster {cluster_id} WAITING",
    )
    return cluster_id


def test_existing_cluster_runs_the_steps_and_stays_up(on_local_emr, source):
    table, bucket, items = source
    cluster_id = users_cluster(on_local_emr)
    try:
        proc = export("--table", table, "--to", f"s3://{bucket}/existing", "--reader", "segments", "--cluster", cluster_id)
        assert proc.returncode == 0, proc.stderr[-4000:]
        assert json.loads(proc.stdout)["itemCount"] == len(items)
        assert "terminated cluster" not in proc.stderr  # not ours to end
        time.sleep(1)
        assert on_local_emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"] == "WAITING"
    finally:
        on_local_emr.terminate_job_flows(JobFlowIds=[cluster_id])


def test_failed_step_reports_the_cause_from_its_stderr_on_s3(on_local_emr, source):
    from launcher.aws.session import Aws
    from launcher.core.errors import DdbS3Error
    from launcher.export.flow import plan_export, run_and_verify
    from launcher.export.run.emr import EmrRunner
    from launcher.options import build_request

    _, bucket, _ = source
    ddb = boto3.client("dynamodb")
    doomed = unique_name("lemr-gone")
    create_lab_table(ddb, doomed)
    plan = plan_export(
        build_request(
            {"table": doomed, "to": f"s3://{bucket}/failed", "runner": "emr", "reader": "segments", "log_uri": f"s3://{bucket}/logs/"}
        )
    )
    ddb.delete_table(TableName=doomed)  # gone between the plan and the step: the Scan fails on the node
    lines: list[str] = []
    runner = EmrRunner(lines.append, poll_seconds=1, log_wait_seconds=30, log_poll_seconds=1)
    with pytest.raises(DdbS3Error) as e:
        run_and_verify(plan, runner, Aws())
    message = str(e.value)
    assert "FAILED" in message and "ResourceNotFoundException" in message, message
    assert f"s3://{bucket}/logs/" in message and message.endswith("stderr.gz)")
    assert any(line.startswith("stderr | ") for line in lines)


def export_until(marker: str, *args: str) -> tuple[subprocess.Popen, str]:
    """The export CLI started as in a background job (SIGINT ignored until we send one), read until
    a progress line has `marker`; returns the process and the cluster it started."""
    proc = subprocess.Popen(
        [DDB_S3, "export", "--runner", "emr", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    seen = ""
    assert proc.stderr is not None
    for line in proc.stderr:
        seen += line
        if marker in line:
            break
    proc.seen = seen  # type: ignore[attr-defined]
    return proc, seen.split("started cluster ", 1)[1].split()[0]


def interrupt(proc: subprocess.Popen, sig: int, cluster_id: str) -> None:
    """The signal, then the runner's word that it ended its cluster, and a failing exit."""
    proc.send_signal(sig)
    rest = proc.communicate(timeout=60)[1]
    assert proc.returncode != 0
    assert f"terminated cluster {cluster_id}" in proc.seen + rest  # type: ignore[attr-defined]


def assert_no_processes(pattern: str, within: float = 15.0) -> None:
    """No process of the step is left, within a few seconds: the cluster's state turns TERMINATED
    when TerminateJobFlows is called, and the executor notices it and kills the step's process
    group at its next poll (EMR, too, ends a cluster's instances after it reports the call)."""
    deadline = time.monotonic() + within
    while True:
        left = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split()
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert not left, f"processes matching {pattern!r} still running {within:g} s after: {left}"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_during_a_step_ends_the_cluster_and_kills_the_step(on_local_emr, source, sig):
    table, bucket, _ = source
    proc, cluster_id = export_until(
        "step 1/1 RUNNING", "--table", table, "--to", f"s3://{bucket}/sig", "--reader", "segments", "--read-percent", "0.0001"
    )  # 4 units/s: the step runs for a while
    interrupt(proc, sig, cluster_id)
    # TerminateJobFlows: TERMINATING while the nodes go, then TERMINATED (the runner does not wait for it)
    deadline = time.monotonic() + 20
    while True:
        steps = on_local_emr.list_steps(ClusterId=cluster_id)["Steps"]
        state = on_local_emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"]
        if (steps[0]["Status"]["State"], state) == ("INTERRUPTED", "TERMINATED") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert (steps[0]["Status"]["State"], state) == ("INTERRUPTED", "TERMINATED")
    assert_no_processes(cluster_id)


@pytest.fixture
def stalled_package_index(local_emr):
    """A package index that accepts connections and never answers, set as the node Python's site
    pip.conf, so a `--python-packages` bootstrap action hangs in pip as on a node whose index is
    unreachable. Removed afterwards."""
    import socket

    from launcher.dev.localstack import local_emr_python

    conf = Path(local_emr_python(REPO_ROOT)).parent.parent / "pip.conf"
    assert not conf.exists(), f"{conf} exists already; this test owns it"
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        conf.write_text(f"[global]\nindex-url = http://127.0.0.1:{listener.getsockname()[1]}/simple\ntimeout = 120\n")
        try:
            yield
        finally:
            conf.unlink()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_during_bootstrap_ends_the_cluster_and_its_bootstrap(on_local_emr, source, stalled_package_index, sig):
    table, bucket, _ = source
    proc, cluster_id = export_until(
        "BOOTSTRAPPING", "--table", table, "--to", f"s3://{bucket}/sig-boot", "--python-packages", "ddb-s3-never-published==0.0.1"
    )
    time.sleep(1)  # pip is connecting to the index by now
    assert subprocess.run(["pgrep", "-f", "pip install.*ddb-s3-never-published"], capture_output=True).returncode == 0, (
        "the bootstrap action is not running pip"
    )
    interrupt(proc, sig, cluster_id)
    deadline = time.monotonic() + 20
    while on_local_emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"] != "TERMINATED":
        assert time.monotonic() < deadline, "the cluster did not end"
        time.sleep(0.2)
    assert on_local_emr.list_steps(ClusterId=cluster_id)["Steps"][0]["Status"]["State"] == "CANCELLED"  # never started
    time.sleep(1)
    assert_no_processes(f"{cluster_id}|ddb-s3-never-published")


def test_hive_engine_runs_both_steps_on_the_cluster(on_local_emr, local_stack):
    """export.hql through `hive-script` on the node, then the convert step under Python 3.9. The
    local Hive connector (emr-dynamodb-hive 4.5.0) reads provisioned tables only. Hive's MapReduce
    jobs run on the cluster's YARN (issue 23): the ApplicationMaster and the map tasks each in a
    container JVM of a core node's NodeManager, with the connector only as the job ships it."""
    ddb = boto3.client("dynamodb")
    table, bucket = unique_name("lemr-hive"), unique_name("lemr-hive").lower()
    # 200 read units: the connector (4.5.0) sizes a scan at one map task per 100 units it may use, so
    # this small table is read by two map tasks (1000 units: 10 tasks, each a JVM)
    create_lab_table(ddb, table, billing="PROVISIONED", read_units=200)
    load_items(ddb, table, lab_items(120))
    boto3.client("s3").create_bucket(Bucket=bucket)
    items = table_items(ddb, table)
    proc = export("--table", table, "--to", f"s3://{bucket}/hive", "--engine", "hive", "--log-uri", f"s3://{bucket}/logs/")
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout)
    assert "step 1/2 COMPLETED, step 2/2 COMPLETED" in proc.stderr
    back = read_back(bucket, result["exportUri"])
    assert back.keys() == items.keys() and all(items_equal(items[k], back[k]) for k in items)
    # YARN's container logs, archived under the LogUri: the job's ApplicationMaster, and map tasks
    # that read the table through the connector, each its own container JVM
    cluster_id, s3 = result["clusterId"], boto3.client("s3")
    prefix = f"logs/{cluster_id}/containers/"
    syslogs = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"] if o["Key"].endswith("/syslog.gz")]
    texts = {k: gzip.decompress(s3.get_object(Bucket=bucket, Key=k)["Body"].read()).decode(errors="replace") for k in syslogs}
    masters = [k for k, t in texts.items() if "MRAppMaster" in t]
    readers = [k for k, t in texts.items() if "org.apache.hadoop.mapred.YarnChild" in t and "ReadIopsCalculator" in t]
    assert len(masters) >= 1 and len(readers) >= 1 and not set(masters) & set(readers), sorted(texts)
    assert all(re.fullmatch(rf"{prefix}application_\d{{13}}_\d{{4}}/container_\d{{13}}_\d{{4}}_01_\d{{6}}/syslog.gz", k) for k in texts)
    poll_until(
        lambda: on_local_emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"],
        lambda state: state == "TERMINATED",
        every=0.5,
        timeout=60,
        what="the cluster's end",
    )
    assert_no_processes(f"ddb_s3.local_cluster={cluster_id}")  # no daemon and no container outlives its cluster


def test_a_failed_hive_step_on_a_users_cluster_is_never_converted_and_committed(on_local_emr, local_stack):
    """On a cluster the user owns the steps say ActionOnFailure CONTINUE (it must go on), so the
    convert step runs after a failed Hive step. Before the done marker it found no staged rows and
    committed an empty export after the CLI had said the export failed. The Hive step fails here as the
    local Hive (emr-dynamodb-hive 4.5.0) fails on an on-demand table."""
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    table, bucket = unique_name("lemr-hive-fail"), unique_name("lemr-hive-fail").lower()
    create_lab_table(ddb, table)  # on-demand
    load_items(ddb, table, lab_items(20))
    s3.create_bucket(Bucket=bucket)
    cluster_id = users_cluster(on_local_emr, Applications=[{"Name": "Spark"}, {"Name": "Hive"}])
    try:
        proc = export("--table", table, "--to", f"s3://{bucket}/hive", "--engine", "hive", "--cluster", cluster_id)
        assert proc.returncode == 1, proc.stderr[-4000:]
        steps = on_local_emr.list_steps(ClusterId=cluster_id)["Steps"]  # newest first
        convert = next(st for st in steps if st["Name"].startswith("ddb-s3 convert"))
        state = poll_until(
            lambda: on_local_emr.describe_step(ClusterId=cluster_id, StepId=convert["Id"])["Step"]["Status"]["State"],
            lambda st: st not in ("PENDING", "RUNNING"),
            every=0.5,
            timeout=300,
            what="the convert step's end",
        )
        assert state == "FAILED"
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        assert not [k for k in keys if k.endswith(("manifest-summary.json", "manifest-files.json"))], keys
    finally:
        on_local_emr.terminate_job_flows(JobFlowIds=[cluster_id])


def test_the_hive_engine_refuses_a_cluster_that_runs_steps_side_by_side(on_local_emr, source):
    """StepConcurrencyLevel > 1 would run the convert step beside the Hive step it depends on."""
    table, bucket, _ = source
    cluster_id = users_cluster(on_local_emr, StepConcurrencyLevel=4)
    try:
        proc = export("--table", table, "--to", f"s3://{bucket}/busy", "--engine", "hive", "--cluster", cluster_id)
        assert proc.returncode == 2, proc.stderr[-3000:]
        assert f"cluster {cluster_id} runs up to 4 steps at once (StepConcurrencyLevel)" in proc.stderr
        assert on_local_emr.list_steps(ClusterId=cluster_id)["Steps"] == []  # nothing was added
    finally:
        on_local_emr.terminate_job_flows(JobFlowIds=[cluster_id])


def test_an_export_refuses_a_cluster_without_the_applications_its_steps_run(on_local_emr, source):
    """--engine hive on a cluster that installs neither Hive nor Spark: one line naming both, exit 2,
    nothing added (its node would answer `hive-script: command not found`)."""
    table, bucket, _ = source
    cluster_id = users_cluster(on_local_emr, Applications=[{"Name": "Hadoop"}])  # no JVM starts on it
    try:
        proc = export("--table", table, "--to", f"s3://{bucket}/noapps", "--engine", "hive", "--cluster", cluster_id)
        assert proc.returncode == 2, proc.stderr[-3000:]
        assert f"cluster {cluster_id} has no Hive and no Spark (its applications: Hadoop)" in proc.stderr
        assert on_local_emr.list_steps(ClusterId=cluster_id)["Steps"] == []
    finally:
        on_local_emr.terminate_job_flows(JobFlowIds=[cluster_id])


def test_the_wheel_alone_runs_an_emr_export(on_local_emr, source, tmp_path):
    """`pip install ddb-s3` is enough: the wheel, installed into a fresh venv outside the checkout,
    carries the templates and the JVM helper jar the connector reader needs (no .cache/jars, no Maven)."""
    import shutil

    table, bucket, items = source
    uv = shutil.which("uv")
    assert uv, "uv is not on PATH (make venv installs it)"
    subprocess.run([uv, "build", "--wheel", "-q", "-o", str(tmp_path / "dist")], cwd=REPO_ROOT, check=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("ddb_s3-*.whl")
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(tmp_path / "venv")], check=True, timeout=120)
    subprocess.run([uv, "pip", "install", "-q", "--python", str(tmp_path / "venv" / "bin" / "python"), str(wheel)], check=True, timeout=600)
    env = {k: v for k, v in os.environ.items() if k not in ("DDB_S3_JARS_DIR", "PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run(
        [
            str(tmp_path / "venv" / "bin" / "ddb-s3"),
            "export",
            "--runner",
            "emr",
            "--json",
            "--table",
            table,
            "--to",
            f"s3://{bucket}/from-wheel",
            "--reader",
            "connector",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout)
    assert result["itemCount"] == len(items)
    # the helper jar the step ran with is the one inside the wheel
    uploaded = (
        boto3.client("s3")
        .get_object(Bucket=bucket, Key=f"from-wheel/_ddb_s3_artifacts/{result['exportId']}/ddb-s3-spark-helpers.jar")["Body"]
        .read()
    )
    with zipfile.ZipFile(wheel) as whl:
        assert uploaded == whl.read("launcher/_jars/ddb-s3-spark-helpers.jar")


def test_max_hours_guard_ends_a_cluster_whose_step_hangs(on_local_emr, source):
    """The launcher gone (here: it waits on and on), a hanging step still ends with the cluster: the
    max-runtime bootstrap action shuts the primary node down after --max-hours."""
    table, bucket, _ = source
    proc = export(
        "--table", table, "--to", f"s3://{bucket}/guard", "--reader", "segments", "--read-percent", "0.00001", "--max-hours", "0.004"
    )  # ~14 s; the step at 1 read unit/s needs far longer
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "the cluster shuts itself down after 14s" in proc.stderr
    assert "INTERRUPTED: cluster: INSTANCE_FAILURE The master node was shut down" in proc.stderr
    cluster_id = proc.stderr.split("started cluster ", 1)[1].split()[0]
    steps = on_local_emr.list_steps(ClusterId=cluster_id)["Steps"]
    assert steps[0]["Status"]["State"] == "INTERRUPTED"
    assert on_local_emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"] == "TERMINATED_WITH_ERRORS"
    time.sleep(1)
    assert_no_processes(cluster_id)
