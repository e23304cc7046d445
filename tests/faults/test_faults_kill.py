"""`ddb-s3 export --runner local` killed with SIGKILL mid-export, at points seen in S3 (its _started
marker, its first data part): the CLI, its process group and every process it started
(spark-submit runs in a session of its own, so it is found through /proc and killed too, as a
power cut would). Each partial export is never taken for a backup (no manifest written, verify
says incomplete with exit 3, download refuses); a rerun gives one complete, exact export."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from helpers import process_alive as alive
from helpers import table_items, unique_name
from launcher.backup.download import download
from launcher.core.codec import item_key, items_equal, parse_item_line
from launcher.core.errors import IncompleteExport
from launcher.core.wait import WaitTimeout, poll_until
from launcher.dev.sample_data import create_lab_table, lab_items, load_items

pytestmark = pytest.mark.e2e
KEYS = ["patient_id", "sample_id"]
DDB_S3 = str(Path(sys.executable).parent / "ddb-s3")
PHASES = ["_started", "data"]  # what the export is seen to have written when it is killed
ITEMS = 1200
# The killed runs read at 2 units/s in all: ~1200 lab items take tens of seconds to read, the first
# data part comes after 50 of each task's 300, so a kill right after seeing it lands mid-read.
THROTTLE = ["--on-demand-read-units", "2", "--read-percent", "1.0"]


def descendants(pid: int) -> set[int]:
    """Every live process below pid (by parent pid, from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def kill_everything(proc: subprocess.Popen) -> set[int]:
    tree = descendants(proc.pid)
    os.killpg(proc.pid, signal.SIGKILL)
    for pid in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait()
    return tree


def keys_under(s3, bucket: str, prefix: str) -> list[str]:
    return [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix) for o in p.get("Contents", [])]


@pytest.fixture(scope="module")
def source(local_stack):
    ddb = boto3.client("dynamodb")
    name = unique_name("kill")
    create_lab_table(ddb, name)
    load_items(ddb, name, lab_items(ITEMS, seed=5))
    items = table_items(ddb, name)
    bucket = unique_name("kill").lower()
    boto3.client("s3").create_bucket(Bucket=bucket)
    yield name, bucket, items
    ddb.delete_table(TableName=name)


def wait_for(proc: subprocess.Popen, s3, bucket: str, prefix: str, before: set[str], what: str) -> set[str]:
    """Poll S3 (bounded) until the export has written `what` ("_started", or "data": a first data
    part), and return what it has written by then. Fails if the CLI ends first or 180 s pass."""

    def written() -> set[str]:
        assert proc.poll() is None, f"the export ended (exit {proc.returncode}) before writing its first {what}"
        return set(keys_under(s3, bucket, prefix)) - before

    def arrived(new: set[str]) -> bool:
        return any(k.endswith("/_started") if what == "_started" else "/data/" in k for k in new)

    return poll_until(written, arrived, every=0.05, timeout=180, what=f"the export's first {what} object")


def test_killed_exports_are_never_backups_and_a_rerun_is_exact(source, s3, tmp_path):
    """Each run is killed at a point it is seen to have reached (its _started marker, its first data
    part), while the read budget (THROTTLE) keeps the rest of its read tens of seconds long: the
    kill lands mid-export, and the test checks that it did (the CLI still running, no manifest yet)."""
    table, bucket, items = source
    prefix = "killed"
    cmd = [
        DDB_S3,
        "export",
        "--table",
        table,
        "--to",
        f"s3://{bucket}/{prefix}",
        "--segments",
        "4",
        "--reader",
        "segments",
        "--max-items-per-file",
        "50",
        "--work-dir",
        str(tmp_path / "runs"),
    ]
    killed_at = []
    for phase in PHASES:
        before = set(keys_under(s3, bucket, prefix))
        proc = subprocess.Popen(cmd + THROTTLE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        seen = wait_for(proc, s3, bucket, prefix, before, phase)
        assert proc.poll() is None, f"{phase}: the export ended before the kill"
        assert not any(k.endswith(("/manifest-summary.json", "/manifest-files.json")) for k in seen), seen
        tree = kill_everything(proc)
        with contextlib.suppress(WaitTimeout):  # SIGKILL is delivered at once; a process can take a moment to be reaped
            poll_until(lambda tree=tree: [p for p in tree if alive(p)], lambda left: not left, every=0.05, timeout=30)
        survivors = [p for p in tree if alive(p)]
        assert not survivors, f"{phase}: processes survived SIGKILL: {survivors}"
        written = set(keys_under(s3, bucket, prefix)) - before
        roots = {k.rsplit("/_started", 1)[0] + "/" for k in written if k.endswith("/_started")}
        assert len(roots) == 1, written
        root = roots.pop()
        # killed mid-export: started, and neither manifest was written (data files come first, manifests last)
        assert not any(k.endswith(("/manifest-summary.json", "/manifest-files.json")) for k in written), written
        if phase == "data":
            assert any(k.startswith(root + "data/") for k in written), written
        killed_at.append((phase, root, len(written), len(tree)))

        # verify (the CLI): one line, exit 3, the word incomplete; download refuses
        v = subprocess.run([DDB_S3, "verify", f"s3://{bucket}/{root}"], capture_output=True, text=True, timeout=300)
        assert v.returncode == 3 and "incomplete" in v.stderr, (v.returncode, v.stderr)
        assert len(v.stderr.strip().splitlines()) == 1, v.stderr
        dest = tmp_path / "dl" / root.replace("/", "_")
        with pytest.raises(IncompleteExport):
            download(f"s3://{bucket}/{root}", dest)
        assert not (dest / "manifest-summary.json").exists()

    roots = [k[1] for k in killed_at]
    rerun = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    result = json.loads(rerun.stdout)
    assert result["itemCount"] == len(items)
    new_root = result["exportUri"].split(bucket + "/", 1)[1]
    assert new_root not in roots
    assert_exact(s3, bucket, new_root, items)
    complete = [
        r
        for r in [*roots, new_root]
        if subprocess.run([DDB_S3, "verify", f"s3://{bucket}/{r}"], capture_output=True, timeout=300).returncode == 0
    ]
    assert complete == [new_root], (complete, killed_at)
    print("kill points (phase, export root, objects written, processes killed):", killed_at)


def assert_exact(s3, bucket: str, root: str, items: dict) -> None:
    back: dict = {}
    for entry in s3.get_object(Bucket=bucket, Key=root + "manifest-files.json")["Body"].read().decode().splitlines():
        key = json.loads(entry)["dataFileS3Key"]
        for line in gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).decode().splitlines():
            item = parse_item_line(line)
            assert item_key(item, KEYS) not in back
            back[item_key(item, KEYS)] = item
    assert back.keys() == items.keys()
    assert all(items_equal(items[k], back[k]) for k in items)
