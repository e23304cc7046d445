"""A reader of native exports that we did not write reads ours (issue 14): moto's ImportTable, pointed
at our export's data/ folder as a user points DynamoDB's ImportTable at a native export's, loads
every item, and the imported table equals the source item for item. (moto's ImportTable reads its
own S3, the local stack's moto server, so it runs on that server's DynamoDB API, not dynalite. Its
JSON parser, py_partiql_parser, silently skips lines holding an empty list or map, {"L":[]} or
{"M":{}}, which DynamoDB JSON allows: the sample items' `history` attribute, which has them, is left
out here. That is moto's limit, not our format's: the other e2e tests export those items.)"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from helpers import table_items, unique_name
from launcher.core.codec import items_equal
from launcher.dev.sample_data import create_lab_table, lab_items, load_items

pytestmark = pytest.mark.e2e
DDB_S3 = str(Path(sys.executable).parent / "ddb-s3")


def test_moto_import_table_reads_our_export(local_stack):
    ddb = boto3.client("dynamodb")
    table, bucket = unique_name("imp"), unique_name("imp").lower()
    create_lab_table(ddb, table)
    load_items(ddb, table, ({k: v for k, v in item.items() if k != "history"} for item in lab_items(150)))
    items = table_items(ddb, table)
    boto3.client("s3").create_bucket(Bucket=bucket)
    proc = subprocess.run(
        [DDB_S3, "export", "--table", table, "--to", f"s3://{bucket}/x", "--json"], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    root = json.loads(proc.stdout)["exportUri"].split(bucket + "/", 1)[1]

    moto_ddb = boto3.client("dynamodb", endpoint_url=local_stack.s3_endpoint)  # moto's DynamoDB, same server as S3
    schema = ddb.describe_table(TableName=table)["Table"]
    imported = moto_ddb.import_table(
        S3BucketSource={"S3Bucket": bucket, "S3KeyPrefix": root + "data/"},
        InputFormat="DYNAMODB_JSON",
        InputCompressionType="GZIP",
        TableCreationParameters={
            "TableName": table,
            "AttributeDefinitions": schema["AttributeDefinitions"],
            "KeySchema": schema["KeySchema"],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )["ImportTableDescription"]
    deadline = time.monotonic() + 60
    while imported["ImportStatus"] == "IN_PROGRESS" and time.monotonic() < deadline:
        time.sleep(0.5)
        imported = moto_ddb.describe_import(ImportArn=imported["ImportArn"])["ImportTableDescription"]
    assert imported["ImportStatus"] == "COMPLETED", imported
    assert imported["ImportedItemCount"] == len(items) and imported["ErrorCount"] == 0, imported
    back = table_items(moto_ddb, table)
    assert back.keys() == items.keys()
    assert all(items_equal(back[k], items[k]) for k in items)
