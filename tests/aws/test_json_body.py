"""Calls with a prebuilt JSON body (launcher/json_body.py) against dynalite: what is written is
exactly the body's items, every DynamoDB type included, and errors still parse as botocore's."""

from __future__ import annotations

import random
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from helpers import unique_name
from launcher.aws.json_body import BODY, json_body
from launcher.backup.restore import writer_client
from launcher.core.codec import items_equal, wire_to_json
from launcher.dev.sample_data import create_lab_table, lab_item

KEYS = ("patient_id", "sample_id")


def test_prebuilt_bodies_write_every_type_and_errors_still_parse(ddb: Any, local_stack: Any) -> None:
    table = unique_name("jsonbody")
    create_lab_table(ddb, table)
    client = writer_client(boto3.Session(), 2)
    rng = random.Random(5)
    items = [wire_to_json(lab_item(i, rng)) for i in range(30)]  # binary, sets, nested maps and lists
    try:
        client.batch_write_item(**json_body({"RequestItems": {table: [{"PutRequest": {"Item": it}} for it in items[:25]]}}))
        resp = client.put_item(**json_body({"TableName": table, "Item": items[25], "ReturnConsumedCapacity": "TOTAL"}))
        assert resp["ConsumedCapacity"]["TableName"] == table  # the response is parsed as usual
        stored = boto3.client("dynamodb").scan(TableName=table, ConsistentRead=True)["Items"]
        stored = sorted(map(wire_to_json, stored), key=lambda i: i["sample_id"]["S"])
        assert len(stored) == 26 and all(items_equal(a, b) for a, b in zip(stored, items, strict=False))  # DynamoDB's number and set forms
        key = {k: items[0][k] for k in KEYS}
        got = client.get_item(**json_body({"TableName": table, "Key": key, "ConsistentRead": True}))
        assert items_equal(wire_to_json(got["Item"]), items[0])
        with pytest.raises(ClientError) as err:  # the condition is in the body, and its failure comes back parsed
            client.put_item(
                **json_body(
                    {
                        "TableName": table,
                        "Item": items[0],
                        "ConditionExpression": "attribute_not_exists(#h)",
                        "ExpressionAttributeNames": {"#h": "patient_id"},
                    }
                )
            )
        assert err.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    finally:
        ddb.delete_table(TableName=table)


@pytest.mark.unit
def test_json_body_keeps_only_the_table_names_as_parameters() -> None:
    kwargs = json_body({"RequestItems": {"A": [{"PutRequest": {"Item": {"k": {"S": "é"}}}}]}, "ReturnConsumedCapacity": "TOTAL"})
    assert kwargs["RequestItems"] == {"A": []}  # what botocore's endpoint rules read
    assert kwargs[BODY] == b'{"RequestItems":{"A":[{"PutRequest":{"Item":{"k":{"S":"\\u00e9"}}}}]},"ReturnConsumedCapacity":"TOTAL"}'
    assert json_body({"TableName": "T", "Key": {}}).keys() == {BODY, "TableName"}
