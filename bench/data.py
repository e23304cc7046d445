"""The benchmark tables: lab items of about 1 KB (launcher.dev.sample_data with padding).

`plain=True` drops the set and binary attributes: Airflow's DynamoDBToS3Operator cannot serialise
them (its JSONEncoder knows Decimal only), so the comparison table holds neither. The full items
(every DynamoDB type) go into a small table that shows that failure."""
from __future__ import annotations

import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config

from launcher.dev.sample_data import lab_item, load_items

PAD = 700  # lab_item + 700 bytes of padding is about 1 KB as DynamoDB counts it
SET_OR_BINARY = ("instrument_ids", "flags", "raw_trace", "attachments", "history")


def bench_item(i: int, rng: random.Random, plain: bool) -> dict[str, Any]:
    item = lab_item(i, rng, PAD)
    if plain:
        for name in SET_OR_BINARY:
            item.pop(name)
        item["history"] = {"L": [{"M": {"at": {"N": str(1_700_000_000 + i)}, "by": {"S": "tech-" + str(i % 9)}}}]}
    return item


def items(start: int, stop: int, plain: bool) -> Iterator[dict[str, Any]]:
    rng = random.Random(start)
    for i in range(start, stop):
        yield bench_item(i, rng, plain)


def client(service: str = "dynamodb") -> Any:
    return boto3.client(service, config=Config(retries={"mode": "standard", "max_attempts": 10}, max_pool_connections=32))


def create_table(ddb: Any, name: str, read_units: int | None = None, write_units: int | None = None) -> None:
    """On-demand unless read_units/write_units are given (then PROVISIONED with those)."""
    args: dict[str, Any] = {
        "TableName": name,
        "KeySchema": [{"AttributeName": "patient_id", "KeyType": "HASH"}, {"AttributeName": "sample_id", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": "patient_id", "AttributeType": "S"},
                              {"AttributeName": "sample_id", "AttributeType": "S"}],
    }
    if read_units or write_units:
        args["BillingMode"] = "PROVISIONED"
        args["ProvisionedThroughput"] = {"ReadCapacityUnits": read_units or 1000, "WriteCapacityUnits": write_units or 1000}
    else:
        args["BillingMode"] = "PAY_PER_REQUEST"
    ddb.create_table(**args)
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})


def fill(name: str, n: int, plain: bool, threads: int = 4) -> int:
    """Load n items with BatchWriteItem from a few threads (dynalite is one node process)."""
    chunk = max(1, -(-n // threads))
    ranges = [(s, min(n, s + chunk)) for s in range(0, n, chunk)]
    with ThreadPoolExecutor(len(ranges) or 1) as pool:
        return sum(pool.map(lambda r: load_items(client(), name, items(r[0], r[1], plain)), ranges))


def make_table(name: str, n: int, plain: bool = True, read_units: int | None = None,
               write_units: int | None = None) -> int:
    create_table(client(), name, read_units, write_units)
    return fill(name, n, plain)
