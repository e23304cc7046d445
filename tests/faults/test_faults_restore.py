"""Restore through the fault proxy: DynamoDB throttling bursts, 5xx and resets on the writes, S3
faults on the reads. The restored table equals the export, item for item; the run does not fail."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest

from faults import Rule
from faults.fixtures import faulty  # noqa: F401  (fixture)
from helpers import unique_name
from launcher.aws.session import Aws
from launcher.backup.restore import RestoreOptions, restore
from launcher.core import layout
from launcher.core.codec import item_key, item_line, items_equal, wire_to_json
from launcher.core.s3args import S3WriteSettings
from launcher.dev.sample_data import lab_items
from launcher.job import commit, s3io

pytestmark = pytest.mark.integration
KEYS = ["patient_id", "sample_id"]
SCHEMA = {
    "KeySchema": [{"AttributeName": "patient_id", "KeyType": "HASH"}, {"AttributeName": "sample_id", "KeyType": "RANGE"}],
    "AttributeDefinitions": [{"AttributeName": "patient_id", "AttributeType": "S"}, {"AttributeName": "sample_id", "AttributeType": "S"}],
    "BillingMode": "PAY_PER_REQUEST",
    "ProvisionedThroughput": {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0},
    "GlobalSecondaryIndexes": [],
    "LocalSecondaryIndexes": [],
}


def make_export(s3, bucket: str, items: list[dict], table: str) -> str:
    """An export written by the job's own modules (no Spark needed)."""
    root = layout.export_root("src", layout.new_export_id(datetime.now(UTC)))
    commit.write_started(s3, bucket, root, S3WriteSettings())
    files = list(s3io.write_data_files(s3, bucket, root + "data/", 0, (item_line(wire_to_json(i)) for i in items), 40, S3WriteSettings()))
    commit.commit(
        s3,
        bucket,
        root,
        files,
        {
            "exportId": root.split("/")[-2],
            "tableName": table,
            "tableArn": f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}",
            "tableSchema": SCHEMA,
        },
        S3WriteSettings(),
    )
    return f"s3://{bucket}/{root}"


@pytest.mark.parametrize("overwrite", [False, True], ids=["put-if-absent", "overwrite"])
def test_throttled_restore_is_exact(local_stack, s3, bucket, faulty, overwrite):
    items = list(lab_items(150, seed=21))
    uri = make_export(boto3.client("s3", endpoint_url=local_stack.s3_endpoint), bucket, items, "Source")
    target = unique_name("restored")
    faulty.plan.add(
        Rule("dynamodb", "ProvisionedThroughputExceededException", ops={"PutItem", "BatchWriteItem"}, every=4, times=6),
        Rule("dynamodb", "ThrottlingException", ops={"PutItem", "BatchWriteItem"}, after=2, every=7, times=2),
        Rule("dynamodb", "RequestLimitExceeded", ops={"PutItem", "BatchWriteItem"}, after=5, times=1),
        Rule("dynamodb", "InternalServerError", ops={"PutItem", "BatchWriteItem"}, after=9, times=1),
        Rule("dynamodb", "drop", ops={"PutItem", "BatchWriteItem"}, after=11, times=1),
        Rule("s3", "SlowDown", ops={"GetObject"}, every=2, times=2),
        Rule("s3", "drop", ops={"GetObject"}, after=3, times=1),
    )
    result = restore(uri, RestoreOptions(table=target, create_table=True, overwrite=overwrite, concurrency=4), Aws())
    assert result.counts.written == 150
    # put-if-absent makes one PutItem per item (all 11 faults fire); overwrite ~8 BatchWriteItems (5 fire)
    assert faulty.plan.total(service="dynamodb") == (5 if overwrite else 11), faulty.plan.describe()
    assert faulty.plan.total("ThrottlingException") >= 1 and faulty.plan.total("RequestLimitExceeded") == 1
    # every injected DynamoDB fault cost exactly one retry, and the run says so
    assert result.counts.retries == faulty.plan.total(service="dynamodb")
    assert f"{result.counts.retries} requests retried" in result.line()
    assert faulty.plan.total(service="s3") >= 2, faulty.plan.describe()
    ddb = boto3.client("dynamodb", endpoint_url=local_stack.dynamodb_endpoint)
    back = {}
    for page in ddb.get_paginator("scan").paginate(TableName=target):
        for it in page["Items"]:
            j = wire_to_json(it)
            back[item_key(j, KEYS)] = j
    want = {item_key(wire_to_json(i), KEYS): wire_to_json(i) for i in items}
    assert back.keys() == want.keys()
    assert all(items_equal(want[k], back[k]) for k in want)
    ddb.delete_table(TableName=target)
