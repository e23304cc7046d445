"""An executor lost mid-export on the multi-node local EMR (launcher/dev/local_emr.py): each cluster is
a Spark standalone cluster whose executors run in JVMs of their own on the core nodes' Workers. One of
them is killed while it runs a task of the export's step; Spark retries the task (spark.task.maxFailures
as on EMR), and the export is still exact: every item once, no duplicate or orphan data file, and it
verifies."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from helpers import table_items, unique_name
from launcher.core.codec import item_key, items_equal, parse_item_line
from launcher.core.wait import poll_until
from launcher.dev.local_emr import INSTANCE_PROFILE_CREDENTIALS
from launcher.dev.localstack import REPO_ROOT
from launcher.dev.sample_data import create_lab_table, lab_items, load_items
from launcher.dev.spark_cluster import EXECUTOR_CLASS, cluster_jvms

pytestmark = pytest.mark.e2e
KEYS = ["patient_id", "sample_id"]
DDB_S3 = str(Path(sys.executable).parent / "ddb-s3")


@pytest.fixture(scope="module")
def local_emr(local_stack, tmp_path_factory) -> str:
    """The local EMR beside the session's stack (as tests/e2e/test_local_emr.py starts it)."""
    if local_stack.emr_endpoint is None:
        local_stack.start_local_emr(REPO_ROOT, sys.executable, tmp_path_factory.mktemp("emr-nodes"), time.monotonic() + 60, 60)
    assert local_stack.emr_endpoint
    return local_stack.emr_endpoint


@pytest.fixture
def on_local_emr(local_emr, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_EMR", local_emr)
    monkeypatch.setenv("DDB_S3_POLL_SECONDS", "1")
    return boto3.client("emr")


def cluster_of(log: Path) -> str | None:
    found = re.search(r"started cluster (j-[A-Z0-9]+)", log.read_text(errors="replace"))
    return found.group(1) if found else None


def executor_running_a_task(cluster_id: str) -> int | None:
    """The pid of an executor JVM of the cluster whose log (stderr in its working folder, below its
    Worker's work dir) shows it running a task, if any."""
    for pid in cluster_jvms(cluster_id, EXECUTOR_CLASS):
        try:
            folder = Path(os.readlink(f"/proc/{pid}/cwd"))
            log = (folder / "stderr").read_text(errors="replace")
        except OSError:
            continue
        if "Running task" in log:
            return pid
    return None


def shipped_only(pid: int) -> None:
    """The executor runs in a working folder of its own on its core node, holding the job's zip and
    jars as spark-submit shipped them; nothing in its command line or environment names the primary
    node's folder (where the step fetched them) or this checkout."""
    folder = Path(os.readlink(f"/proc/{pid}/cwd"))
    node = folder.parents[3]  # <node>/spark/work/<app id>/<executor id>
    assert node.name.startswith("core-"), folder
    assert {"ddbs3_job.zip", "ddb-s3-spark-helpers.jar"} <= {p.name for p in folder.iterdir()}, list(folder.iterdir())
    primary = str(node.parent / "primary")
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    environ = dict(e.split("=", 1) for e in Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace").split("\0") if "=" in e)
    assert primary not in cmdline and not any(primary in v for v in environ.values())
    assert str(REPO_ROOT) not in environ.get("PYTHONPATH", "")
    assert (
        environ["HOME"] == str(node) and environ["AWS_ACCESS_KEY_ID"] == INSTANCE_PROFILE_CREDENTIALS["AWS_ACCESS_KEY_ID"]
    )  # the node's env


@pytest.mark.parametrize("reader", ["segments", "connector"])
def test_a_killed_executor_is_replaced_and_the_export_stays_exact(on_local_emr, local_stack, tmp_path, reader):
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    table, bucket = unique_name("lost-exec"), unique_name("lost-exec").lower()
    create_lab_table(ddb, table)
    load_items(ddb, table, lab_items(300))
    items = table_items(ddb, table)
    s3.create_bucket(Bucket=bucket)
    log = tmp_path / "export.stderr"
    with open(log, "w") as err:
        # two segments, one a core node, at 2 read units/s: each task reads for several seconds (the
        # connector's tasks too: its rate controller holds each to its share of the budget)
        export = subprocess.Popen(
            [
                DDB_S3,
                "export",
                "--runner",
                "emr",
                "--json",
                "--table",
                table,
                "--to",
                f"s3://{bucket}/lost",
                "--reader",
                reader,
                "--segments",
                "2",
                "--read-percent",
                "0.00005",
                "--log-uri",
                f"s3://{bucket}/logs/",
            ],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
        try:
            cluster_id = poll_until(
                lambda: cluster_of(log),
                lambda c: c is not None or export.poll() is not None,
                every=0.5,
                timeout=120,
                what="the export's cluster",
            )
            assert cluster_id, log.read_text()[-3000:]
            victim = poll_until(
                lambda: executor_running_a_task(cluster_id),
                lambda pid: pid is not None or export.poll() is not None,
                every=0.2,
                timeout=300,
                what="an executor running a task",
            )
            assert victim, f"the export ended before an executor ran a task: {log.read_text()[-3000:]}"
            shipped_only(victim)
            os.kill(victim, signal.SIGKILL)
            out, _ = export.communicate(timeout=600)
        finally:
            if export.poll() is None:
                export.kill()
                export.wait()
    stderr = log.read_text(errors="replace")
    assert export.returncode == 0, stderr[-4000:]
    result = json.loads(out)

    # Spark saw the executor go and ran its task again
    driver = step_stderr(bucket, cluster_id)
    # An attempt that started and never finished was lost. Spark writes "Lost task" only when it
    # blames the task (the Worker reported an exit code); when the loss reaches it without one, it
    # writes "failed because ... unrelated to the task" instead (a fresh-clone CI run on 2026-12-07).
    started = set(re.findall(r"Starting task (\d+\.\d+) in stage", driver))
    finished = set(re.findall(r"Finished task (\d+\.\d+) in stage", driver))
    lost = started - finished
    assert lost and re.search(r"Lost executor \d+", driver), "no task was lost: " + driver[-3000:]
    for attempt in lost:
        index, n = attempt.split(".")
        again = [f for f in finished if f.split(".")[0] == index and int(f.split(".")[1]) > int(n)]
        assert again, f"task {index} was not run again after attempt {n}: {sorted(finished)}"

    # the export is exact: the manifest's files and nothing else, each once, every item once
    root = result["exportUri"].split(bucket + "/", 1)[1]
    manifest = [
        json.loads(line)["dataFileS3Key"]
        for line in s3.get_object(Bucket=bucket, Key=root + "manifest-files.json")["Body"].read().decode().splitlines()
    ]
    stored = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=root + "data/")
        for o in page.get("Contents", [])
    ]
    assert len(manifest) == len(set(manifest)), manifest
    assert sorted(stored) == sorted(manifest), (stored, manifest)
    back: dict = {}
    for key in manifest:
        for line in gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).decode().splitlines():
            item = parse_item_line(line)
            k = item_key(item, KEYS)
            assert k not in back, f"item {k} written twice"
            back[k] = item
    assert back.keys() == items.keys()
    assert all(items_equal(items[k], back[k]) for k in items)
    assert result["itemCount"] == len(items) == 300
    verify = subprocess.run([DDB_S3, "verify", result["exportUri"]], capture_output=True, text=True, timeout=300)
    assert verify.returncode == 0, verify.stderr[-3000:]


def step_stderr(bucket: str, cluster_id: str) -> str:
    """The step's stderr (the driver's log) as the local EMR archives it under the LogUri."""
    s3 = boto3.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"logs/{cluster_id}/steps/")["Contents"]]
    key = next(k for k in keys if k.endswith("/stderr.gz"))
    return gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).decode(errors="replace")
