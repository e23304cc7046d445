"""restore against dynalite: every format, no-overwrite conflicts and exit status, overwrite,
incremental, create-table, and an interrupted restore resumed from its checkpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from helpers import DP, INCR, NATIVE, expected, unique_name, write_export
from launcher.backup.restore import RestoreOptions, restore
from launcher.core.budget import TokenBucket
from launcher.core.codec import item_key, items_equal, json_to_wire, wire_to_json
from launcher.core.errors import BadInput
from launcher.dev.sample_data import create_lab_table, lab_items, load_items

pytestmark = pytest.mark.integration

KEYS = ["patient_id", "sample_id"]


def table_items(ddb: Any, table: str) -> dict[tuple, dict]:
    out = {}
    for page in ddb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for it in page["Items"]:
            j = wire_to_json(it)
            out[item_key(j, KEYS)] = j
    return out


def assert_table_equals(ddb: Any, table: str, items: list[dict]) -> None:
    got = table_items(ddb, table)
    want = {item_key(i, KEYS): i for i in items}
    assert got.keys() == want.keys()
    bad = [k for k in want if not items_equal(got[k], want[k])]
    assert not bad, f"{len(bad)} items differ, e.g. {bad[0]}"


def lab_table(ddb: Any) -> str:
    name = unique_name("lab")
    create_lab_table(ddb, name)
    return name


@pytest.fixture
def lab(ddb: Any):
    created = []

    def make() -> str:
        created.append(lab_table(ddb))
        return created[-1]

    yield make
    for t in created:
        ddb.delete_table(TableName=t)


@pytest.mark.parametrize("folder,name", [(NATIVE, "native-full"), (DP, "datapipeline")])
def test_restore_native_and_datapipeline(ddb: Any, lab, folder: Path, name: str) -> None:
    table = lab()
    result = restore(str(folder), RestoreOptions(table=table, concurrency=4))
    assert result.counts.written == len(expected(name)) and result.counts.skipped == 0
    assert_table_equals(ddb, table, expected(name))


def test_incremental_applies_puts_and_deletes_with_overwrite_only(ddb: Any, lab) -> None:
    table = lab()
    load_items(ddb, table, (json_to_wire(i) for i in expected("incremental-base")))
    with pytest.raises(BadInput, match="--overwrite"):
        restore(str(INCR), RestoreOptions(table=table))
    result = restore(str(INCR), RestoreOptions(table=table, overwrite=True, force=True))  # base is not named LabResults
    assert (result.counts.written, result.counts.deleted) == (7, 2)
    assert_table_equals(ddb, table, expected("incremental"))


def ddb_s3(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "ddb-s3"), *args], capture_output=True, text=True, env=os.environ.copy())


def test_no_overwrite_keeps_existing_items_lists_skipped_keys(ddb: Any, lab, tmp_path: Path) -> None:
    items = expected("native-full")
    table = lab()
    load_items(ddb, table, (json_to_wire(i) for i in items))
    changed = [dict(items[i], value={"N": "999.5"}, comment={"S": "newer data"}) for i in range(5)]
    load_items(ddb, table, (json_to_wire(i) for i in changed))  # newer values for 5 keys
    for i in items[5:12]:  # 7 keys gone from the table: the restore must bring them back
        ddb.delete_item(TableName=table, Key={k: json_to_wire(i)[k] for k in KEYS})
    skipped_file = tmp_path / "skipped.jsonl"

    proc = ddb_s3("restore", str(NATIVE), "--table", table)
    assert proc.returncode == 2 and "--force" in proc.stderr  # export of LabResults, table is another, non-empty
    proc = ddb_s3("restore", str(NATIVE), "--table", table, "--force", "--skipped-keys-file", str(skipped_file), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert (doc["written"], doc["skipped"], doc["identical"]) == (7, 5, 28)
    assert_table_equals(ddb, table, changed + items[5:])  # the 5 newer items untouched
    listed = [json.loads(line) for line in skipped_file.read_text().splitlines()]
    assert sorted(item_key(r["key"], KEYS) for r in listed) == sorted(item_key(i, KEYS) for i in changed)

    proc = ddb_s3("restore", str(NATIVE), "--table", table, "--force", "--fail-on-skip")
    assert proc.returncode == 4 and "5 key(s) existed with other values" in proc.stderr
    assert_table_equals(ddb, table, changed + items[5:])


def test_overwrite_replaces_existing(ddb: Any, lab) -> None:
    items = expected("native-full")
    table = lab()
    load_items(ddb, table, (json_to_wire(dict(i, value={"N": "1"})) for i in items[:10]))
    result = restore(str(NATIVE), RestoreOptions(table=table, overwrite=True, force=True))
    assert result.counts.written == 40
    assert_table_equals(ddb, table, items)


def test_create_table_from_recorded_schema(ddb: Any, tmp_path: Path) -> None:
    items = [wire_to_json(i) for i in lab_items(60)]
    folder = write_export(tmp_path, items)
    table = unique_name("created")
    with pytest.raises(BadInput, match="does not exist"):
        restore(str(folder), RestoreOptions(table=table))
    try:
        restore(str(folder), RestoreOptions(table=table, create_table=True))
        desc = ddb.describe_table(TableName=table)["Table"]
        assert [i["IndexName"] for i in desc["GlobalSecondaryIndexes"]] == ["by_test"]
        assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert_table_equals(ddb, table, items)
    finally:
        ddb.delete_table(TableName=table)


def test_refuses_corrupt_export_before_writing(ddb: Any, lab, tmp_path: Path) -> None:
    items = [wire_to_json(i) for i in lab_items(50)]
    folder = write_export(tmp_path, items)
    victim = sorted((folder / "data").iterdir())[1]
    data = bytearray(victim.read_bytes())
    data[20] ^= 0xFF
    victim.write_bytes(bytes(data))
    table = lab()
    with pytest.raises(Exception, match="failed verification, nothing was written"):
        restore(str(folder), RestoreOptions(table=table))
    assert table_items(ddb, table) == {}


def test_a_corrupt_data_file_mid_restore_is_one_line_with_the_count_and_a_resume(ddb: Any, lab, tmp_path: Path) -> None:
    """--no-verify: the damage shows only when the file is read. The run ends in one line naming the
    file, what was restored and how to resume (exit 3); with the file replaced, the same command
    resumes and ends with the table equal to the backup."""
    items = [wire_to_json(i) for i in lab_items(600)]
    folder = write_export(tmp_path, items, files=2)
    victim = sorted((folder / "data").iterdir())[1]
    good = victim.read_bytes()
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0xFF
    victim.write_bytes(bytes(bad))
    table = lab()
    ckpt = tmp_path / "ckpt.json"
    args = ("restore", str(folder), "--table", table, "--no-verify", "--checkpoint", str(ckpt))
    proc = ddb_s3(*args)
    assert proc.returncode == 3, proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert "Traceback" not in proc.stderr and victim.name in line and "is not a valid gzip file" in line, proc.stderr
    assert "items were restored before it" in line and "run the same command again to resume" in line, line
    assert 0 < len(table_items(ddb, table)) < 600  # the first file's items are in
    victim.write_bytes(good)
    proc = ddb_s3(*args)
    assert proc.returncode == 0, proc.stderr
    assert_table_equals(ddb, table, items)


class Boom(Exception):
    pass


def test_interrupted_restore_resumes_to_same_table(ddb: Any, lab, tmp_path: Path) -> None:
    items = [wire_to_json(i) for i in lab_items(2000)]
    folder = write_export(tmp_path, items)
    table = lab()
    ckpt = tmp_path / "ckpt.json"
    opts = RestoreOptions(table=table, checkpoint=ckpt, concurrency=4, skipped_keys_file=tmp_path / "skipped.jsonl")

    def explode(counts) -> None:
        if counts.done >= 700:
            raise Boom()

    with pytest.raises(Boom):
        restore(str(folder), opts, on_progress=explode)
    saved = json.loads(ckpt.read_text())
    assert 700 <= saved["counts"]["written"] < 2000
    assert len(table_items(ddb, table)) < 2000
    result = restore(str(folder), opts)
    assert result.resumed
    c = result.counts
    assert c.skipped == 0 and c.written + c.identical == 2000
    assert c.identical <= 4 * 25 * 3  # at most the batches in flight when it stopped are sent again
    assert_table_equals(ddb, table, items)
    assert (tmp_path / "skipped.jsonl").read_text() == ""


def test_ctrl_c_reports_the_count_the_checkpoint_holds_after_the_batches_in_flight(ddb: Any, lab, tmp_path: Path) -> None:
    """Ctrl-C mid-restore (issue 24's exercise: "interrupted after 400 items", then "650 items done"):
    the interrupted line comes last, after the batches in flight, with the checkpoint's count."""
    folder = write_export(tmp_path, [wire_to_json(i) for i in lab_items(2000)])
    ckpt = tmp_path / "ckpt.json"
    said: list[str] = []

    pressed: list[int] = []

    def ctrl_c(counts) -> None:
        if counts.done >= 500 and not pressed:  # once, as one Ctrl-C
            pressed.append(counts.done)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        restore(str(folder), RestoreOptions(table=lab(), checkpoint=ckpt, concurrency=4), say=said.append, on_progress=ctrl_c)
    done = json.loads(ckpt.read_text())["counts"]
    last = said[-1]
    assert last.startswith(
        f"restore interrupted after {done['written'] + done['identical'] + done['skipped']:,} items: run the same command again"
    ), said
    assert done["written"] > pressed[0]  # the batches in flight at the press were counted too


def test_sigkilled_restore_resumes_to_same_table(ddb: Any, lab, tmp_path: Path) -> None:
    items = [wire_to_json(i) for i in lab_items(2000)]
    folder = write_export(tmp_path, items)
    table = lab()
    ckpt = tmp_path / "ckpt.json"
    # 600 write units/s: ~4 s for 2000 items, so there is time to kill it halfway (and the budget is used).
    args = [
        str(Path(sys.executable).parent / "ddb-s3"),
        "restore",
        str(folder),
        "--table",
        table,
        "--checkpoint",
        str(ckpt),
        "--on-demand-write-units",
        "600",
        "--write-percent",
        "1",
        "--concurrency",
        "4",
        "--json",
    ]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if json.loads(ckpt.read_text())["counts"]["written"] >= 600:
                break
        except (FileNotFoundError, ValueError, KeyError):
            pass
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert len(table_items(ddb, table)) < 2000
    done = subprocess.run(args, capture_output=True, text=True, env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["skipped"] == 0 and doc["written"] + doc["identical"] == 2000
    assert_table_equals(ddb, table, items)


def test_checkpoint_of_another_restore_refused(ddb: Any, lab, tmp_path: Path) -> None:
    table = lab()
    ckpt = tmp_path / "ckpt.json"
    restore(str(NATIVE), RestoreOptions(table=table, checkpoint=ckpt))
    with pytest.raises(BadInput, match="belongs to another restore"):
        restore(str(DP), RestoreOptions(table=table, checkpoint=ckpt))


def test_throttling_and_unprocessed_items_retried_condition_failure_not(monkeypatch) -> None:
    """dynalite never throttles nor returns UnprocessedItems, so the retry paths use a botocore Stubber."""
    import boto3
    from botocore.stub import ANY, Stubber

    from launcher.aws.json_body import BODY
    from launcher.backup import restore as r
    from launcher.backup.formats import Record

    monkeypatch.setattr(r.time, "sleep", lambda _s: None)
    session = boto3.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    client = r.writer_client(session, 1)
    stub = Stubber(client)
    writer = r._Writer(client, "T", "pk", ["pk"], TokenBucket(1000))
    recs = [Record("put", {"pk": {"S": k}, "v": {"N": "1"}}, n) for n, k in enumerate("ab")]
    put = {"PutRequest": {"Item": {"pk": {"S": "b"}, "v": {"N": "1"}}}}
    stub.add_client_error("batch_write_item", "ProvisionedThroughputExceededException")
    # the first try carries the body built from the records; the retry sends what botocore parsed
    stub.add_response("batch_write_item", {"UnprocessedItems": {"T": [put]}}, {"RequestItems": {"T": []}, BODY: ANY})
    stub.add_response("batch_write_item", {"UnprocessedItems": {}}, {"RequestItems": {"T": [put]}, "ReturnConsumedCapacity": "TOTAL"})
    stub.add_client_error("put_item", "ConditionalCheckFailedException")
    stub.add_response("get_item", {"Item": {"pk": {"S": "a"}, "v": {"N": "2"}}})
    with stub:
        counts, _ = writer.batch_overwrite(recs)
        assert counts.written == 2
        counts, skipped = writer.put_if_absent(recs[:1])  # one put_item call only: never retried
        assert (counts.skipped, len(skipped)) == (1, 1)
    stub.assert_no_pending_responses()


def test_a_second_run_of_the_same_restore_resumes_and_is_not_taken_for_another_tables_items(ddb: Any, lab, tmp_path: Path) -> None:
    """Without --checkpoint (issue 15): the export's table is LabResults, the target another table,
    so a non-empty target is refused... unless it is this same restore's own earlier run."""
    items = [wire_to_json(i) for i in lab_items(1500)]
    folder = write_export(tmp_path, items)  # an export of table LabResults
    table = lab()
    opts = RestoreOptions(table=table, concurrency=4)

    def explode(counts) -> None:
        if counts.done >= 500:
            raise Boom()

    with pytest.raises(Boom):
        restore(str(folder), opts, on_progress=explode)
    assert 0 < len(table_items(ddb, table)) < 1500
    again = restore(str(folder), opts)  # no --force, no --checkpoint: resumed, not refused
    assert again.resumed and again.counts.written + again.counts.identical == 1500
    assert_table_equals(ddb, table, items)
    third = restore(str(folder), opts)  # finished before: a full pass again, nothing overwritten
    assert not third.resumed and third.counts.identical == 1500 and third.counts.written == 0
    # (another export into this non-empty table is still refused: tests/cli/test_bad_input.py restore-other-table)


def test_a_table_with_another_key_is_refused_in_words(ddb: Any, tmp_path: Path) -> None:
    """The key mismatch reads as keys, not as a Python list of tuples (issue 24.10)."""
    folder = write_export(tmp_path, [wire_to_json(i) for i in lab_items(5)])
    table = unique_name("otherkey")
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 60})  # ACTIVE, bounded
    try:
        with pytest.raises(BadInput) as e:
            restore(str(folder), RestoreOptions(table=table))
        assert str(e.value) == (
            f"table {table!r} has key id (partition), the export's table had patient_id (partition)"
            " + sample_id (sort): restore into a table with the same key"
        )
    finally:
        ddb.delete_table(TableName=table)
