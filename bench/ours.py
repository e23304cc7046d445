"""Our export, run as a user runs it: the `ddb-s3 export` CLI with the local runner, timed from
outside, with the RSS of the launcher, the Spark driver and the Python workers sampled."""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from .common import Timer, run_measured
from .data import client

RUNS = Path(".cache/bench-runs")
_JOB = re.compile(r"Job \d+ finished: .* took ([\d.]+) s")
_WORKER_TIMES = re.compile(r"PythonRunner: Times: total = \d+, boot = (-?\d+), init = (\d+)")
_TASK = re.compile(r"Finished task \S+ in stage \S+ \(TID \d+\) in (\d+) ms")


def ddb_s3() -> str:
    return str(Path(sys.executable).parent / "ddb-s3")


def export(table: str, bucket: str, reader: str, *extra: str, prefix: str = "ours", engine: str = "spark") -> dict[str, Any]:
    """engine "python": the in-process path (reader segments), no Spark: its phases are the whole run."""
    cmd = [ddb_s3(), "export", "--table", table, "--to", f"s3://{bucket}/{prefix}/{reader}", "--engine", engine,
           "--runner", "local", "--reader", reader, "--json", "--work-dir", str(RUNS), *extra]
    run = run_measured(cmd, env=dict(os.environ))
    if run.code != 0:
        raise RuntimeError(f"ddb-s3 export failed ({run.code}): {(run.stderr or run.stdout).strip()[-1500:]}")
    doc = json.loads(run.stdout.strip().splitlines()[-1])
    log = RUNS / doc["exportId"] / "step-1.log"
    text = log.read_text() if log.exists() else ""
    job = [float(m[1]) for m in _JOB.finditer(text)]
    tasks = [int(m[1]) / 1000 for m in _TASK.finditer(text)]
    data_bytes = _data_bytes(doc["exportUri"])
    return {
        "phases": phases(run.stamped, run.seconds, text, sum(job)),
        "reader": reader, "items": doc["itemCount"], "files": doc["dataFiles"], "wall_s": run.seconds,
        "runner_s": doc["seconds"], "job_s": sum(job), "task_max_s": max(tasks, default=0.0), "fixed_s": run.seconds - sum(job),
        "data_bytes": data_bytes, "rss_mib": run.peaks.mib(), "cpu_s": run.peaks.cpu_s, "export_uri": doc["exportUri"],
    }


def phases(stamped: list[tuple[float, str]], wall: float, log: str, job_s: float) -> dict[str, float | None]:
    """A run's seconds by phase, from when its stderr lines arrived and from the step log: the
    launcher (Python start, imports, DescribeTable, plan, render) up to the step's start; the step
    (JVM and Spark start and stop, and the Spark job, within which the Python workers start); after
    the step (verify, result)."""
    started = next((t for t, line in stamped if line.startswith("step 1/")), None)
    done = next((t for t, line in stamped if " done in " in line and line.startswith("step ")), None)
    workers = [(int(m[1]) + int(m[2])) / 1000 for m in _WORKER_TIMES.finditer(log)]
    if started is None or done is None:
        return {"launcher": None, "spark_start_stop": None, "job": job_s, "workers_start": None, "after_step": None}
    return {"launcher": started, "spark_start_stop": done - started - job_s, "job": job_s,
            "workers_start": max(workers, default=None), "after_step": wall - done}


def cli_start() -> float:
    """`ddb-s3 --help`: Python's start and the CLI's imports, nothing else."""
    return run_measured([ddb_s3(), "--help"], env=dict(os.environ)).seconds


def boto3_import() -> float:
    """`python -c "import boto3"` in the same venv: what `ddb-s3 --help` is held to (issue 26)."""
    return run_measured([sys.executable, "-c", "import boto3"], env=dict(os.environ)).seconds


def _data_bytes(uri: str) -> int:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    total = 0
    for page in client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key + "data/"):
        total += sum(o["Size"] for o in page.get("Contents", []))
    return total


def verify(uri: str, deep: bool) -> dict[str, Any]:
    """`ddb-s3 verify` of an export on S3: by default the checksums S3 stores (no data read),
    with --deep every file read and parsed."""
    run = run_measured([ddb_s3(), "verify", uri, "--json", *(["--deep"] if deep else [])], env=dict(os.environ))
    if run.code != 0:
        raise RuntimeError(f"ddb-s3 verify failed ({run.code}): {(run.stderr or run.stdout).strip()[-1500:]}")
    # The check alone, in this process: the CLI's start (Python, boto3, pydantic: ~1-2 s) is the same
    # for both and hides the difference on a local stack, where reading the data back costs little.
    from launcher.aws.session import Aws
    from launcher.backup.verify import verify_export
    from launcher.core.s3args import S3WriteSettings

    with Timer() as t:
        report = verify_export(uri, Aws(None), S3WriteSettings(), deep=deep)
    assert report.ok, report.problems[:3]
    return {"deep": deep, "seconds": run.seconds, "check_s": t.seconds,
            "items": json.loads(run.stdout.strip().splitlines()[-1])["itemCount"]}


BY_HAND = """
import gzip, json, sys, boto3
table, bucket, key = sys.argv[1:]
ddb = boto3.client("dynamodb")
ddb.describe_table(TableName=table)
lines, kwargs = [], {"TableName": table}
while True:
    page = ddb.scan(**kwargs)
    lines += [json.dumps({"Item": item}) for item in page["Items"]]
    if "LastEvaluatedKey" not in page:
        break
    kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=gzip.compress(("\\n".join(lines) + "\\n").encode()))
"""


def by_hand(table: str, bucket: str) -> float:
    """The same work a data engineer writes by hand for a small table, in a fresh Python: DescribeTable,
    Scan, gzip the lines, PutObject. What a small export is compared with (issue 26)."""
    run = run_measured([sys.executable, "-c", BY_HAND, table, bucket, f"by-hand/{table}.json.gz"], env=dict(os.environ))
    if run.code != 0:
        raise RuntimeError(f"by-hand export failed ({run.code}): {run.stderr.strip()[-1500:]}")
    return run.seconds
