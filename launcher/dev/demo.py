"""`make demo`: the whole job on the local stack. Starts dynalite and moto's S3, creates a
LabResults table of a few thousand mixed-type items, runs `ddb-s3 export` with the local runner,
downloads the export into ./backups/, verifies it and compares it with the table item for item."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import boto3

from launcher.backup.download import download
from launcher.core.codec import item_key, items_equal, parse_item_line, wire_to_json
from launcher.dev.localstack import LocalStack
from launcher.dev.sample_data import create_lab_table, lab_items, load_items

TABLE = "LabResults"
BUCKET = "lab-backups"
ITEMS = 3000


def ddb_s3(*args: str) -> subprocess.CompletedProcess:
    cmd = [str(Path(sys.executable).parent / "ddb-s3"), *args]
    print("$ ddb-s3 " + " ".join(args), flush=True)
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)


def main() -> int:
    with LocalStack.start() as stack:
        os.environ.update(stack.env())
        ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
        create_lab_table(ddb, TABLE)
        load_items(ddb, TABLE, lab_items(ITEMS))
        s3.create_bucket(Bucket=BUCKET)
        print(f"local stack: dynalite {stack.dynamodb_endpoint}, S3 {stack.s3_endpoint}; table {TABLE} has {ITEMS} items")

        t0 = time.monotonic()
        export = json.loads(
            ddb_s3("export", "--table", TABLE, "--to", f"s3://{BUCKET}/ddb", "--engine", "spark", "--runner", "local", "--json").stdout
        )
        seconds = time.monotonic() - t0
        dest = Path("backups") / export["exportId"]
        result = download(export["exportUri"], dest, progress=lambda m: None)
        ddb_s3("verify", str(dest))

        source = {}
        for page in ddb.get_paginator("scan").paginate(TableName=TABLE):
            for item in page["Items"]:
                j = wire_to_json(item)
                source[item_key(j, ["patient_id", "sample_id"])] = j
        backup = {}
        for path in sorted((dest / "data").glob("*.json.gz")):
            with gzip.open(path, "rt", encoding="utf-8") as f:
                for line in f:
                    j = parse_item_line(line)
                    backup[item_key(j, ["patient_id", "sample_id"])] = j
        same = source.keys() == backup.keys() and all(items_equal(source[k], backup[k]) for k in source)
        print(f"\nexported {export['itemCount']} items in {export['dataFiles']} files ({result.bytes:,} bytes gzip) in {seconds:.1f}s")
        print(f"export:  {export['exportUri']}")
        print(f"backup:  {dest.resolve()}")
        print(f"check:   {'backup equals the table, item for item' if same else 'MISMATCH between backup and table'}")
        return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
