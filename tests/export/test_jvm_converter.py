"""The JVM side of the `connector` reader, in-process on pytest-spark's SparkContext (configured
with the connector jars in conftest.py): DynamoDBInputFormat 5.0.0 reads dynalite in one split per
segment, and dev.ddbs3.ItemToDynamoDbJson turns every SDK v2 item into exact DynamoDB JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from launcher.core.codec import items_equal, wire_to_json
from launcher.core.table import table_info_from_description
from launcher.export.plan import connector_conf
from launcher.export.run import jars

N_ITEMS = 200
SEGMENTS = 4


def _make_item(i: int) -> dict:
    """Every DynamoDB type, with awkward strings, exact numbers and nesting."""
    nested: dict = {"leaf": {"S": f"deep-{i}"}}
    for depth in range(25):
        nested = {"d": {"M": nested}, "l": {"L": [{"N": str(depth)}]}}
    tricky = [
        "",
        "ascii",
        "caf\u00e9",
        "\U0001f600 emoji",
        "nul\u0000byte",
        'quote" \\ back',
        "tab\tnl\ncr\r",
        "\u2028\u2029",
        "</script>",
        "\x01\x1f\x7f",
    ]
    item = {
        "pk": {"S": f"item-{i:04d}"},
        "s": {"S": tricky[i % len(tricky)]},
        "empty_s": {"S": ""},
        "n": {"N": ["1.50", "-0.000123", "12345678901234567890123456789012345678", "1E+5", "0"][i % 5]},
        "b": {"B": bytes([i % 256, 0, 255, 10]) * (i % 3 + 1)},
        "empty_b": {"B": b""} if i % 7 == 0 else {"B": b"\x00"},
        "ss": {"SS": [f"a{i}", "b", "\U0001f680"]},
        "ns": {"NS": ["1", "2.5", str(i + 100)]},
        "bs": {"BS": [b"\x00\x01", b"\xff", bytes([i % 256]) + b"x"]},
        "m": {"M": {"k": {"S": "v"}, "inner": {"M": {}}, "n": {"N": str(i)}}},
        "empty_m": {"M": {}},
        "l": {"L": [{"S": "x"}, {"N": "7"}, {"BOOL": False}, {"NULL": True}, {"L": []}]},
        "empty_l": {"L": []},
        "t": {"BOOL": i % 2 == 0},
        "z": {"NULL": True},
        "deep": {"M": nested},
        "uni\u00e9\U0001f600 key": {"S": "key with unicode"},
    }
    if i % 10 == 0:
        item["big"] = {"S": "x" * 50_000}
    return item


@pytest.mark.e2e
def test_connector_reads_every_item_through_converter(local_stack, ddb, spark_context) -> None:
    # local_stack first: pytest-spark's session SparkContext starts its JVM with the environment of
    # that moment, and the connector's credentials (our provider: the SDK default chain) come from
    # the stack's AWS_* variables. Asked for after spark_context, a lone run of this test retried
    # "Unable to load credentials" for the connector's 10 minutes and failed.
    table = "jvm-conv-" + __import__("uuid").uuid4().hex[:8]
    ddb.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1})
    try:
        for i in range(N_ITEMS):
            ddb.put_item(TableName=table, Item=_make_item(i))
        expected = {}
        for page in ddb.get_paginator("scan").paginate(TableName=table):
            for it in page["Items"]:
                expected[it["pk"]["S"]] = wire_to_json(it)
        info = table_info_from_description(ddb.describe_table(TableName=table)["Table"])
        conf = connector_conf(info, "us-east-1", ddb.meta.endpoint_url, 40000, SEGMENTS, SEGMENTS)
        rdd = spark_context.hadoopRDD(
            jars.INPUT_FORMAT_CLASS, jars.KEY_CLASS, jars.VALUE_CLASS, valueConverter=jars.CONVERTER_CLASS, conf=conf
        )
        partitions = rdd.getNumPartitions()
        lines = rdd.values().collect()
    finally:
        ddb.delete_table(TableName=table)

    assert partitions == SEGMENTS
    assert len(lines) == N_ITEMS  # no item twice across segments
    got = {}
    for line in lines:
        item = json.loads(line)
        got[item["pk"]["S"]] = item
    assert got.keys() == expected.keys()
    for pk, item in expected.items():
        assert items_equal(got[pk], item), pk
        assert got[pk]["n"] == item["n"]  # the number string exactly as DynamoDB returned it


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "major"),
    [
        ('openjdk version "17.0.9" 2023-10-17', 17),
        ('java version "1.8.0_392"', 8),
        ('openjdk version "21" 2023-09-19', 21),
        ('openjdk version "11.0.21" 2023-10-17 LTS', 11),
        ("garbage", None),
    ],
)
def test_parse_java_major(text: str, major: int | None) -> None:
    assert jars.parse_java_major(text) == major


@pytest.mark.unit
def test_connector_classpath_names_make_jars(tmp_path: Path) -> None:
    with pytest.raises(jars.JvmSetupError, match="make jars"):
        jars.connector_classpath(tmp_path / "missing")
    with pytest.raises(jars.JvmSetupError, match="make jars"):
        jars.connector_classpath(tmp_path)
