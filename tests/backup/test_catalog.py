"""Issue 15: the exports under a prefix are found (one delimited listing, one listing per folder, the
summary read and no data file), each is complete, incomplete or corrupt; `latest` resolves to the
newest complete export wherever an export URI is taken; prune deletes whole exports only, never the
newest complete one of a table, incomplete ones only after the grace period, corrupt ones never,
and nothing outside an export folder (not the shared AWSDynamoDB/data/)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from helpers import unique_name
from launcher.backup import catalog
from launcher.backup.catalog import (
    COMPLETE,
    CORRUPT,
    INCOMPLETE,
    ExportEntry,
    StoredObject,
    describe,
    list_exports,
    plan_prune,
    resolve_export_uri,
)
from launcher.backup.storage import open_location
from launcher.core import layout
from launcher.core.codec import item_line, wire_to_json
from launcher.core.errors import BadInput, IncompleteExport
from launcher.core.s3args import S3WriteSettings
from launcher.core.s3uri import S3Uri
from launcher.dev.sample_data import lab_items
from launcher.job import commit, runtime, s3io

NOW = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)
NATIVE = next(Path(__file__).parents[1].glob("fixtures/backups/native-full/AWSDynamoDB/*/"))
INCREMENTAL = Path(__file__).parents[1] / "fixtures/backups/native-incremental/AWSDynamoDB"


# --------------------------------------------------------------------------- pure: states and planning


def entry(export_id: str, state: str = COMPLETE, days: float = 0, table: str | None = "A", kind: str = "FULL_EXPORT") -> ExportEntry:
    return ExportEntry(
        export_id,
        f"s3://b/p/AWSDynamoDB/{export_id}/",
        state,
        NOW - timedelta(days=days),
        table=table if state != INCOMPLETE else None,
        export_type=kind if state != INCOMPLETE else None,
        total_bytes=100,
    )


def ids(decisions) -> list[str]:
    return [d.entry.export_id for d in decisions]


@pytest.mark.unit
def test_states_from_the_listing_and_the_summary():
    body = json.dumps({"tableArn": "arn:aws:dynamodb:eu-west-1:1:table/Lab", "itemCount": 7, "startTime": "2024-05-27T06:00:00Z"}).encode()
    listing = [
        StoredObject("_started", 0),
        StoredObject("data/a.json.gz", 40),
        StoredObject("data/b.json.gz", 2),
        StoredObject("manifest-summary.json", len(body)),
    ]
    e = describe("01716790307109-5f9d6aaa", "u", listing, body, layout.md5_b64(body).encode())
    assert (e.state, e.table, e.item_count, e.data_bytes, e.total_bytes, e.engine, e.tool) == (
        COMPLETE,
        "Lab",
        7,
        42,
        42 + len(body),
        "native",
        "dynamodb",
    )
    assert e.time == datetime(2024, 5, 27, 6, 11, 47, 109000, tzinfo=UTC)  # from the id's epoch milliseconds
    assert describe("x", "u", listing, body, None).state == COMPLETE  # no checksum file: nothing to compare
    assert describe("x", "u", listing, body, None).time == datetime(2024, 5, 27, 6, tzinfo=UTC)  # startTime
    bad = describe("x", "u", listing, body, b"AAAAAAAAAAAAAAAAAAAAAA==")
    assert bad.state == CORRUPT and "checksum" in (bad.problem or "")
    assert describe("x", "u", listing, b'{"itemCount": 7', None).state == CORRUPT
    assert describe("x", "u", listing, b"[1]", None).state == CORRUPT
    killed = describe("01716790307109-5f9d6aaa", "u", listing[:3], None, None)
    assert killed.state == INCOMPLETE and killed.table is None and killed.data_bytes == 42
    ours = describe(
        "x",
        "u",
        [],
        json.dumps(
            {"ddbS3": {"tool": "ddb-s3", "tableName": "Ours", "engine": "hive"}, "tableArn": "arn:aws:dynamodb:r:1:table/Other"}
        ).encode(),
        None,
    )
    assert (ours.table, ours.engine, ours.tool) == ("Ours", "hive", "ddb-s3")
    incr = describe("x", "u", [], json.dumps({"exportType": "INCREMENTAL_EXPORT", "tableArn": "arn:x:table/T"}).encode(), None)
    assert (incr.export_type, incr.data_bytes) == ("INCREMENTAL_EXPORT", None)  # its data is in the shared data/
    ours_incr = describe("x", "u", listing, json.dumps({"exportType": "INCREMENTAL_EXPORT", "ddbS3": {"tool": "ddb-s3"}}).encode(), None)
    assert ours_incr.data_bytes == 42  # an --incremental-since export keeps its data in its own folder


@pytest.mark.unit
def test_keep_last_and_older_than_per_table():
    entries = [
        entry("a1", days=1),
        entry("a2", days=10),
        entry("a3", days=40),
        entry("a4", days=50),
        entry("b1", days=60, table="B"),
        entry("b2", days=70, table="B"),
    ]
    plan = plan_prune(entries, NOW, keep_last=2)
    assert ids(plan.delete) == ["a3", "a4"]  # B has only 2
    plan = plan_prune(entries, NOW, older_than=timedelta(days=30))
    assert ids(plan.delete) == ["a3", "a4", "b2"]  # b1 is older, but the newest of B
    plan = plan_prune(entries, NOW, keep_last=3, older_than=timedelta(days=30))
    assert ids(plan.delete) == ["a4"]  # a3 is old but among the 3 newest of A, b2 among those of B: kept
    plan = plan_prune(entries, NOW, keep_last=1, older_than=timedelta(days=5))
    assert ids(plan.delete) == ["a2", "a3", "a4", "b2"]
    assert ids(plan_prune(entries, NOW).delete) == []  # no rule: no complete export goes
    assert ids(plan_prune(entries, NOW, keep_last=1, table="B").delete) == ["b2"]
    assert plan_prune(entries, NOW, keep_last=1, table="B").keep[0].entry.export_id == "b1"


@pytest.mark.unit
def test_never_the_newest_complete_export_whatever_the_flags():
    entries = [entry("old", days=400), entry("older", days=500), entry("x", state=CORRUPT, days=1), entry("k", state=INCOMPLETE, days=0.1)]
    plan = plan_prune(entries, NOW, keep_last=1, older_than=timedelta(hours=0))
    assert ids(plan.delete) == ["older"]
    assert "never deleted" in next(d.reason for d in plan.keep if d.entry.export_id == "old")
    # the newest full export stays beside a newer incremental one (it alone restores anything)
    incr = [entry("i1", days=1, kind="INCREMENTAL_EXPORT"), entry("i2", days=2, kind="INCREMENTAL_EXPORT"), entry("f1", days=3)]
    assert ids(plan_prune(incr, NOW, keep_last=1).delete) == ["i2"]


@pytest.mark.unit
def test_incomplete_after_the_grace_period_and_corrupt_never():
    entries = [
        entry("new", days=5),
        entry("k1", state=INCOMPLETE, days=0.5),
        entry("k2", state=INCOMPLETE, days=2),
        entry("bad", state=CORRUPT, days=90),
        entry("k3", state=INCOMPLETE, days=0.5),
    ]
    entries[4].time = None  # no id time, no _started: its age is unknown
    plan = plan_prune(entries, NOW, keep_last=1, older_than=timedelta(days=1))
    assert ids(plan.delete) == ["k2"] and ids(plan.corrupt) == ["bad"]
    assert "never deleted" in plan.corrupt[0].reason
    assert ids(plan_prune(entries, NOW, grace=timedelta(hours=6)).delete) == ["k1", "k2"]
    assert ids(plan_prune(entries, NOW, table="A").delete) == []  # incomplete ones name no table


@pytest.mark.unit
def test_durations_and_latest_uris():
    assert catalog.parse_duration("30d") == timedelta(days=30) and catalog.parse_duration("12h") == timedelta(hours=12)
    assert catalog.parse_duration("30m") == timedelta(minutes=30) and catalog.parse_duration("0h") == timedelta(0)
    for bad in ("30", "1w", "-1d", "d"):
        with pytest.raises(BadInput):
            catalog.parse_duration(bad)
    assert catalog.split_latest("s3://bkt/p/q/latest") == S3Uri("bkt", "p/q")
    assert catalog.split_latest("s3://bkt/p/AWSDynamoDB/latest/") == S3Uri("bkt", "p/AWSDynamoDB")
    assert catalog.split_latest("s3://bkt/latest") == S3Uri("bkt", "")
    assert catalog.split_latest("s3://bkt/p/AWSDynamoDB/01716790307109-5f9d6aaa/") is None
    assert catalog.exports_root(S3Uri("bkt", "p/AWSDynamoDB")) == catalog.exports_root(S3Uri("bkt", "p/")) == "p/AWSDynamoDB/"
    assert resolve_export_uri("/some/folder") == "/some/folder"


# --------------------------------------------------------------------------- moto S3


PLAN = {
    "started_at": "2026-11-28T18:00:00.000Z",
    "prefix": "nightly",
    "table_schema": {"KeySchema": []},
    "engine": "spark",
    "read_percent": 0.5,
    "consistent_read": False,
    "s3": {},
    "region": "eu-west-1",
    "endpoints": {},
}


def write_ours(s3: Any, bucket: str, prefix: str, table: str, age: timedelta, items: int = 30) -> str:
    """An export of ours as the job writes it, its id `age` old."""
    export_id = layout.new_export_id(datetime.now(UTC) - age)
    root = layout.export_root(prefix, export_id)
    settings = S3WriteSettings()
    commit.write_started(s3, bucket, root, settings)
    lines = (item_line(wire_to_json(i)) for i in lab_items(items))
    results = list(
        runtime.write_watched(lambda watched: s3io.write_data_files(s3, bucket, root + "data/", 0, watched, 20, settings), lines)
    )
    files, read = runtime.merge_read_stats(results)
    plan = dict(
        PLAN,
        export_id=export_id,
        prefix=prefix,
        table={"name": table, "arn": f"arn:aws:dynamodb:eu-west-1:123456789012:table/{table}", "table_id": "t"},
    )
    commit.commit(s3, bucket, root, files, runtime.summary_fields(plan, {"reader": "segments"}, read), settings)
    return export_id


def upload_folder(s3: Any, bucket: str, folder: Path, prefix: str) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            s3.put_object(Bucket=bucket, Key=prefix + path.relative_to(folder).as_posix(), Body=path.read_bytes())


class Spy:
    """A boto3 client that records every call and its arguments."""

    def __init__(self, client: Any) -> None:
        self.client, self.calls = client, []

    def get_paginator(self, name: str) -> Any:
        paginator, calls = self.client.get_paginator(name), self.calls

        class P:
            def paginate(self, **kw: Any) -> Any:
                calls.append((name, kw))
                return paginator.paginate(**kw)

        return P()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        def call(**kw: Any) -> Any:
            self.calls.append((name, kw))
            return method(**kw)

        return call


@pytest.fixture(scope="module")
def lab(local_stack) -> dict[str, Any]:
    """One prefix with exports of every state, and one with a single table's exports."""
    s3 = boto3.client("s3")
    bucket = unique_name("catalog").lower()
    s3.create_bucket(Bucket=bucket)
    ex = {"bucket": bucket}
    ex["a_new"] = write_ours(s3, bucket, "mixed", "TableA", timedelta(days=1))
    ex["a_mid"] = write_ours(s3, bucket, "mixed", "TableA", timedelta(days=10))
    ex["a_old"] = write_ours(s3, bucket, "mixed", "TableA", timedelta(days=40))
    ex["b_old"] = write_ours(s3, bucket, "mixed", "TableB", timedelta(days=45))  # the only export of B
    ex["corrupt"] = corrupt = write_ours(s3, bucket, "mixed", "TableA", timedelta(days=60))
    key = f"mixed/AWSDynamoDB/{corrupt}/manifest-summary.json"
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    s3.put_object(Bucket=bucket, Key=key, Body=body.replace(b'"itemCount":30', b'"itemCount":31'))  # md5 no longer matches
    ex["native"] = NATIVE.name
    upload_folder(s3, bucket, NATIVE, f"mixed/AWSDynamoDB/{NATIVE.name}/")
    for age, name in ((timedelta(days=3), "killed"), (timedelta(hours=1), "running")):
        ex[name] = export_id = layout.new_export_id(datetime.now(UTC) - age)
        commit.write_started(s3, bucket, f"mixed/AWSDynamoDB/{export_id}/", S3WriteSettings())
        s3.put_object(Bucket=bucket, Key=f"mixed/AWSDynamoDB/{export_id}/data/part-00000-0000-x.json.gz", Body=b"x" * 10)
    ex["one"] = [write_ours(s3, bucket, "single", "TableA", timedelta(days=d)) for d in (3, 2)]
    return ex


def test_list_finds_every_export_with_its_state_reading_no_data(lab):
    spy = Spy(boto3.client("s3"))
    settings = S3WriteSettings("123456789012")
    entries = list_exports(spy, S3Uri(lab["bucket"], "mixed"), settings)
    got = {e.export_id: e for e in entries}
    assert [e.export_id for e in entries] == [
        lab[k] for k in ("running", "a_new", "killed", "a_mid", "a_old", "b_old", "corrupt", "native")
    ]  # newest first
    assert {k: got[lab[k]].state for k in ("a_new", "b_old", "native", "killed", "running", "corrupt")} == {
        "a_new": COMPLETE,
        "b_old": COMPLETE,
        "native": COMPLETE,
        "killed": INCOMPLETE,
        "running": INCOMPLETE,
        "corrupt": CORRUPT,
    }
    a = got[lab["a_new"]]
    assert (a.table, a.item_count, a.engine, a.tool) == ("TableA", 30, "spark", "ddb-s3") and a.data_bytes and a.data_bytes > 0
    native = got[lab["native"]]
    assert (native.table, native.engine, native.export_type) == ("LabResults", "native", "FULL_EXPORT")
    assert native.item_count == json.loads((NATIVE / "manifest-summary.json").read_text())["itemCount"]
    assert native.data_bytes == sum(p.stat().st_size for p in (NATIVE / "data").iterdir())
    assert got[lab["killed"]].data_bytes == 10
    gets = [kw["Key"] for name, kw in spy.calls if name == "get_object"]
    assert gets and all(k.endswith(("manifest-summary.json", "manifest-summary.md5")) for k in gets)  # no data file read
    assert all(kw.get("ExpectedBucketOwner") == "123456789012" for _, kw in spy.calls)
    # two delimited listings: the exports, and the runs' uploads beside them
    assert [kw["Prefix"] for n, kw in spy.calls if kw.get("Delimiter") == "/"] == ["mixed/AWSDynamoDB/", "mixed/_ddb_s3_artifacts/"]
    assert [e.export_id for e in list_exports(spy, S3Uri(lab["bucket"], "mixed/AWSDynamoDB/"), settings, "TableB")] == [lab["b_old"]]


def test_latest_resolves_to_the_newest_complete_export_everywhere(lab):
    bucket = lab["bucket"]
    for uri in (f"s3://{bucket}/single/latest", f"s3://{bucket}/single/AWSDynamoDB/latest/"):
        assert resolve_export_uri(uri) == f"s3://{bucket}/single/AWSDynamoDB/{lab['one'][1]}/"
        assert open_location(uri).uri == f"s3://{bucket}/single/AWSDynamoDB/{lab['one'][1]}/"
    assert resolve_export_uri(f"s3://{bucket}/mixed/latest", table="TableA").endswith(f"/{lab['a_new']}/")
    assert resolve_export_uri(f"s3://{bucket}/mixed/latest", table="TableB").endswith(f"/{lab['b_old']}/")
    with pytest.raises(BadInput, match="ambiguous: complete exports of tables LabResults, TableA, TableB"):
        resolve_export_uri(f"s3://{bucket}/mixed/latest")
    with pytest.raises(IncompleteExport, match="no complete export"):
        resolve_export_uri(f"s3://{bucket}/nothing-here/latest")


def test_delete_removes_one_folder_in_batches_and_nothing_beside_it(local_stack, monkeypatch):
    s3 = boto3.client("s3")
    bucket = unique_name("catprune").lower()
    s3.create_bucket(Bucket=bucket)
    export_id = write_ours(s3, bucket, "p", "TableA", timedelta(days=9), items=100)  # 5 data files
    upload_folder(s3, bucket, INCREMENTAL, "p/AWSDynamoDB/")  # an incremental export and the shared data/
    s3.put_object(Bucket=bucket, Key=f"p/AWSDynamoDB/{export_id}x/keep", Body=b"k")  # a neighbour with the same start
    s3.put_object(Bucket=bucket, Key=f"p/AWSDynamoDB/{export_id}", Body=b"k")  # a key equal to the folder name
    for name in ("export_job.py", "ddb-s3-spark-helpers.jar"):  # the run's uploads: deleted with it
        s3.put_object(Bucket=bucket, Key=f"p/_ddb_s3_artifacts/{export_id}/{name}", Body=b"a")
    s3.put_object(Bucket=bucket, Key=f"p/_ddb_s3_artifacts/{export_id}x/export_job.py", Body=b"a")  # another run's
    before = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    entries = {e.export_id: e for e in list_exports(s3, S3Uri(bucket, "p"), S3WriteSettings())}
    assert len(entries) == 3 and "data" not in entries  # the shared data/ is no export (nor is the key beside the folder)
    monkeypatch.setattr(catalog, "DELETE_BATCH", 4)
    spy = Spy(s3)
    n, size = catalog.delete_export(spy, entries[export_id], S3WriteSettings("123456789012"))
    # what the listing (and so prune's plan) counts is what goes: the run's uploads included
    assert n == entries[export_id].objects == 12 and size == entries[export_id].total_bytes
    assert [len(kw["Delete"]["Objects"]) for name, kw in spy.calls if name == "delete_objects"] == [4, 4, 2, 2]
    assert all(kw.get("ExpectedBucketOwner") == "123456789012" for _, kw in spy.calls)
    after = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert before - after == {k for k in before if k.startswith((f"p/AWSDynamoDB/{export_id}/", f"p/_ddb_s3_artifacts/{export_id}/"))}
    incremental = next(e for e in entries.values() if e.export_type == "INCREMENTAL_EXPORT")
    catalog.delete_export(s3, incremental, S3WriteSettings())
    assert {k for k in after if k.startswith("p/AWSDynamoDB/data/")} <= {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert any(k.startswith("p/AWSDynamoDB/data/") for k in after)
    with pytest.raises(BadInput, match="not an export folder"):
        catalog.delete_export(s3, ExportEntry("data", f"s3://{bucket}/p/AWSDynamoDB/data/", INCOMPLETE, None), S3WriteSettings())


# --------------------------------------------------------------------------- the commands


def ddb_s3(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "ddb-s3"), *args], capture_output=True, text=True, env=os.environ.copy())


def test_cli_list_show_and_verify_latest(lab):
    bucket = lab["bucket"]
    proc = ddb_s3("exports", "list", f"s3://{bucket}/mixed", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [(d["exportId"], d["state"]) for d in doc][:3] == [
        (lab["running"], "incomplete"),
        (lab["a_new"], "complete"),
        (lab["killed"], "incomplete"),
    ]
    proc = ddb_s3("exports", "list", f"s3://{bucket}/mixed", "--table", "TableA")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["time", "export", "id", "table", "state", "items", "size", "engine"]
    assert [line.split()[2] for line in lines[1:]] == [lab["a_new"], lab["a_mid"], lab["a_old"], lab["corrupt"]]
    assert "complete" in lines[1] and "30" in lines[1] and "spark" in lines[1] and "corrupt" in lines[4]

    proc = ddb_s3("exports", "show", f"s3://{bucket}/mixed", "latest", "--table", "TableB", "--json")
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert (shown["exportId"], shown["table"], shown["itemCount"]) == (lab["b_old"], "TableB", 30)
    assert shown["summary"]["ddbS3"]["exportId"] == lab["b_old"]
    proc = ddb_s3("exports", "show", f"s3://{bucket}/mixed", lab["corrupt"])
    assert proc.returncode == 0 and "state:       corrupt" in proc.stdout, proc.stdout + proc.stderr
    proc = ddb_s3("exports", "show", f"s3://{bucket}/mixed", "latest")
    assert proc.returncode == 2 and "ambiguous" in proc.stderr

    proc = ddb_s3("verify", f"s3://{bucket}/single/latest")
    assert proc.returncode == 0, proc.stderr
    assert f"ok: s3://{bucket}/single/AWSDynamoDB/{lab['one'][1]}/: 30 items" in proc.stderr
    proc = ddb_s3("verify", f"s3://{bucket}/nothing/AWSDynamoDB/latest")
    assert proc.returncode == 3 and "no complete export" in proc.stderr


def test_cli_latest_of_one_of_several_tables(lab, tmp_path):
    """Exports of several tables under one prefix: the commands that read an export take
    --source-table to say whose `latest` (issue 24), and refuse it beside one export's URI."""
    bucket = lab["bucket"]
    proc = ddb_s3("verify", f"s3://{bucket}/mixed/latest")
    assert proc.returncode == 2 and "name one with --source-table T" in proc.stderr, proc.stderr
    proc = ddb_s3("verify", f"s3://{bucket}/mixed/latest", "--source-table", "TableA")
    assert proc.returncode == 0, proc.stderr
    assert f"latest: s3://{bucket}/mixed/AWSDynamoDB/{lab['a_new']}/" in proc.stderr
    proc = ddb_s3("download", f"s3://{bucket}/mixed/latest", str(tmp_path / "b"), "--source-table", "TableB", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["items"] == 30
    assert json.loads((tmp_path / "b" / "manifest-summary.json").read_text())["ddbS3"]["exportId"] == lab["b_old"]
    proc = ddb_s3(
        "convert", f"s3://{bucket}/mixed/latest", "--source-table", "TableB", "--format", "jsonl", "--out", str(tmp_path / "b.jsonl")
    )
    assert proc.returncode == 0, proc.stderr
    assert len((tmp_path / "b.jsonl").read_text().splitlines()) == 30
    proc = ddb_s3("verify", f"s3://{bucket}/single/AWSDynamoDB/{lab['one'][1]}/", "--source-table", "TableA")
    assert proc.returncode == 2 and "drop --source-table" in proc.stderr, proc.stderr
    proc = ddb_s3("restore", f"s3://{bucket}/mixed/latest", "--table", "Anything")
    assert proc.returncode == 2 and "--source-table" in proc.stderr, proc.stderr


def test_cli_prune_plans_first_then_deletes(local_stack):
    s3 = boto3.client("s3")
    bucket = unique_name("catcli").lower()
    s3.create_bucket(Bucket=bucket)
    new, mid, old = (write_ours(s3, bucket, "p", "TableA", timedelta(days=d)) for d in (1, 10, 40))
    killed, running = (layout.new_export_id(datetime.now(UTC) - age) for age in (timedelta(days=2), timedelta(hours=2)))
    for export_id in (killed, running):
        commit.write_started(s3, bucket, f"p/AWSDynamoDB/{export_id}/", S3WriteSettings())
    bad = write_ours(s3, bucket, "p", "TableA", timedelta(days=50))
    s3.put_object(Bucket=bucket, Key=f"p/AWSDynamoDB/{bad}/manifest-summary.json", Body=b"{not json")

    def keys() -> set[str]:
        return {o["Key"].split("/")[2] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}

    assert keys() == {new, mid, old, killed, running, bad}
    proc = ddb_s3("exports", "prune", f"s3://{bucket}/p", "--keep-last", "1", "--older-than", "5d", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    planned = [line for line in proc.stdout.splitlines() if line.startswith("would delete: ")]
    assert [line.split()[2] for line in planned] == [f"s3://{bucket}/p/AWSDynamoDB/{i}/" for i in (killed, mid, old)]
    assert "KiB" in planned[1] and f"not deleting: s3://{bucket}/p/AWSDynamoDB/{bad}/" in proc.stdout
    assert "plan: delete 3 export(s)" in proc.stdout
    assert keys() == {new, mid, old, killed, running, bad}  # a dry run deletes nothing

    proc = ddb_s3("exports", "prune", f"s3://{bucket}/p", "--older-than", "30d", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["deleted"] == [f"s3://{bucket}/p/AWSDynamoDB/{i}/" for i in (killed, old)] and doc["deletedBytes"] > 0
    assert keys() == {new, mid, running, bad}

    proc = ddb_s3("exports", "prune", f"s3://{bucket}/p", "--keep-last", "1")
    assert proc.returncode == 0, proc.stderr
    assert f"deleted: s3://{bucket}/p/AWSDynamoDB/{mid}/ (" in proc.stdout and "deleted 1 export(s): " in proc.stdout
    assert keys() == {new, running, bad}  # the newest complete one, the running one and the corrupt one stay

    proc = ddb_s3("exports", "prune", f"s3://{bucket}/p", "--keep-last", "0")
    assert proc.returncode == 2 and "--keep-last: must be at least 1" in proc.stderr
    proc = ddb_s3("exports", "prune", f"s3://{bucket}/p", "--older-than", "30 days")
    assert proc.returncode == 2 and "--older-than: must be a duration like 30d, 24h, 30m or 0h" in proc.stderr


def test_a_run_that_left_only_its_uploads_is_an_incomplete_export_prune_removes(local_stack):
    """A cloud run interrupted before its first write leaves only <prefix>/_ddb_s3_artifacts/<id>/
    (issue 24's exercise: exports list said "no exports" and prune found nothing to delete)."""
    s3 = boto3.client("s3")
    bucket = unique_name("catuploads").lower()
    s3.create_bucket(Bucket=bucket)
    export_id = layout.new_export_id(datetime.now(UTC) - timedelta(hours=1))
    for name in ("export_job.py", "ddb-s3-spark-helpers.jar"):
        s3.put_object(Bucket=bucket, Key=f"p/_ddb_s3_artifacts/{export_id}/{name}", Body=b"abc")
    s3.put_object(Bucket=bucket, Key="p/_ddb_s3_artifacts/not-a-run/x", Body=b"x")  # no export id: not ours to list
    (entry,) = list_exports(s3, S3Uri(bucket, "p"), S3WriteSettings())
    assert (entry.export_id, entry.state, entry.total_bytes, entry.objects) == (export_id, INCOMPLETE, 6, 2)
    assert entry.problem and "only its run's uploads" in entry.problem
    listed = ddb_s3("exports", "list", f"s3://{bucket}/p")
    assert export_id in listed.stdout and "incomplete" in listed.stdout, listed.stdout + listed.stderr
    kept = ddb_s3("exports", "prune", f"s3://{bucket}/p", "--yes")
    assert kept.returncode == 0 and "delete 0 export(s), 0 B; keep 1" in kept.stdout, kept.stdout + kept.stderr  # within its grace
    gone = ddb_s3("exports", "prune", f"s3://{bucket}/p", "--grace", "0h", "--yes")
    assert gone.returncode == 0 and "deleted 1 export(s): 2 objects, 6 B" in gone.stdout, gone.stdout + gone.stderr
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["p/_ddb_s3_artifacts/not-a-run/x"]


def test_cli_prune_on_a_terminal_asks_first(local_stack):
    """A person at a terminal confirms a real prune (issue 24.9): "n" (or just Enter) deletes
    nothing and exits 1; --yes does not ask. Scripts (no terminal) are not asked, as above."""
    import pty

    s3 = boto3.client("s3")
    bucket = unique_name("catask").lower()
    s3.create_bucket(Bucket=bucket)
    _new, old = (write_ours(s3, bucket, "p", "TableA", timedelta(days=d)) for d in (1, 40))

    def on_terminal(*args: str, answer: bytes) -> tuple[int, str]:
        primary, secondary = pty.openpty()
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "ddb-s3"), *args], stdin=secondary, stdout=secondary, stderr=secondary, env=os.environ.copy()
        )
        os.close(secondary)
        os.write(primary, answer)
        shown = b""
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the other side closed: the process is done
                break
            if not chunk:
                break
            shown += chunk
        os.close(primary)
        return proc.wait(timeout=60), shown.decode(errors="replace")

    def ids() -> set[str]:
        return {o["Key"].split("/")[2] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}

    code, screen = on_terminal("exports", "prune", f"s3://{bucket}/p", "--keep-last", "1", answer=b"n\n")
    assert code == 1 and "delete 1 export(s), " in screen and "[y/N]" in screen, screen
    assert "prune cancelled: nothing deleted" in screen, screen
    assert old in ids()
    code, screen = on_terminal("exports", "prune", f"s3://{bucket}/p", "--keep-last", "1", "--yes", answer=b"")
    assert code == 0 and "[y/N]" not in screen and "deleted 1 export(s)" in screen, screen
    assert old not in ids()
