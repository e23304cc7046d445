"""The segments reader's pieces: raw Scan pages (export JSON without botocore's parse) against
dynalite, and split_items on page texts. (The read budget it spends: tests/core/test_budget.py.)"""

from __future__ import annotations

import json
import random
from typing import Any

import boto3
import pytest

from helpers import unique_name
from launcher.core.codec import item_line, wire_to_json
from launcher.dev.sample_data import create_lab_table, lab_item, load_items
from launcher.job.scan import RAW_ITEMS, keep_raw_items, scan_segments, split_items


def test_raw_scan_pages_are_the_export_json_of_the_parsed_items(ddb: Any, local_stack: Any) -> None:
    table = unique_name("scanraw")
    create_lab_table(ddb, table)
    rng = random.Random(3)
    load_items(ddb, table, (lab_item(i, rng) for i in range(60)))  # every type, binary and sets included
    try:
        parsed = boto3.client("dynamodb").scan(TableName=table, Limit=25)
        raw_client = boto3.client("dynamodb")
        keep_raw_items(raw_client)
        keep_raw_items(raw_client)  # registering twice is harmless (one handler)
        raw = raw_client.scan(TableName=table, Limit=25)
        assert len(raw[RAW_ITEMS]) == 25 and "Items" not in raw
        assert all(isinstance(t, str) and "\n" not in t for t in raw[RAW_ITEMS])
        assert [json.loads(t) for t in raw[RAW_ITEMS]] == [wire_to_json(i) for i in parsed["Items"]]
        assert raw["LastEvaluatedKey"] == parsed["LastEvaluatedKey"]  # still parsed: it is sent back
        # the whole reader over 3 segments, paged: every item once, as the parsed Scan gives it
        lines = list(scan_segments(raw_client, table, [0, 1, 2], 3, consistent=True, units_per_second=1000, average_item_size=20_000))
        everything = boto3.client("dynamodb").scan(TableName=table, ConsistentRead=True)["Items"]

        def canonical(line: str) -> str:  # the same item, encoded the same way
            return item_line(json.loads(line)["Item"])

        assert sorted(map(canonical, lines)) == sorted(item_line(wire_to_json(i)) for i in everything)
        assert len(lines) == 60
    finally:
        ddb.delete_table(TableName=table)


@pytest.mark.unit
def test_split_items_gives_each_items_text_and_parses_the_rest() -> None:
    items = [{"k": {"S": 'a]},{"x'}}, {"k": {"S": "é😀"}, "m": {"M": {"l": {"L": [{"N": "1"}, {"BOOL": True}]}}}}]
    for body in (
        json.dumps({"Count": 2, "Items": items, "LastEvaluatedKey": {"k": {"S": "z"}}}),  # spaced, ASCII escapes
        json.dumps({"Items": items, "Count": 2}, separators=(",", ":"), ensure_ascii=False),  # compact, raw UTF-8
        '{"Items":[],"Count":0}',
        '{"Count":0}',
    ):
        texts, rest = split_items(body)
        doc = json.loads(body)
        assert [json.loads(t) for t in texts] == doc.pop("Items", [])
        assert rest == doc
    # a line break between tokens is legal JSON but would split an export line: re-encoded compactly
    texts, _ = split_items('{"Items":[{"k":\n{"S":"a\\nb"}}\r\n]}')
    assert texts == ['{"k":{"S":"a\\nb"}}']
    for bad in ("[1]", '{"Items" [1]}', '{"Items":[{"k":1}'):
        with pytest.raises((ValueError, IndexError)):
            split_items(bad)
