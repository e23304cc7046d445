"""End to end: DynamoDBInputFormat (emr-dynamodb-connector 5.0.0) on local Spark, through our
JVM converter dev.ddbs3.ItemToDynamoDbJson, against a real local DynamoDB server (dynalite).

The endpoint comes from AWS_ENDPOINT_URL_DYNAMODB; when it is unset, the module starts
`npx --yes dynalite@3.2.2` itself on a free port (to be replaced by the shared local_stack fixture).
Spark runs in a child process so that its JVM gets exactly our spark.jars, whatever other tests in
this process did with a SparkContext.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import boto3
import pytest

from launcher import jars

N_ITEMS = 200
SEGMENTS = 4
DYNALITE = "dynalite@3.2.2"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dynalite exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"dynalite did not listen on {port} within {timeout}s")


@pytest.fixture(scope="module")
def aws_env() -> Iterator[None]:
    """Dummy credentials and region for boto3 here and for the Spark child (default chain)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", os.environ.get("AWS_ACCESS_KEY_ID", "test"))
        mp.setenv("AWS_SECRET_ACCESS_KEY", os.environ.get("AWS_SECRET_ACCESS_KEY", "test"))
        mp.setenv("AWS_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
        mp.setenv("AWS_REGION", os.environ.get("AWS_REGION", "us-east-1"))
        yield


@pytest.fixture(scope="module")
def dynamodb_endpoint(aws_env: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
    if url:
        yield url
        return
    if shutil.which("npx") is None:
        pytest.skip("AWS_ENDPOINT_URL_DYNAMODB unset and npx not found to start dynalite")
    port = _free_port()
    cwd = tmp_path_factory.mktemp("dynalite")
    log = open(cwd / "dynalite.log", "wb")
    proc = subprocess.Popen(
        ["npx", "--yes", DYNALITE, "--port", str(port)],
        cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        _wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def connector_jars() -> list[Path]:
    jars.check_java()
    try:
        return jars.connector_classpath()
    except jars.JvmSetupError:
        return jars.build_jars()


def _make_item(i: int) -> dict:
    """Every DynamoDB type, with awkward strings, exact numbers and nesting."""
    nested: dict = {"leaf": {"S": f"deep-{i}"}}
    for depth in range(25):
        nested = {"d": {"M": nested}, "l": {"L": [{"N": str(depth)}]}}
    tricky = ["", "ascii", "caf\u00e9", "\U0001f600 emoji", "nul\u0000byte", 'quote" \\ back',
              "tab\tnl\ncr\r", "\u2028\u2029", "</script>", "\x01\x1f\x7f"]
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


def _to_dynamodb_json(av: object) -> object:
    """boto3 low-level attribute values -> the JSON shape the converter writes (bytes -> base64)."""
    if isinstance(av, (bytes, bytearray)):
        return base64.b64encode(av).decode("ascii")
    if isinstance(av, dict):
        return {k: _to_dynamodb_json(v) for k, v in av.items()}
    if isinstance(av, list):
        return [_to_dynamodb_json(v) for v in av]
    if isinstance(av, Decimal):  # not produced by the low-level client, but be safe
        return str(av)
    return av


def _canon(item: object) -> object:
    """Sets are unordered: sort SS/NS/BS members before comparing."""
    if isinstance(item, dict):
        out = {}
        for k, v in item.items():
            if k in ("SS", "NS", "BS") and isinstance(v, list):
                out[k] = sorted(v)
            else:
                out[k] = _canon(v)
        return out
    if isinstance(item, list):
        return [_canon(v) for v in item]
    return item


SPARK_CHILD = textwrap.dedent(
    """
    import json, sys
    from pyspark import SparkConf, SparkContext

    args = json.loads(sys.argv[1])
    conf = (SparkConf().setMaster("local[2]").setAppName("ddb-s3-jvm-converter-test")
            .set("spark.jars", ",".join(args["jars"]))
            .set("spark.ui.enabled", "false"))
    sc = SparkContext(conf=conf)
    sc.setLogLevel("WARN")
    try:
        rdd = sc.hadoopRDD(
            args["input_format"], args["key_class"], args["value_class"],
            valueConverter=args["converter"], conf=args["hadoop_conf"],
        )
        parts = rdd.getNumPartitions()
        values = rdd.values().collect()
    finally:
        sc.stop()
    with open(args["out"], "w", encoding="utf-8") as f:
        json.dump({"partitions": parts, "items": values}, f)
    """
)


def connector_hadoop_conf(table: str, endpoint: str, segments: int, item_count: int,
                          size_bytes: int) -> dict[str, str]:
    read_percent = 1.0
    return {
        "dynamodb.input.tableName": table,
        "dynamodb.endpoint": endpoint,
        "dynamodb.regionid": "us-east-1",
        "dynamodb.region": "us-east-1",
        "dynamodb.customAWSCredentialsProvider": jars.CREDENTIALS_PROVIDER_CLASS,
        "dynamodb.yarn.enabled": "false",
        # splits = min(segments, floor(read * percent) / 100)
        "dynamodb.throughput.read": str(int(100 * segments / read_percent) * 10),
        "dynamodb.throughput.read.percent": str(read_percent),
        "dynamodb.scan.segments": str(segments),
        "dynamodb.max.map.tasks": str(segments),
        "dynamodb.table.size-bytes": str(size_bytes),
        "dynamodb.item.count": str(item_count),
        "dynamodb.item.average.size": str(max(1, size_bytes // max(1, item_count))),
        "mapred.input.format.class": jars.INPUT_FORMAT_CLASS,
    }


@pytest.mark.e2e
def test_connector_reads_every_item_through_converter(
    dynamodb_endpoint: str, connector_jars: list[Path], tmp_path: Path
) -> None:
    ddb = boto3.client("dynamodb", endpoint_url=dynamodb_endpoint, region_name="us-east-1")
    table = f"jvm-conv-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 0.2})
    try:
        for i in range(N_ITEMS):
            ddb.put_item(TableName=table, Item=_make_item(i))

        expected: dict[str, object] = {}
        for page in ddb.get_paginator("scan").paginate(TableName=table):
            for it in page["Items"]:
                expected[it["pk"]["S"]] = _canon(_to_dynamodb_json(it))
        assert len(expected) == N_ITEMS
        desc = ddb.describe_table(TableName=table)["Table"]

        out = tmp_path / "out.json"
        args = {
            "jars": [str(p) for p in connector_jars],
            "input_format": jars.INPUT_FORMAT_CLASS,
            "key_class": jars.KEY_CLASS,
            "value_class": jars.VALUE_CLASS,
            "converter": jars.CONVERTER_CLASS,
            "hadoop_conf": connector_hadoop_conf(
                table, dynamodb_endpoint, SEGMENTS,
                int(desc.get("ItemCount", N_ITEMS)) or N_ITEMS,
                int(desc.get("TableSizeBytes", 0)) or N_ITEMS * 1000,
            ),
            "out": str(out),
        }
        proc = subprocess.run(
            [sys.executable, "-c", SPARK_CHILD, json.dumps(args)],
            capture_output=True, text=True, timeout=600,
        )
        assert proc.returncode == 0, proc.stderr[-5000:]
        result = json.loads(out.read_text(encoding="utf-8"))
    finally:
        ddb.delete_table(TableName=table)

    assert result["partitions"] == SEGMENTS
    got: dict[str, object] = {}
    for line in result["items"]:
        assert isinstance(line, str)
        item = json.loads(line)
        got[item["pk"]["S"]] = _canon(item)
    assert len(result["items"]) == N_ITEMS  # no duplicates across segments
    assert got.keys() == expected.keys()
    for pk, item in expected.items():
        assert got[pk] == item, pk


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
