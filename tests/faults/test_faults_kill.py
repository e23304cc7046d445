"""`ddb-s3 export --runner local` killed with SIGKILL at random points (seeded): the CLI, its process
group and every process it started (spark-submit runs in a session of its own, so it is found
through /proc and killed too, as a power cut would). Each partial export is never taken for a
backup (verify says incomplete, download refuses); a rerun gives one complete, exact export."""
from __future__ import annotations

import gzip
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from launcher.core.codec import item_key, items_equal, parse_item_line
from launcher.backup.download import download
from launcher.core.errors import IncompleteExport
from launcher.dev.sample_data import create_lab_table, lab_items, load_items

from helpers import process_alive as alive, table_items, unique_name

pytestmark = pytest.mark.e2e
KEYS = ["patient_id", "sample_id"]
DDB_S3 = str(Path(sys.executable).parent / "ddb-s3")
SEEDS = [1, 2, 3]


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
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()
    return tree


def keys_under(s3, bucket: str, prefix: str) -> list[str]:
    return [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for o in p.get("Contents", [])]


@pytest.fixture(scope="module")
def source(local_stack):
    ddb = boto3.client("dynamodb")
    name = unique_name("kill")
    create_lab_table(ddb, name)
    load_items(ddb, name, lab_items(400, seed=5))
    items = table_items(ddb, name)
    bucket = unique_name("kill").lower()
    boto3.client("s3").create_bucket(Bucket=bucket)
    yield name, bucket, items
    ddb.delete_table(TableName=name)


def test_killed_exports_are_never_backups_and_a_rerun_is_exact(source, s3, tmp_path):
    table, bucket, items = source
    prefix = "killed"
    cmd = [DDB_S3, "export", "--table", table, "--to", f"s3://{bucket}/{prefix}", "--segments", "4",
           "--reader", "segments", "--max-items-per-file", "50", "--work-dir", str(tmp_path / "runs")]
    killed_at = []
    for seed in SEEDS:
        rng = random.Random(seed)
        phase = ["launch", "_started", "data"][seed % 3]
        before = set(keys_under(s3, bucket, prefix))
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 180
        while phase != "launch" and time.monotonic() < deadline and proc.poll() is None:
            new = set(keys_under(s3, bucket, prefix)) - before
            if any(k.endswith("/_started") if phase == "_started" else "/data/" in k for k in new):
                break
            time.sleep(0.05)
        time.sleep(rng.uniform(*{"launch": (0.5, 4.0), "_started": (0.0, 2.0), "data": (0.0, 0.3)}[phase]))
        finished_first = proc.poll() is not None
        kill_time = time.time()
        tree = kill_everything(proc)
        time.sleep(1.0)
        survivors = [p for p in tree if alive(p)]
        assert not survivors, f"seed {seed}: processes survived SIGKILL: {survivors}"
        written = set(keys_under(s3, bucket, prefix)) - before
        # Nothing is left running, so a summary there now was written before the kill.
        committed = any(k.endswith("/manifest-summary.json") for k in written)
        killed_at.append((seed, phase, finished_first or committed, len(written),
                          time.strftime("%H:%M:%S", time.gmtime(kill_time)), len(tree)))

    roots = sorted({k.rsplit("/_started", 1)[0] + "/" for k in keys_under(s3, bucket, prefix) if k.endswith("/_started")})
    for root in roots:
        # verify (the CLI): one line, exit 3, the word incomplete
        v = subprocess.run([DDB_S3, "verify", f"s3://{bucket}/{root}"], capture_output=True, text=True)
        complete = v.returncode == 0
        if not complete:
            assert v.returncode == 3 and "incomplete" in v.stderr, v.stderr
            assert len(v.stderr.strip().splitlines()) == 1, v.stderr
            with pytest.raises(IncompleteExport):
                download(f"s3://{bucket}/{root}", tmp_path / "dl" / root.replace("/", "_"))
            assert not (tmp_path / "dl" / root.replace("/", "_") / "manifest-summary.json").exists()
        else:  # the export finished before the kill: then it is exact
            assert_exact(s3, bucket, root, items)

    before_rerun = {r for r in roots}
    rerun = subprocess.run(cmd + ["--json"], capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    result = json.loads(rerun.stdout)
    assert result["itemCount"] == len(items)
    new_root = result["exportUri"].split(bucket + "/", 1)[1]
    assert new_root not in before_rerun
    assert_exact(s3, bucket, new_root, items)
    complete = [r for r in roots + [new_root]
                if subprocess.run([DDB_S3, "verify", f"s3://{bucket}/{r}"], capture_output=True).returncode == 0]
    finished_before_kill = sum(1 for k in killed_at if k[2])
    ends = {r: json.loads(s3.get_object(Bucket=bucket, Key=r + "manifest-summary.json")["Body"].read())["endTime"]
            for r in complete}
    assert len(complete) == 1 + finished_before_kill, (ends, killed_at)
    print("kill points (seed, phase, finished before kill, objects written):", killed_at)


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
