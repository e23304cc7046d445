"""The local DynamoDB Streams (launcher/dev/dynalite_streams.js, inside dynalite): AWS's shapes and
documented semantics, one rule a test, through boto3's `dynamodbstreams` client.

Time-driven events are forced through the stand-in's admin calls on dynalite's port: RollShards
closes a table's open shards now (rollover, or split), SetStreamKnobs shortens the rollover interval,
the retention, the iterator TTL and the TTL sweep (the `knobs` fixture restores them). Every wait
polls with a deadline."""

from __future__ import annotations

import contextlib
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from helpers import stream_admin, unique_name
from launcher.dev.localstack import FAKE_KEY_ID, FAKE_SECRET, REGION, LocalStack, LocalStackError

VIEW_TYPES = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")
# GetRecords' member names (botocore's Identity shape); a Lambda event spells them type/principalId.
TTL_IDENTITY = {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}


# --------------------------------------------------------------------------- helpers


def admin(stack: LocalStack, op: str, body: dict[str, Any]) -> dict[str, Any]:
    return stream_admin(stack.dynamodb_endpoint, op, body)


def wait_for(check: Callable[[], Any], what: str, timeout: float = 15.0, every: float = 0.05) -> Any:
    """Poll `check` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(every)


def error_code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def all_shards(streams: Any, arn: str) -> list[dict[str, Any]]:
    """Every shard of a stream, through DescribeStream's paging, in its order."""
    shards: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"StreamArn": arn}
    while True:
        desc = streams.describe_stream(**kwargs)["StreamDescription"]
        shards += desc["Shards"]
        if "LastEvaluatedShardId" not in desc:
            return shards
        kwargs["ExclusiveStartShardId"] = desc["LastEvaluatedShardId"]


def read_shard(streams: Any, arn: str, shard_id: str, kind: str = "TRIM_HORIZON", **kwargs: Any) -> tuple[list[dict[str, Any]], bool]:
    """The records of one shard from an iterator of `kind`, and whether the shard ended (no next iterator)."""
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id, ShardIteratorType=kind, **kwargs)["ShardIterator"]
    records: list[dict[str, Any]] = []
    for _ in range(1000):
        page = streams.get_records(ShardIterator=it)
        records += page["Records"]
        if "NextShardIterator" not in page:
            return records, True
        if not page["Records"]:
            return records, False  # an open shard, read up to now
        it = page["NextShardIterator"]
    raise AssertionError("a shard that never ends")


def read_stream(streams: Any, arn: str) -> dict[str, list[dict[str, Any]]]:
    """Shard id -> its records, parents first (DescribeStream's order)."""
    return {s["ShardId"]: read_shard(streams, arn, s["ShardId"])[0] for s in all_shards(streams, arn)}


def pk(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["Keys"]["pk"]["S"])


def flat(by_shard: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [r for records in by_shard.values() for r in records]


def put(ddb: Any, table: str, key: str, **attrs: str) -> None:
    ddb.put_item(TableName=table, Item={"pk": {"S": key}, **{k: {"S": v} for k, v in attrs.items()}})


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def streams(local_stack: LocalStack) -> Any:
    """A DynamoDB Streams client built from the environment alone (strict contracts installed)."""
    return boto3.client("dynamodbstreams")


@pytest.fixture
def knobs(local_stack: LocalStack) -> Iterator[Callable[..., dict[str, Any]]]:
    """Setter of the stand-in's knobs, e.g. knobs(DDB_S3_LOCAL_STREAM_ROLLOVER_S=1); all restored after."""
    saved = admin(local_stack, "SetStreamKnobs", {})
    try:
        yield lambda **values: admin(local_stack, "SetStreamKnobs", values)
    finally:
        admin(local_stack, "SetStreamKnobs", saved)


@pytest.fixture
def stream_table(ddb: Any, streams: Any) -> Iterator[Callable[..., tuple[str, str]]]:
    """Factory: a uniquely named on-demand table (hash key pk, S) with a stream of `view`, ACTIVE
    and its stream ENABLED; returns (table name, stream ARN). Deleted after."""
    created: list[str] = []

    def make(view: str = "NEW_AND_OLD_IMAGES") -> tuple[str, str]:
        name = unique_name("st")
        resp = ddb.create_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": view},
        )
        created.append(name)
        arn = resp["TableDescription"]["LatestStreamArn"]
        wait_for(lambda: ddb.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE", f"{name} ACTIVE")
        wait_for(lambda: streams.describe_stream(StreamArn=arn)["StreamDescription"]["StreamStatus"] == "ENABLED", f"{arn} ENABLED")
        return name, arn

    yield make
    for name in created:
        with contextlib.suppress(ddb.exceptions.ResourceNotFoundException):
            ddb.delete_table(TableName=name)


@pytest.fixture
def plain_table(fresh_table: Callable[..., str]) -> str:
    """A table without a stream."""
    return fresh_table(prefix="st")


# --------------------------------------------------------------------------- 1. tables and their streams


def test_env_points_streams_at_dynalite(local_stack: LocalStack) -> None:
    assert local_stack.env()["AWS_ENDPOINT_URL_DYNAMODB_STREAMS"] == local_stack.dynamodb_endpoint


def test_create_table_with_a_stream_shows_it_as_aws_does(ddb: Any, stream_table: Any, plain_table: str) -> None:
    name, arn = stream_table("NEW_IMAGE")
    label = arn.rsplit("/", 1)[1]
    assert re.fullmatch(rf"arn:aws:dynamodb:us-east-1:000000000000:table/{name}/stream/\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}", arn)
    table = ddb.describe_table(TableName=name)["Table"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert table["LatestStreamArn"] == arn and table["LatestStreamLabel"] == label
    plain = ddb.describe_table(TableName=plain_table)["Table"]
    assert not {"StreamSpecification", "LatestStreamArn", "LatestStreamLabel"} & plain.keys()


def test_stream_specification_is_checked(ddb: Any) -> None:
    with pytest.raises(ClientError) as err:
        ddb.create_table(
            TableName=unique_name("st"),
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True},  # no StreamViewType
        )
    assert error_code(err) == "ValidationException"


def test_update_table_enables_disables_and_reenables_with_a_new_arn(ddb: Any, streams: Any, plain_table: str) -> None:
    name = plain_table
    with pytest.raises(ClientError) as err:  # nothing to disable
        ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
    assert error_code(err) == "ValidationException"
    resp = ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    first = resp["TableDescription"]["LatestStreamArn"]
    assert resp["TableDescription"]["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    assert resp["TableDescription"]["LatestStreamLabel"] == first.rsplit("/", 1)[1]
    # AWS: one enabled stream at a time, even to change its view type
    for view in ("KEYS_ONLY", "NEW_IMAGE"):
        with pytest.raises(ClientError) as err:
            ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": True, "StreamViewType": view})
        assert error_code(err) == "ValidationException" and "already has an enabled stream" in str(err.value)
    put(ddb, name, "before")

    ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
    wait_for(lambda: streams.describe_stream(StreamArn=first)["StreamDescription"]["StreamStatus"] == "DISABLED", "DISABLED")
    assert "StreamSpecification" not in ddb.describe_table(TableName=name)["Table"]
    shards = all_shards(streams, first)
    assert shards and all("EndingSequenceNumber" in s["SequenceNumberRange"] for s in shards)
    put(ddb, name, "while-disabled")
    assert [pk(r) for r in flat(read_stream(streams, first))] == ["before"]  # still readable, nothing new

    resp = ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    second = resp["TableDescription"]["LatestStreamArn"]
    assert second != first
    assert ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"] == second
    assert {s["StreamArn"] for s in streams.list_streams(TableName=name)["Streams"]} == {first, second}


def test_delete_table_disables_its_stream_and_keeps_its_records(ddb: Any, streams: Any, stream_table: Any) -> None:
    name, arn = stream_table()
    put(ddb, name, "a")
    ddb.delete_table(TableName=name)
    wait_for(lambda: streams.describe_stream(StreamArn=arn)["StreamDescription"]["StreamStatus"] == "DISABLED", "DISABLED")
    assert all("EndingSequenceNumber" in s["SequenceNumberRange"] for s in all_shards(streams, arn))
    assert [pk(r) for r in flat(read_stream(streams, arn))] == ["a"]


# --------------------------------------------------------------------------- 2. the Streams API


def test_list_streams_filters_by_table_and_pages(streams: Any, stream_table: Any) -> None:
    (one, arn_one), (_, arn_two) = stream_table(), stream_table()
    assert [s["StreamArn"] for s in streams.list_streams(TableName=one)["Streams"]] == [arn_one]
    assert streams.list_streams(TableName=one)["Streams"][0] == {
        "StreamArn": arn_one,
        "TableName": one,
        "StreamLabel": arn_one.rsplit("/", 1)[1],
    }
    seen: list[str] = []
    kwargs: dict[str, Any] = {"Limit": 1}
    for _ in range(1000):
        page = streams.list_streams(**kwargs)
        assert len(page["Streams"]) <= 1
        seen += [s["StreamArn"] for s in page["Streams"]]
        if "LastEvaluatedStreamArn" not in page:
            break
        kwargs["ExclusiveStartStreamArn"] = page["LastEvaluatedStreamArn"]
    assert len(seen) == len(set(seen)) and {arn_one, arn_two} <= set(seen)


def test_describe_stream_has_aws_shape_and_pages_shards(ddb: Any, streams: Any, stream_table: Any) -> None:
    name, arn = stream_table("OLD_IMAGE")
    desc = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert desc["StreamArn"] == arn and desc["StreamLabel"] == arn.rsplit("/", 1)[1]
    assert desc["StreamStatus"] == "ENABLED" and desc["StreamViewType"] == "OLD_IMAGE" and desc["TableName"] == name
    assert desc["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert isinstance(desc["CreationRequestDateTime"], datetime)
    assert len(desc["Shards"]) >= 2 and "LastEvaluatedShardId" not in desc
    for shard in desc["Shards"]:
        assert set(shard) == {"ShardId", "SequenceNumberRange"}  # no parent, open: no ending number
        assert set(shard["SequenceNumberRange"]) == {"StartingSequenceNumber"}
        assert re.fullmatch(r"\d{21,40}", shard["SequenceNumberRange"]["StartingSequenceNumber"])
    page = streams.describe_stream(StreamArn=arn, Limit=1)["StreamDescription"]
    assert [s["ShardId"] for s in page["Shards"]] == [desc["Shards"][0]["ShardId"]]
    assert page["LastEvaluatedShardId"] == desc["Shards"][0]["ShardId"]
    assert [s["ShardId"] for s in all_shards(streams, arn)] == [s["ShardId"] for s in desc["Shards"]]
    with pytest.raises(ClientError) as err:
        streams.describe_stream(StreamArn=arn + "0")
    assert error_code(err) == "ResourceNotFoundException"


def test_get_shard_iterator_types(ddb: Any, streams: Any, stream_table: Any) -> None:
    name, arn = stream_table()
    for key in ("a", "b", "c"):  # one item: one shard
        ddb.put_item(TableName=name, Item={"pk": {"S": "k"}, "v": {"S": key}})
    shard = next(s for s in all_shards(streams, arn) if read_shard(streams, arn, s["ShardId"])[0])["ShardId"]
    records, ended = read_shard(streams, arn, shard)
    assert [r["dynamodb"]["NewImage"]["v"]["S"] for r in records] == ["a", "b", "c"] and not ended
    seq = [r["dynamodb"]["SequenceNumber"] for r in records]
    at = read_shard(streams, arn, shard, "AT_SEQUENCE_NUMBER", SequenceNumber=seq[1])[0]
    assert [r["dynamodb"]["SequenceNumber"] for r in at] == seq[1:]
    after = read_shard(streams, arn, shard, "AFTER_SEQUENCE_NUMBER", SequenceNumber=seq[1])[0]
    assert [r["dynamodb"]["SequenceNumber"] for r in after] == seq[2:]
    latest = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    assert streams.get_records(ShardIterator=latest)["Records"] == []
    ddb.put_item(TableName=name, Item={"pk": {"S": "k"}, "v": {"S": "d"}})
    assert [r["dynamodb"]["NewImage"]["v"]["S"] for r in streams.get_records(ShardIterator=latest)["Records"]] == ["d"]


def test_unknown_stream_or_shard_is_resource_not_found(streams: Any, stream_table: Any) -> None:
    _, arn = stream_table()
    shard = all_shards(streams, arn)[0]["ShardId"]
    with pytest.raises(ClientError) as err:
        streams.get_shard_iterator(StreamArn=arn, ShardId=shard[:-1] + ("0" if shard[-1] != "0" else "1"), ShardIteratorType="TRIM_HORIZON")
    assert error_code(err) == "ResourceNotFoundException"
    unknown = arn.rsplit("/", 1)[0] + "/1999-01-01T00:00:00.000"
    with pytest.raises(ClientError) as err:
        streams.get_shard_iterator(StreamArn=unknown, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    assert error_code(err) == "ResourceNotFoundException"


def test_get_records_pages_with_limit(ddb: Any, streams: Any, stream_table: Any) -> None:
    name, arn = stream_table()
    for i in range(7):
        ddb.put_item(TableName=name, Item={"pk": {"S": "k"}, "v": {"N": str(i)}})
    shard = next(s for s in all_shards(streams, arn) if read_shard(streams, arn, s["ShardId"])[0])["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    pages: list[list[str]] = []
    while True:
        page = streams.get_records(ShardIterator=it, Limit=3)
        if not page["Records"]:
            break
        pages.append([r["dynamodb"]["NewImage"]["v"]["N"] for r in page["Records"]])
        it = page["NextShardIterator"]
    assert pages == [["0", "1", "2"], ["3", "4", "5"], ["6"]]


def test_strict_contracts_check_streams_requests_and_the_server_checks_too(local_stack: LocalStack, streams: Any) -> None:
    # The session's clients carry launcher/aws/contracts.py: a rule of botocore's model is refused before sending.
    with pytest.raises(ClientError) as err:
        streams.get_records(ShardIterator="x", Limit=0)
    assert error_code(err) == "ValidationException" and "validation error(s) detected" in str(err.value)
    # The stand-in refuses on its own what AWS refuses (GetRecords' 1000, not in botocore's model).
    raw = boto3.session.Session().client(
        "dynamodbstreams",
        endpoint_url=local_stack.dynamodb_endpoint,
        region_name=REGION,
        aws_access_key_id=FAKE_KEY_ID,
        aws_secret_access_key=FAKE_SECRET,
        config=Config(parameter_validation=False, retries={"max_attempts": 1}),
    )
    for limit in (0, 1001):
        with pytest.raises(ClientError) as err:
            raw.get_records(ShardIterator="x|1|e30=", Limit=limit)
        assert error_code(err) == "ValidationException" and "limit" in str(err.value)
    with pytest.raises(ClientError) as err:
        raw.get_records(ShardIterator="not an iterator")
    assert error_code(err) == "ValidationException"


def test_unsigned_streams_requests_are_refused(local_stack: LocalStack) -> None:
    req = urllib.request.Request(
        local_stack.dynamodb_endpoint,
        data=b"{}",
        headers={"X-Amz-Target": "DynamoDBStreams_20120810.ListStreams", "Content-Type": "application/x-amz-json-1.0"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 400 and "MissingAuthenticationToken" in json.loads(err.value.read())["__type"]


# --------------------------------------------------------------------------- 3. records


def test_record_has_aws_shape(ddb: Any, streams: Any, stream_table: Any) -> None:
    name, arn = stream_table()
    before = time.time()
    put(ddb, name, "a", v="1")
    after = time.time()
    [record] = flat(read_stream(streams, arn))
    assert set(record) == {"eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb"}
    assert record["eventName"] == "INSERT" and record["eventVersion"] == "1.1"
    assert record["eventSource"] == "aws:dynamodb" and record["awsRegion"] == "us-east-1"
    assert re.fullmatch(r"[0-9a-f]{32}", record["eventID"])
    d = record["dynamodb"]
    assert set(d) == {"ApproximateCreationDateTime", "Keys", "NewImage", "SequenceNumber", "SizeBytes", "StreamViewType"}
    when = d["ApproximateCreationDateTime"]
    assert isinstance(when, datetime) and when.microsecond == 0  # whole seconds, rounded down
    assert int(before) <= when.timestamp() <= after
    assert d["Keys"] == {"pk": {"S": "a"}} and d["NewImage"] == {"pk": {"S": "a"}, "v": {"S": "1"}}
    assert re.fullmatch(r"\d{21,40}", d["SequenceNumber"]) and d["SizeBytes"] > 0
    assert d["StreamViewType"] == "NEW_AND_OLD_IMAGES"


@pytest.mark.parametrize("view", VIEW_TYPES)
def test_view_type_decides_the_images(ddb: Any, streams: Any, stream_table: Any, view: str) -> None:
    name, arn = stream_table(view)
    put(ddb, name, "a", v="1")
    put(ddb, name, "a", v="2")
    ddb.delete_item(TableName=name, Key={"pk": {"S": "a"}})
    insert, modify, remove = flat(read_stream(streams, arn))
    assert [r["eventName"] for r in (insert, modify, remove)] == ["INSERT", "MODIFY", "REMOVE"]
    new, old = view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"), view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES")
    v1, v2 = {"pk": {"S": "a"}, "v": {"S": "1"}}, {"pk": {"S": "a"}, "v": {"S": "2"}}
    for record, new_image, old_image in ((insert, v1, None), (modify, v2, v1), (remove, None, v2)):
        d = record["dynamodb"]
        assert d["Keys"] == {"pk": {"S": "a"}} and d["StreamViewType"] == view
        assert d.get("NewImage") == (new_image if new else None)
        assert d.get("OldImage") == (old_image if old else None)


# --------------------------------------------------------------------------- 4. semantics


def test_writes_that_change_nothing_write_no_record(ddb: Any, streams: Any, stream_table: Any) -> None:
    name, arn = stream_table()
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "n": {"N": "1"}, "s": {"SS": ["x", "y"]}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "n": {"N": "1"}, "s": {"SS": ["y", "x"]}})  # the same item
    ddb.update_item(TableName=name, Key={"pk": {"S": "a"}}, UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": {"N": "1"}})
    ddb.delete_item(TableName=name, Key={"pk": {"S": "missing"}})
    with pytest.raises(ClientError):
        ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "n": {"N": "2"}}, ConditionExpression="attribute_not_exists(pk)")
    put(ddb, name, "last")
    assert sorted((pk(r), r["eventName"]) for r in flat(read_stream(streams, arn))) == [("a", "INSERT"), ("last", "INSERT")]


def test_every_write_api_writes_records(ddb: Any, streams: Any, stream_table: Any) -> None:
    name, arn = stream_table()
    put(ddb, name, "put")
    ddb.update_item(TableName=name, Key={"pk": {"S": "upd"}}, UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"S": "1"}})
    ddb.update_item(TableName=name, Key={"pk": {"S": "upd"}}, UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"S": "2"}})
    ddb.delete_item(TableName=name, Key={"pk": {"S": "put"}})
    ddb.batch_write_item(
        RequestItems={
            name: [
                {"PutRequest": {"Item": {"pk": {"S": "b1"}}}},
                {"PutRequest": {"Item": {"pk": {"S": "b2"}}}},
                {"DeleteRequest": {"Key": {"pk": {"S": "upd"}}}},
            ]
        }
    )
    got = sorted((pk(r), r["eventName"]) for r in flat(read_stream(streams, arn)))
    assert got == sorted(
        [("put", "INSERT"), ("upd", "INSERT"), ("upd", "MODIFY"), ("put", "REMOVE"), ("b1", "INSERT"), ("b2", "INSERT"), ("upd", "REMOVE")]
    )


def test_each_record_appears_once_and_an_items_records_keep_their_order(ddb: Any, streams: Any, stream_table: Any) -> None:
    name, arn = stream_table()
    keys = [f"k{i:02}" for i in range(20)]
    for version in range(5):
        for key in keys:
            ddb.update_item(
                TableName=name, Key={"pk": {"S": key}}, UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"N": str(version)}}
            )
    by_shard = read_stream(streams, arn)
    seen: dict[str, list[int]] = {}
    shard_of: dict[str, set[str]] = {}
    for shard, records in by_shard.items():
        seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
        assert seqs == sorted(set(seqs))  # increasing within a shard
        for r in records:
            seen.setdefault(pk(r), []).append(int(r["dynamodb"]["NewImage"]["v"]["N"]))
            shard_of.setdefault(pk(r), set()).add(shard)
    assert seen == {key: [0, 1, 2, 3, 4] for key in keys}  # each once, in order
    assert all(len(shards) == 1 for shards in shard_of.values())  # an item stays in its shard


def test_no_order_across_shards(ddb: Any, streams: Any, stream_table: Any) -> None:
    name, arn = stream_table()
    written = [f"k{i:02}" for i in range(20)]
    for key in written:
        put(ddb, name, key)
    by_shard = read_stream(streams, arn)
    assert sum(1 for records in by_shard.values() if records) >= 2  # the items are spread over shards
    assert [pk(r) for r in flat(by_shard)] != written  # shard by shard is not the order of the writes
    assert sorted(pk(r) for r in flat(by_shard)) == written


def test_shard_count_knob(streams: Any, stream_table: Any, knobs: Any) -> None:
    _, default_arn = stream_table()
    assert len(all_shards(streams, default_arn)) == 2
    knobs(DDB_S3_LOCAL_STREAM_SHARDS=3)
    _, arn = stream_table()
    assert len(all_shards(streams, arn)) == 3


def test_rollover_closes_shards_each_with_one_child(local_stack: LocalStack, ddb: Any, streams: Any, stream_table: Any) -> None:
    name, arn = stream_table()
    put(ddb, name, "k", v="1")
    before = all_shards(streams, arn)
    rolled = admin(local_stack, "RollShards", {"TableName": name, "Split": False})
    assert sorted(rolled["ClosedShardIds"]) == sorted(s["ShardId"] for s in before)
    put(ddb, name, "k", v="2")
    shards = all_shards(streams, arn)
    parents = {s["ShardId"]: s for s in shards if "EndingSequenceNumber" in s["SequenceNumberRange"]}
    children = [s for s in shards if s.get("ParentShardId") in parents]
    assert set(parents) == {s["ShardId"] for s in before}
    assert sorted(c["ParentShardId"] for c in children) == sorted(parents)  # one child each
    assert all("EndingSequenceNumber" not in c["SequenceNumberRange"] for c in children)
    by_shard = read_stream(streams, arn)
    [(old_shard, [first])] = [(s, r) for s, r in by_shard.items() if r and s in parents]
    [(new_shard, [second])] = [(s, r) for s, r in by_shard.items() if r and s not in parents]
    assert first["dynamodb"]["NewImage"]["v"] == {"S": "1"} and second["dynamodb"]["NewImage"]["v"] == {"S": "2"}
    assert next(c for c in children if c["ShardId"] == new_shard)["ParentShardId"] == old_shard  # the key's lineage
    assert read_shard(streams, arn, old_shard)[1]  # a closed shard read to its end: no next iterator


def test_split_gives_two_children_and_a_key_goes_to_one(local_stack: LocalStack, ddb: Any, streams: Any, stream_table: Any) -> None:
    name, arn = stream_table()
    put(ddb, name, "k", v="0")
    before = {s["ShardId"] for s in all_shards(streams, arn)}
    admin(local_stack, "RollShards", {"TableName": name, "Split": True})
    for i in range(1, 6):
        put(ddb, name, "k", v=str(i))
    shards = all_shards(streams, arn)
    children: dict[str, list[str]] = {}
    for s in shards:
        if s.get("ParentShardId"):
            children.setdefault(s["ParentShardId"], []).append(s["ShardId"])
    assert set(children) == before and all(len(c) == 2 for c in children.values())
    by_shard = read_stream(streams, arn)
    [(old_shard, _)] = [(s, r) for s, r in by_shard.items() if r and s in before]
    later = {s: r for s, r in by_shard.items() if r and s not in before}
    assert len(later) == 1  # all of the key's later records in one child
    [(child, records)] = later.items()
    assert child in children[old_shard]
    assert [r["dynamodb"]["NewImage"]["v"]["S"] for r in records] == ["1", "2", "3", "4", "5"]


def test_rollover_interval_and_split_knobs(ddb: Any, streams: Any, stream_table: Any, knobs: Any) -> None:
    name, arn = stream_table()
    first = {s["ShardId"] for s in all_shards(streams, arn)}
    knobs(DDB_S3_LOCAL_STREAM_ROLLOVER_S=1, DDB_S3_LOCAL_STREAM_SPLIT=0)

    def rolled() -> list[dict[str, Any]]:
        shards = all_shards(streams, arn)
        closed = {s["ShardId"] for s in shards if "EndingSequenceNumber" in s["SequenceNumberRange"]}
        return shards if first <= closed else []

    shards = wait_for(rolled, "the first shards rolled over")
    assert sorted(s["ParentShardId"] for s in shards if s.get("ParentShardId") in first) == sorted(first)  # one child each
    knobs(DDB_S3_LOCAL_STREAM_SPLIT=1)  # every rollover a split

    def split() -> bool:
        parents = [s["ParentShardId"] for s in all_shards(streams, arn) if s.get("ParentShardId")]
        return any(parents.count(p) == 2 for p in parents)

    wait_for(split, "a split")
    put(ddb, name, "still-written")
    assert "still-written" in [pk(r) for r in flat(read_stream(streams, arn))]


def test_parents_are_listed_and_readable_before_their_children(local_stack: LocalStack, ddb: Any, streams: Any, stream_table: Any) -> None:
    name, arn = stream_table()
    for generation in range(3):
        for key in ("a", "b", "c", "d"):
            put(ddb, name, key, v=str(generation))
        admin(local_stack, "RollShards", {"TableName": name, "Split": generation == 1})
    shards = all_shards(streams, arn)
    position = {s["ShardId"]: n for n, s in enumerate(shards)}
    for s in shards:
        if s.get("ParentShardId") in position:
            assert position[s["ParentShardId"]] < position[s["ShardId"]]
    # Reading parents to their end before their children gives every item's records in order.
    seen: dict[str, list[str]] = {}
    for s in shards:
        records, ended = read_shard(streams, arn, s["ShardId"])
        assert ended == ("EndingSequenceNumber" in s["SequenceNumberRange"])
        for r in records:
            seen.setdefault(pk(r), []).append(r["dynamodb"]["NewImage"]["v"]["S"])
    assert seen == {key: ["0", "1", "2"] for key in ("a", "b", "c", "d")}


def test_retention_trims_records_and_then_emptied_closed_shards(
    local_stack: LocalStack, ddb: Any, streams: Any, stream_table: Any, knobs: Any
) -> None:
    name, arn = stream_table()
    put(ddb, name, "old")
    [(shard, [old])] = [(s, r) for s, r in read_stream(streams, arn).items() if r]
    early = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    knobs(DDB_S3_LOCAL_STREAM_RETENTION_S=1.5)

    def trimmed() -> bool:
        try:
            return not read_shard(streams, arn, shard)[0]
        except ClientError as e:  # an iterator taken just before the trim, read just after: refused, as AWS does
            if e.response["Error"]["Code"] != "TrimmedDataAccessException":
                raise
            return False

    wait_for(trimmed, "the old record trimmed")
    with pytest.raises(ClientError) as err:
        streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=old["dynamodb"]["SequenceNumber"]
        )
    assert error_code(err) == "TrimmedDataAccessException"
    with pytest.raises(ClientError) as err:
        streams.get_records(ShardIterator=early)  # it points at the trimmed record
    assert error_code(err) == "TrimmedDataAccessException"
    put(ddb, name, "old", v="new")
    records, _ = read_shard(streams, arn, shard)  # TRIM_HORIZON starts after the trimmed records
    assert [r["eventName"] for r in records] == ["MODIFY"]

    rolled = admin(local_stack, "RollShards", {"TableName": name, "Split": False})
    wait_for(lambda: not {s["ShardId"] for s in all_shards(streams, arn)} & set(rolled["ClosedShardIds"]), "closed shards gone")
    assert len(all_shards(streams, arn)) == len(rolled["NewShardIds"])  # the open children stay


def test_shard_iterators_expire(ddb: Any, streams: Any, stream_table: Any, knobs: Any) -> None:
    _, arn = stream_table()
    knobs(DDB_S3_LOCAL_STREAM_ITERATOR_TTL_S=1)
    shard = all_shards(streams, arn)[0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    streams.get_records(ShardIterator=it)  # fresh: fine

    def expired() -> bool:
        try:
            streams.get_records(ShardIterator=it)
        except ClientError as e:
            assert e.response["Error"]["Code"] == "ExpiredIteratorException"
            return True
        return False

    wait_for(expired, "the iterator expired", every=0.2)
    fresh = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert "NextShardIterator" in streams.get_records(ShardIterator=fresh)


def test_ttl_sweeper_deletes_expired_items_with_a_service_identity(ddb: Any, streams: Any, stream_table: Any, knobs: Any) -> None:
    name, arn = stream_table()
    assert ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"] == {"TimeToLiveStatus": "DISABLED"}
    resp = ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    assert resp["TimeToLiveSpecification"] == {"Enabled": True, "AttributeName": "exp"}
    assert ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}
    with pytest.raises(ClientError) as err:
        ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    assert error_code(err) == "ValidationException"
    now = int(time.time())
    items = {
        "expired": {"N": str(now - 60)},
        "future": {"N": str(now + 3600)},
        "a-string": {"S": str(now - 60)},  # only a Number is a TTL
        "ancient": {"N": str(now - 6 * 365 * 24 * 3600)},  # AWS skips values over five years old
    }
    for key, exp in items.items():
        ddb.put_item(TableName=name, Item={"pk": {"S": key}, "exp": exp})
    knobs(DDB_S3_LOCAL_TTL_SWEEP_S=0.2)
    wait_for(lambda: "Item" not in ddb.get_item(TableName=name, Key={"pk": {"S": "expired"}}), "the expired item deleted")
    ddb.delete_item(TableName=name, Key={"pk": {"S": "future"}})
    removes = {pk(r): r for r in flat(read_stream(streams, arn)) if r["eventName"] == "REMOVE"}
    assert set(removes) == {"expired", "future"}
    assert removes["expired"]["userIdentity"] == TTL_IDENTITY
    assert removes["expired"]["dynamodb"]["OldImage"] == {"pk": {"S": "expired"}, "exp": items["expired"]}
    assert "userIdentity" not in removes["future"]  # a user's delete
    assert {i["pk"]["S"] for i in ddb.scan(TableName=name)["Items"]} == {"a-string", "ancient"}
    ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": False, "AttributeName": "exp"})
    assert ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"] == {"TimeToLiveStatus": "DISABLED"}


def test_knobs_are_checked(local_stack: LocalStack) -> None:
    for bad in (
        {"DDB_S3_LOCAL_STREAM_SHARDS": 0},
        {"DDB_S3_LOCAL_STREAM_SHARDS": 1.5},
        {"NO_SUCH_KNOB": 1},
        {"DDB_S3_LOCAL_STREAM_RETENTION_S": "1"},
    ):
        with pytest.raises(urllib.error.HTTPError) as err:
            admin(local_stack, "SetStreamKnobs", bad)
        assert err.value.code == 400


@pytest.mark.integration
def test_knobs_come_from_dynalites_environment_and_a_bad_one_stops_it() -> None:
    with LocalStack.start(stream_knobs={"DDB_S3_LOCAL_STREAM_SHARDS": 3, "DDB_S3_LOCAL_STREAM_ROLLOVER_S": 7.5}) as stack:
        started = admin(stack, "SetStreamKnobs", {})
    assert started["DDB_S3_LOCAL_STREAM_SHARDS"] == 3 and started["DDB_S3_LOCAL_STREAM_ROLLOVER_S"] == 7.5
    with pytest.raises(LocalStackError) as err:
        LocalStack.start(stream_knobs={"DDB_S3_LOCAL_STREAM_SHARDS": 0})
    assert "DDB_S3_LOCAL_STREAM_SHARDS must be above 0" in str(err.value)
