"""`make demo`: the whole job on the local stack. Starts dynalite, moto's S3 and the local EMR,
creates a LabResults table of a few thousand mixed-type items, runs `ddb-s3 export` with the local
runner and then on a transient cluster of the local EMR (created, its step run, terminated), and
for each export downloads it into ./backups/, verifies it and compares it with the table item for item."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3

from launcher.backup.download import DownloadResult, download
from launcher.core.codec import item_key, items_equal, parse_item_line, wire_to_json
from launcher.dev.localstack import LocalStack
from launcher.dev.sample_data import create_lab_table, lab_items, load_items

TABLE = "LabResults"
BUCKET = "lab-backups"
ITEMS = 3000
KEYS = ["patient_id", "sample_id"]


def ddb_s3(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [str(Path(sys.executable).parent / "ddb-s3"), *args]
    print("$ ddb-s3 " + " ".join(args), flush=True)
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)


def export(*args: str) -> tuple[dict[str, Any], float]:
    t0 = time.monotonic()
    doc = json.loads(ddb_s3("export", "--table", TABLE, "--to", f"s3://{BUCKET}/ddb", "--json", *args).stdout)
    print(json.dumps(doc), flush=True)  # what --json printed on stdout (the lines above are stderr)
    return doc, time.monotonic() - t0


def backup_equals(source: dict[tuple, dict], doc: dict[str, Any]) -> tuple[bool, Path, DownloadResult]:
    """Download the export, verify it with the CLI, compare it with the table item for item."""
    dest = Path("backups") / doc["exportId"]
    result = download(doc["exportUri"], dest, progress=lambda m: None)
    ddb_s3("verify", str(dest))
    backup = {}
    for path in sorted((dest / "data").glob("*.json.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                j = parse_item_line(line)
                backup[item_key(j, KEYS)] = j
    same = source.keys() == backup.keys() and all(items_equal(source[k], backup[k]) for k in source)
    return same, dest, result


def main() -> int:
    with LocalStack.start(emr=True) as stack:
        os.environ.update(stack.env())
        ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
        create_lab_table(ddb, TABLE)
        load_items(ddb, TABLE, lab_items(ITEMS))
        s3.create_bucket(Bucket=BUCKET)
        print(
            f"local stack: dynalite {stack.dynamodb_endpoint}, S3 {stack.s3_endpoint}, "
            f"local EMR {stack.emr_endpoint}; table {TABLE} has {ITEMS} items"
        )
        source = {}
        for page in ddb.get_paginator("scan").paginate(TableName=TABLE):
            for item in page["Items"]:
                j = wire_to_json(item)
                source[item_key(j, KEYS)] = j

        local, local_s = export("--engine", "spark", "--runner", "local")
        local_ok, local_dest, local_result = backup_equals(source, local)
        # The same export as an EMR step: a transient cluster on the local EMR, polled every second.
        emr, emr_s = export(
            "--engine", "spark", "--runner", "emr", "--cluster", "transient", "--log-uri", f"s3://{BUCKET}/emr-logs/", "--poll-seconds", "1"
        )
        emr_ok, emr_dest, _ = backup_equals(source, emr)

        print(f"\nexported {local['itemCount']} items in {local['dataFiles']} files ({local_result.bytes:,} bytes gzip) in {local_s:.1f}s")
        print(f"export:  {local['exportUri']}")
        print(f"backup:  {local_dest.resolve()}")
        print(f"check:   {'backup equals the table, item for item' if local_ok else 'MISMATCH between backup and table'}")
        print(f"\non EMR:  cluster {emr['clusterId']} exported {emr['itemCount']} items in {emr_s:.1f}s, then ended")
        print(f"export:  {emr['exportUri']}")
        print(f"backup:  {emr_dest.resolve()}")
        print(f"check:   {'backup equals the table, item for item' if emr_ok else 'MISMATCH between backup and table'}")
        return 0 if local_ok and emr_ok else 1


if __name__ == "__main__":
    sys.exit(main())
