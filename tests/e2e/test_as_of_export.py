"""`ddb-s3 export --as-of` end to end (issue 25): a Scan raced by puts, updates and deletes, and the
table's stream on the local stand-in (launcher/dev/dynalite_streams.js), with shards rolling over
and splitting every couple of seconds. The truth is the writes themselves: a racer thread logs
each write with the second it fell in (it never writes across a second's boundary), so the table
at T is the loaded items plus the logged writes of the seconds before T."""

from __future__ import annotations

import gzip
import json
import math
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from e2e.test_local_emr import local_emr, on_local_emr  # noqa: F401  (fixtures)
from helpers import stream_admin, unique_name
from launcher.core.wait import poll_until

pytestmark = pytest.mark.e2e
DDB_S3 = str(Path(sys.executable).parent / "ddb-s3")
ITEMS = 300
PAD = "x" * 3000  # ~3 KB items: the Scan at 20 read units/s takes several seconds, long enough to race
SLOW_SCAN = ["--on-demand-read-units", "20", "--read-percent", "1"]
VIEW = "NEW_AND_OLD_IMAGES"


def admin(op: str, body: dict[str, Any]) -> dict[str, Any]:
    return stream_admin(boto3.client("dynamodb").meta.endpoint_url, op, body)


@pytest.fixture(scope="module")
def rolling_shards(local_stack) -> Iterator[None]:
    """Shards roll over every 2 s and every second rollover is a split, during this module only."""
    saved = admin("SetStreamKnobs", {})
    admin("SetStreamKnobs", {"DDB_S3_LOCAL_STREAM_ROLLOVER_S": 2, "DDB_S3_LOCAL_STREAM_SPLIT": 2})
    yield
    admin("SetStreamKnobs", saved)


def make_table(ddb: Any, view: str | None = VIEW, items: int = ITEMS) -> str:
    name = unique_name("asof")
    spec = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": view}} if view else {}
    ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        **spec,
    )
    deadline = time.monotonic() + 30
    while ddb.describe_table(TableName=name)["Table"]["TableStatus"] != "ACTIVE":
        assert time.monotonic() < deadline, f"table {name} not ACTIVE"
        time.sleep(0.05)
    for start in range(0, items, 25):
        ddb.batch_write_item(
            RequestItems={name: [{"PutRequest": {"Item": row(f"k{i:04d}", 0)}} for i in range(start, min(items, start + 25))]}
        )
    if view:  # an as-of time is a whole second: one in the stream's first second precedes the stream
        arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
        created = boto3.client("dynamodbstreams").describe_stream(StreamArn=arn)["StreamDescription"]["CreationRequestDateTime"]
        poll_until(
            time.time, lambda now: now >= int(created.timestamp()) + 1, every=0.05, timeout=5, what="the second after the stream's creation"
        )
    return name


def row(pk: str, v: int) -> dict[str, Any]:
    return {"pk": {"S": pk}, "v": {"N": str(v)}, "pad": {"S": PAD}}


class Racer:
    """Puts, updates and deletes on random keys until stopped, each inside one wall-clock second,
    logged as (second, key, value after or None)."""

    def __init__(self, table: str, keys: int = ITEMS, seed: int = 0) -> None:
        self.table, self.keys, self.rng = table, keys, random.Random(seed)
        self.log: list[tuple[int, str, int | None]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.ddb = boto3.client("dynamodb")
        self.n = 0
        self.error: BaseException | None = None
        self.unsure: set[str] = set()  # keys written across a second's boundary: left out of the comparison

    def write(self) -> None:
        now = time.time()
        if now % 1 > 0.7:  # not near a second's boundary: the log says which second it was
            time.sleep(1.02 - now % 1)
        key = f"k{self.rng.randrange(self.keys + 20):04d}"  # some keys not in the table yet
        op = self.rng.choice(["put", "update", "delete"])
        self.n += 1
        before = time.time()
        if op == "put":
            self.ddb.put_item(TableName=self.table, Item=row(key, self.n))
            value: int | None = self.n
        elif op == "update":
            self.ddb.update_item(
                TableName=self.table,
                Key={"pk": {"S": key}},
                UpdateExpression="SET #v = :v, #p = :p",
                ExpressionAttributeNames={"#v": "v", "#p": "pad"},
                ExpressionAttributeValues={":v": {"N": str(self.n)}, ":p": {"S": PAD}},
            )
            value = self.n
        else:
            self.ddb.delete_item(TableName=self.table, Key={"pk": {"S": key}})
            value = None
        after = time.time()
        if int(before) != int(after):  # a slow write (a busy machine): its second is unknown
            self.unsure.add(key)
        self.log.append((int(before), key, value))

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.write()
                time.sleep(0.01)
        except BaseException as e:  # noqa: BLE001 - the test fails with it (__exit__)
            self.error = e

    def __enter__(self) -> Racer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
        if self.error is not None:
            raise AssertionError(f"the racer failed: {self.error!r}")


def truth(racer: Racer, at: int, items: int = ITEMS) -> dict[str, int]:
    """The table at `at`: the loaded items, then every logged write of a second before `at`."""
    state: dict[str, int | None] = {f"k{i:04d}": 0 for i in range(items)}
    for second, key, value in racer.log:
        if second < at:
            state[key] = value
    return {k: v for k, v in state.items() if v is not None and k not in racer.unsure}


def sure(state: dict[str, int], racer: Racer) -> dict[str, int]:
    assert len(racer.unsure) < 5, f"too many writes across a second's boundary: {sorted(racer.unsure)}"
    return {k: v for k, v in state.items() if k not in racer.unsure}


def export(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([DDB_S3, "export", "--json", *args], capture_output=True, text=True, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"ddb-s3 export {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc


def exported(uri: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(summary, the data lines as JSON) of an export."""
    s3 = boto3.client("s3")
    bucket, root = uri[5:].split("/", 1)
    summary = json.loads(s3.get_object(Bucket=bucket, Key=root + "manifest-summary.json")["Body"].read())
    lines = []
    for entry in s3.get_object(Bucket=bucket, Key=root + "manifest-files.json")["Body"].read().decode().splitlines():
        body = s3.get_object(Bucket=bucket, Key=json.loads(entry)["dataFileS3Key"])["Body"].read()
        lines += [json.loads(line) for line in gzip.decompress(body).decode().splitlines()]
    return summary, lines


def as_state(lines: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in lines:
        pk = line["Item"]["pk"]["S"]
        assert pk not in out, f"{pk} exported twice"
        out[pk] = int(line["Item"]["v"]["N"])
    return out


def restored(uri: str, tmp_path: Path) -> dict[str, int]:
    """`ddb-s3 restore` of the export into a new table, and that table's items."""
    target = unique_name("asof-restored")
    proc = subprocess.run(
        [DDB_S3, "restore", uri, "--table", target, "--create-table", "--checkpoint", str(tmp_path / "ck")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return table_state(target)


def table_state(table: str) -> dict[str, int]:
    pages = boto3.client("dynamodb").get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
    return {i["pk"]["S"]: int(i["v"]["N"]) for page in pages for i in page["Items"]}


def epoch(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


def iso(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_bucket() -> str:
    name = unique_name("asof").lower()
    boto3.client("s3").create_bucket(Bucket=name)
    return name


def wait_for_object(bucket: str, prefix: str, suffix: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not [k for k in objects(bucket) if k.startswith(prefix) and k.endswith(suffix)]:
        assert time.monotonic() < deadline, f"no {prefix}...{suffix} within {timeout:g} s"
        time.sleep(0.1)


def objects(bucket: str) -> list[str]:
    return [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])]


# --------------------------------------------------------------------------- the table at T


@pytest.mark.parametrize("engine", ["python", "spark"])
def test_as_of_start_is_exactly_the_table_at_its_second_while_writes_race_the_scan(rolling_shards, engine: str) -> None:
    ddb = boto3.client("dynamodb")
    table, bucket = make_table(ddb), new_bucket()
    with Racer(table, seed=1) as racer:
        doc = json.loads(
            export(
                "--table", table, "--to", f"s3://{bucket}/x", "--runner", "local", "--engine", engine, "--as-of", "start", *SLOW_SCAN
            ).stdout
        )
    summary, lines = exported(doc["exportUri"])
    at = epoch(summary["exportTime"])
    stream = summary["ddbS3"]["stream"]
    assert stream["streamArn"] == ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    assert len(stream["lastSequenceNumbers"]) > 2, "shards should have rolled over and split during the window"
    scan_from = datetime.fromisoformat(summary["ddbS3"]["readWindow"]["from"].replace("Z", "+00:00")).timestamp()
    written_during_scan = [w for w in racer.log if w[0] >= at]
    assert written_during_scan and any(w[0] < at for w in racer.log), "the racer must write on both sides of T"
    assert at == math.ceil(scan_from)  # T: the scan's start, rounded up to the second
    assert sure(as_state(lines), racer) == truth(racer, at)


def test_as_of_a_past_second_undoes_every_write_after_it(rolling_shards) -> None:
    ddb = boto3.client("dynamodb")
    table, bucket = make_table(ddb), new_bucket()
    with Racer(table, seed=2) as racer:
        deadline = time.monotonic() + 30
        while len({w[0] for w in racer.log}) < 3:  # writes in at least three seconds before T
            assert time.monotonic() < deadline
            time.sleep(0.1)
        at = int(time.time())
        args = ["--table", table, "--runner", "local", "--engine", "python", "--as-of", iso(at), *SLOW_SCAN]
        doc = json.loads(export(*args, "--to", f"s3://{bucket}/x").stdout)
        summary, lines = exported(doc["exportUri"])
        # A crash mid-export (SIGKILL during the Scan) leaves no backup; the rerun gives the same table.
        crashed = subprocess.Popen([DDB_S3, "export", *args, "--to", f"s3://{bucket}/y"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for_object(bucket, "y/", "_started")
        crashed.kill()
        crashed.wait(timeout=30)
        assert not [k for k in objects(bucket) if k.startswith("y/") and k.endswith("manifest-summary.json")]
        again = json.loads(export(*args, "--to", f"s3://{bucket}/y").stdout)
    assert epoch(summary["exportTime"]) == at
    assert any(w[0] >= at for w in racer.log) and any(w[0] < at for w in racer.log)
    assert sure(as_state(lines), racer) == truth(racer, at)
    assert sure(as_state(exported(again["exportUri"])[1]), racer) == truth(racer, at)


def test_as_of_on_the_local_emr_runs_the_spark_job_on_the_cluster(rolling_shards, on_local_emr) -> None:
    ddb = boto3.client("dynamodb")
    table, bucket = make_table(ddb), new_bucket()
    with Racer(table, seed=3) as racer:
        doc = json.loads(export("--table", table, "--to", f"s3://{bucket}/x", "--runner", "emr", "--as-of", "start", *SLOW_SCAN).stdout)
    summary, lines = exported(doc["exportUri"])
    at = epoch(summary["exportTime"])
    assert sure(as_state(lines), racer) == truth(racer, at)


# --------------------------------------------------------------------------- incremental, restore


def test_a_full_export_plus_its_increment_restores_the_table_at_the_increments_time(rolling_shards, tmp_path) -> None:
    ddb = boto3.client("dynamodb")
    table, bucket = make_table(ddb, items=60), new_bucket()
    to = f"s3://{bucket}/chain"
    with Racer(table, keys=60, seed=4) as racer:
        full = json.loads(export("--table", table, "--to", to, "--runner", "local", "--engine", "python", "--as-of", "start").stdout)
        time.sleep(2.5)  # writes in the increment's window
        inc = json.loads(
            export("--table", table, "--to", to, "--runner", "local", "--engine", "python", "--incremental-since", "latest").stdout
        )
    full_summary, _ = exported(full["exportUri"])
    summary, lines = exported(inc["exportUri"])
    t1, t2 = epoch(full_summary["exportTime"]), epoch(summary["exportTime"])
    assert summary["exportType"] == "INCREMENTAL_EXPORT" and summary["ddbS3"]["incrementalSince"] == full["exportUri"]
    assert epoch(summary["exportFromTime"]) == t1 and t2 > t1
    assert lines and all("Keys" in line and ("NewImage" in line or "OldImage" in line) for line in lines)
    assert any("NewImage" not in line for line in lines), "deletes are lines without NewImage"
    # verify knows it; restore applies the chain into a new table.
    verified = subprocess.run([DDB_S3, "verify", inc["exportUri"]], capture_output=True, text=True, timeout=300)
    assert verified.returncode == 0, verified.stderr
    assert sure(restored(inc["exportUri"], tmp_path), racer) == truth(racer, t2, items=60)


def test_an_empty_window_still_writes_a_valid_incremental_export(rolling_shards) -> None:
    ddb = boto3.client("dynamodb")
    table, bucket = make_table(ddb, items=10), new_bucket()
    to = f"s3://{bucket}/quiet"
    export("--table", table, "--to", to, "--runner", "local", "--engine", "python", "--as-of", "start")
    inc = json.loads(
        export("--table", table, "--to", to, "--runner", "local", "--engine", "python", "--incremental-since", "latest").stdout
    )
    summary, lines = exported(inc["exportUri"])
    assert summary["exportType"] == "INCREMENTAL_EXPORT" and summary["itemCount"] == 0 and lines == []
    assert subprocess.run([DDB_S3, "verify", inc["exportUri"]], capture_output=True, timeout=300).returncode == 0


def test_the_bad_deploy_scene(rolling_shards, tmp_path) -> None:
    """A table, a bad burst of overwrites and deletes, then `export --as-of <before the burst>` and
    `restore` give back the table as it was (README)."""
    ddb = boto3.client("dynamodb")
    table, bucket = make_table(ddb, items=40), new_bucket()
    good = {f"k{i:04d}": 0 for i in range(40)}
    time.sleep(1.05 - time.time() % 1)
    before_burst = int(time.time())
    for i in range(0, 40, 2):
        ddb.put_item(TableName=table, Item=row(f"k{i:04d}", 666))
    for i in range(1, 40, 4):
        ddb.delete_item(TableName=table, Key={"pk": {"S": f"k{i:04d}"}})
    doc = json.loads(export("--table", table, "--to", f"s3://{bucket}/b", "--runner", "local", "--as-of", iso(before_burst)).stdout)
    assert restored(doc["exportUri"], tmp_path) == good


# --------------------------------------------------------------------------- refusals: one line, nothing written


def refused(bucket: str, *args: str, env: dict[str, str] | None = None) -> str:
    import os

    proc = subprocess.run(
        [DDB_S3, "export", "--runner", "local", "--to", f"s3://{bucket}/r", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )
    assert proc.returncode == 2, proc.stderr
    assert objects(bucket) == [], "a refusal writes nothing"
    lines = [line for line in proc.stderr.splitlines() if line.startswith("ddb-s3:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_refusals_before_any_read(local_stack) -> None:
    ddb = boto3.client("dynamodb")
    bucket = new_bucket()
    no_stream = make_table(ddb, view=None, items=3)
    assert "has no enabled stream" in (line := refused(bucket, "--table", no_stream, "--as-of", "start"))
    assert "update-table --table-name " + no_stream in line and "NEW_AND_OLD_IMAGES" in line
    keys_only = make_table(ddb, view="KEYS_ONLY", items=3)
    assert "KEYS_ONLY" in refused(bucket, "--table", keys_only, "--as-of", "start")
    table = make_table(ddb, items=3)
    assert "in the future" in refused(bucket, "--table", table, "--as-of", iso(int(time.time()) + 3600))
    assert "after" in refused(bucket, "--table", table, "--as-of", iso(int(time.time()) - 3600))  # before the stream existed
    # A stream kept 300 s leaves no window at all once the read's margin (300 s) is taken off.
    assert "too long ago" in refused(bucket, "--table", table, "--as-of", "start", env={"DDB_S3_STREAM_RETENTION_S": "300"})
    assert "not an ISO-8601" in refused(bucket, "--table", table, "--as-of", "yesterday")
    assert "--reader segments" in refused(bucket, "--table", table, "--as-of", "start", "--reader", "connector")
    assert "no complete --as-of export" in refused(bucket, "--table", table, "--incremental-since", "latest")


def test_the_plan_says_what_as_of_gives_and_a_dry_run_reads_nothing(local_stack) -> None:
    ddb = boto3.client("dynamodb")
    table, bucket = make_table(ddb, items=3), new_bucket()
    proc = subprocess.run(
        [DDB_S3, "export", "--table", table, "--to", f"s3://{bucket}/d", "--runner", "local", "--as-of", "start", "--dry-run"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    assert "the table exactly as of this export's start (the second after its Scan begins)" in proc.stderr
    assert f"stream {arn}" in proc.stderr and objects(bucket) == []
