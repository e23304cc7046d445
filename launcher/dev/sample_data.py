"""A sample table modelled on a diagnostic lab's results, with every DynamoDB type, for the demo,
the tests and the benchmarks. Items are in the low-level (wire) form boto3's client uses."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

TESTS = [
    ("GLU", "mmol/L", 3.9, 5.6),
    ("HGB", "g/dL", 12.0, 17.5),
    ("K", "mmol/L", 3.5, 5.1),
    ("CRP", "mg/L", 0.0, 5.0),
    ("TSH", "mIU/L", 0.4, 4.0),
    ("NA", "mmol/L", 135, 145),
]


def lab_item(i: int, rng: random.Random, pad: int = 0) -> dict[str, Any]:
    code, unit, low, high = TESTS[i % len(TESTS)]
    value = round(rng.uniform(low * 0.7, high * 1.3), 2)
    item: dict[str, Any] = {
        "patient_id": {"S": f"P{i // 4:07d}"},
        "sample_id": {"S": f"S{i:09d}"},
        "test_code": {"S": code},
        "value": {"N": f"{value:.2f}"},
        "unit": {"S": unit},
        "reference_range": {"M": {"low": {"N": str(low)}, "high": {"N": str(high)}}},
        "verified": {"BOOL": i % 3 != 0},
        "readings": {"L": [{"N": f"{value + d / 100:.3f}"} for d in range(3)]},
        "instrument_ids": {"NS": [str(100 + i % 7), str(200 + i % 5)]},
        "flags": {"SS": ["H" if value > high else "N", f"batch-{i % 11}"]},
        "raw_trace": {"B": bytes(rng.getrandbits(8) for _ in range(16))},
        "attachments": {"BS": [b"\x00\x01" + i.to_bytes(4, "big"), b"\xff" * 3]},
        "comment": {"NULL": True} if i % 5 == 0 else {"S": "" if i % 5 == 1 else f"note {i} — µg/ml ✓ 😀"},
        "history": {
            "L": [
                {"M": {"at": {"N": str(1_700_000_000 + i)}, "by": {"S": "tech-" + str(i % 9)}, "blob": {"B": b"\x00" + bytes([i % 256])}}},
                {"L": []},
                {"M": {}},
            ]
        },
    }
    if pad:
        item["padding"] = {"S": "x" * pad}
    return item


def lab_items(n: int, seed: int = 7, pad: int = 0) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for i in range(n):
        yield lab_item(i, rng, pad)


def create_lab_table(ddb: Any, name: str, billing: str = "PAY_PER_REQUEST", read_units: int = 1000) -> None:
    args: dict[str, Any] = {
        "TableName": name,
        "KeySchema": [{"AttributeName": "patient_id", "KeyType": "HASH"}, {"AttributeName": "sample_id", "KeyType": "RANGE"}],
        "AttributeDefinitions": [
            {"AttributeName": "patient_id", "AttributeType": "S"},
            {"AttributeName": "sample_id", "AttributeType": "S"},
        ],
        "BillingMode": billing,
    }
    if billing == "PROVISIONED":
        args["ProvisionedThroughput"] = {"ReadCapacityUnits": read_units, "WriteCapacityUnits": 1000}
    ddb.create_table(**args)
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})


def load_items(ddb: Any, name: str, items: Iterator[dict[str, Any]]) -> int:
    """BatchWriteItem in 25s, retrying UnprocessedItems. Returns the number written."""
    count = 0
    batch: list[dict] = []

    def flush(batch: list[dict]) -> None:
        requests = {name: [{"PutRequest": {"Item": it}} for it in batch]}
        delay = 0.05
        while requests:
            resp = ddb.batch_write_item(RequestItems=requests)
            requests = resp.get("UnprocessedItems") or {}
            if requests:
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    for item in items:
        batch.append(item)
        if len(batch) == 25:
            flush(batch)
            count += len(batch)
            batch = []
    if batch:
        flush(batch)
        count += len(batch)
    return count


README_TABLE, README_BUCKET = "LabResults", "lab-backups"


def seed_readme_examples(env: dict[str, str], items: int) -> tuple[str, str]:
    """The table and bucket the README's commands name, on the stack whose variables are `env`:
    LabResults with `items` lab items (made if missing, filled either way) and the bucket lab-backups."""
    import boto3

    session = boto3.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )
    ddb = session.client("dynamodb", endpoint_url=env["AWS_ENDPOINT_URL_DYNAMODB"])
    if README_TABLE not in ddb.list_tables()["TableNames"]:
        create_lab_table(ddb, README_TABLE)  # waits until it exists
    load_items(ddb, README_TABLE, lab_items(items))
    s3 = session.client("s3", endpoint_url=env["AWS_ENDPOINT_URL_S3"])
    if README_BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=README_BUCKET)
    return README_TABLE, README_BUCKET
