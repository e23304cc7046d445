"""Property-based round trips (hypothesis): the codec over generated items, and one real export ->
restore of a table of generated items (the connector reader through the JVM converter, then
`restore` into a new table), compared item for item, type for type.

Items cover every type, nesting to 32 levels, numbers with 38 significant digits and at 1E-130 and
9.99..E+125, binary everywhere (sets, lists, maps), empty strings/lists/maps, unicode beyond the BMP
(surrogate pairs in UTF-16: the JVM side), NUL, and items near the 400 KB limit."""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import boto3
import botocore.session
import pytest
from botocore.serialize import create_serializer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from helpers import unique_name
from launcher.aws.json_body import BODY, json_body
from launcher.core.codec import (
    CodecError,
    _check_number_text,
    check_number,
    from_python,
    item_key,
    item_line,
    items_equal,
    json_to_wire,
    parse_item_line,
    to_python,
    wire_to_json,
)

BOTOCORE_JSON = create_serializer("json", include_validation=True)
PUT_ITEM = botocore.session.get_session().get_service_model("dynamodb").operation_model("PutItem")

DDB_S3 = str(Path(sys.executable).parent / "ddb-s3")
EDGE_NUMBERS = [
    "1E-130",
    "-1E-130",
    "9.9999999999999999999999999999999999999E+125",
    "-9.99E+125",
    "0",
    "99999999999999999999999999999999999999",
    "0.00000000000000000000000000000000000001",
    "1.0000000000000000000000000000000000001E-130",
    "12345678901234567890123456789012345678E+88",
]


@st.composite
def numbers(draw) -> str:
    if draw(st.booleans()):
        return draw(st.sampled_from(EDGE_NUMBERS))
    mantissa = draw(st.integers(min_value=-(10**38 - 1), max_value=10**38 - 1))
    if mantissa == 0:
        return "0"
    digits = len(str(abs(mantissa)))
    exp = draw(st.integers(min_value=-130 - (digits - 1) + (digits - 1), max_value=125 - (digits - 1)))
    return str(Decimal(f"{mantissa}E{exp}"))


text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)  # NUL, astral planes, RTL...
names = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=10)
binary = st.binary(max_size=24)
scalars = st.one_of(
    text.map(lambda s: {"S": s}),
    numbers().map(lambda n: {"N": n}),
    binary.map(lambda b: {"B": b}),
    st.booleans().map(lambda b: {"BOOL": b}),
    st.just({"NULL": True}),
    st.lists(text, min_size=1, max_size=4, unique=True).map(lambda v: {"SS": v}),
    st.lists(numbers(), min_size=1, max_size=4, unique_by=Decimal).map(lambda v: {"NS": v}),
    st.lists(binary, min_size=1, max_size=4, unique=True).map(lambda v: {"BS": v}),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda v: {"L": v}), st.dictionaries(names, inner, max_size=4).map(lambda v: {"M": v})
    ),
    max_leaves=12,
)


@st.composite
def deep(draw) -> dict:
    """A value nested `depth` levels (M or L at each), up to DynamoDB's 32 with the item itself."""
    depth = draw(st.integers(min_value=1, max_value=31))
    v = draw(scalars)
    for _ in range(depth):
        v = {"M": {draw(names): v}} if draw(st.booleans()) else {"L": [v]}
    return v


items = st.dictionaries(names.filter(lambda n: n != "pk"), st.one_of(values, deep()), max_size=6)


def with_key(item: dict, pk: str) -> dict:
    return {**item, "pk": {"S": pk}}


# --------------------------------------------------------------------------- codec (unit)


@pytest.mark.unit
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items)
def test_codec_round_trips(item):
    j = wire_to_json(item)
    assert json_to_wire(j) == item  # exact, binary back to the same bytes
    line = item_line(j)
    assert "\n" not in line
    back = parse_item_line(line.encode("utf-8") + b"\n")
    assert back == j and items_equal(back, j)
    # restore sends the checked line's JSON as the request body (launcher/json_body.py): it must be
    # what botocore would have serialised (and validated) from the wire item
    sent = json.loads(json_body({"TableName": "T", "Item": back})[BODY])
    assert sent == json.loads(BOTOCORE_JSON.serialize_to_request({"TableName": "T", "Item": item}, PUT_ITEM)["body"])
    assert items_equal(from_python(to_python(j)), j)  # through Python values (Decimal, bytes, sets)


@pytest.mark.unit
@settings(max_examples=200, deadline=None)
@given(numbers())
def test_numbers_keep_their_exact_value(n):
    j = {"n": {"N": n}}
    py = to_python(j)["n"]
    assert isinstance(py, Decimal) and py == Decimal(n)
    assert Decimal(from_python({"n": py})["n"]["N"]) == Decimal(n)


def _verdict(check, text):
    try:
        check(text, ())
        return "ok"
    except CodecError:
        return "rejected"


number_like = st.one_of(
    numbers(), st.text(st.sampled_from("0123456789-+.eE _٣"), max_size=45), st.from_regex(r"-?[0-9]{1,40}(\.[0-9]{1,40})?", fullmatch=True)
)


@pytest.mark.unit
@settings(max_examples=1000, deadline=None)
@given(number_like)
def test_the_fast_number_check_agrees_with_the_full_one(text):
    """The walker's shortcut for plain decimals must accept exactly what check_number accepts."""
    assert _verdict(_check_number_text, text) == _verdict(check_number, text)


# --------------------------------------------------------------------------- export -> restore (e2e)


def generated_items(n: int) -> list[dict]:
    out: list[dict] = []

    @settings(max_examples=1, deadline=None, database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(st.lists(items, min_size=n, max_size=n))
    def draw(xs):
        out[:] = xs

    draw()
    rng = random.Random(42)
    table = [with_key(it, f"gen-{i:04d}") for i, it in enumerate(out)]
    # near 400 KB (the limit counts names and values): binary, text and a mix in a list
    table.append(with_key({"blob": {"B": rng.randbytes(395_000)}}, "big-binary"))
    table.append(with_key({"text": {"S": "ж😀\x00" * 48_000}}, "big-text"))
    table.append(with_key({"mix": {"L": [{"B": rng.randbytes(1000)} for _ in range(380)]}}, "big-list"))
    return table


@pytest.mark.e2e
def test_generated_table_export_then_restore_is_exact(local_stack, tmp_path):
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    table, bucket = unique_name("prop"), unique_name("prop").lower()
    ddb.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1})
    s3.create_bucket(Bucket=bucket)
    source = generated_items(250)
    for it in source:
        ddb.put_item(TableName=table, Item=it)
    want = {item_key(wire_to_json(i), ["pk"]): wire_to_json(i) for i in source}

    proc = subprocess.run(
        [
            DDB_S3,
            "export",
            "--table",
            table,
            "--to",
            f"s3://{bucket}/p",
            "--reader",
            "connector",
            "--segments",
            "3",
            "--json",
            "--work-dir",
            str(tmp_path / "runs"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["itemCount"] == len(source)
    root = result["exportUri"].split(bucket + "/", 1)[1]
    exported = {}
    for entry in s3.get_object(Bucket=bucket, Key=root + "manifest-files.json")["Body"].read().decode().splitlines():
        body = s3.get_object(Bucket=bucket, Key=json.loads(entry)["dataFileS3Key"])["Body"].read()
        for line in gzip.decompress(body).split(b"\n"):
            if line:
                j = parse_item_line(line)
                exported[item_key(j, ["pk"])] = j
    assert exported.keys() == want.keys()
    bad = [k for k in want if not items_equal(want[k], exported[k])]
    assert not bad, f"{len(bad)} exported items differ, e.g. {want[bad[0]]} vs {exported[bad[0]]}"

    target = unique_name("prop-restored")
    r = subprocess.run(
        [DDB_S3, "restore", result["exportUri"], "--table", target, "--create-table", "--json"], capture_output=True, text=True, timeout=600
    )
    assert r.returncode == 0, r.stderr[-3000:]
    back = {}
    for page in ddb.get_paginator("scan").paginate(TableName=target):
        for it in page["Items"]:
            j = wire_to_json(it)
            back[item_key(j, ["pk"])] = j
    assert back.keys() == want.keys()
    bad = [k for k in want if not items_equal(want[k], back[k])]
    assert not bad, f"{len(bad)} restored items differ"
    for t in (table, target):
        ddb.delete_table(TableName=t)
