"""The whole way on the local stack: Spark export (ddb-s3 export --runner local) -> download ->
verify -> restore into a new table -> every item equal in value and type. One Spark export,
shared by the tests of this module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from helpers import table_items, unique_name
from launcher.core.codec import items_equal
from launcher.dev.sample_data import create_lab_table, lab_items, load_items

pytestmark = pytest.mark.e2e

N = 3000
DDB_S3 = str(Path(sys.executable).parent / "ddb-s3")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([DDB_S3, *args], capture_output=True, text=True, env=os.environ.copy(), timeout=900)


@pytest.fixture(scope="module")
def exported(local_stack, tmp_path_factory) -> dict:
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    table, bucket = unique_name("LabResults"), unique_name("rt")
    create_lab_table(ddb, table)
    load_items(ddb, table, lab_items(N))
    s3.create_bucket(Bucket=bucket)
    proc = run(
        "export",
        "--table",
        table,
        "--to",
        f"s3://{bucket}/ddb",
        "--engine",
        "spark",
        "--runner",
        "local",
        "--json",
        "--work-dir",
        str(tmp_path_factory.mktemp("runs")),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(proc.stdout.strip().splitlines()[-1])
    folder = tmp_path_factory.mktemp("backup") / "b"
    proc = run("download", doc["exportUri"], str(folder), "--json")
    assert proc.returncode == 0, proc.stderr
    return {"table": table, "uri": doc["exportUri"], "folder": folder, "source": table_items(ddb, table)}


def test_download_verify_restore_equal(exported: dict) -> None:
    ddb = boto3.client("dynamodb")
    proc = run("verify", str(exported["folder"]))
    assert proc.returncode == 0 and f"{N:,} items" in proc.stderr
    target = unique_name("LabResults-restored")
    proc = run("restore", str(exported["folder"]), "--table", target, "--create-table", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["written"] == N
    got, want = table_items(ddb, target), exported["source"]
    assert len(want) == N and got.keys() == want.keys()
    assert all(items_equal(got[k], want[k]) for k in want)
    ddb.delete_table(TableName=target)


def test_restore_from_s3_then_again_skips_nothing_changes_nothing(exported: dict) -> None:
    ddb = boto3.client("dynamodb")
    target = unique_name("LabResults-s3")
    proc = run("restore", exported["uri"], "--table", target, "--create-table", "--json")
    assert proc.returncode == 0, proc.stderr
    # the same restore again: recognised as ours (no --force needed), writes every item again, none changed
    proc = run("restore", exported["uri"], "--table", target, "--json", "--fail-on-skip")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert proc.returncode == 0 and (doc["written"], doc["skipped"], doc["identical"]) == (0, 0, N)
    got = table_items(ddb, target)
    assert all(items_equal(got[k], v) for k, v in exported["source"].items()) and len(got) == N
    ddb.delete_table(TableName=target)


def test_flipped_byte_in_our_export_caught(exported: dict, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "c"
    shutil.copytree(exported["folder"], copy)
    victim = sorted((copy / "data").iterdir())[0]
    data = bytearray(victim.read_bytes())
    data[len(data) // 3] ^= 0x10
    victim.write_bytes(bytes(data))
    proc = run("verify", str(copy))
    assert proc.returncode == 3 and victim.name in proc.stderr  # a corrupt export
