"""The fault proxy itself: each fault really reaches a real boto3 client through the real servers,
botocore's standard retries ride over throttling, 5xx and dropped connections, and the counts are
exact."""

from __future__ import annotations

import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from faults import FaultPlan, FaultProxy, Rule, s3_operation
from faults.fixtures import faulty  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration

ONE_TRY = Config(retries={"mode": "standard", "total_max_attempts": 1})
RETRIES = Config(retries={"mode": "standard", "max_attempts": 10})


@pytest.mark.unit
@pytest.mark.parametrize(
    "method, path, op",
    [
        ("PUT", "/b/k/data/x.json.gz", "PutObject"),
        ("PUT", "/b/k?partNumber=2&uploadId=abc", "UploadPart"),
        ("POST", "/b/k?uploads", "CreateMultipartUpload"),
        ("POST", "/b/k?uploadId=abc", "CompleteMultipartUpload"),
        ("DELETE", "/b/k?uploadId=abc", "AbortMultipartUpload"),
        ("GET", "/b?list-type=2&prefix=x", "ListObjectsV2"),
        ("HEAD", "/b/k", "HeadObject"),
        ("GET", "/b/k", "GetObject"),
        ("PUT", "/b", "CreateBucket"),
    ],
)
def test_s3_operation_names(method, path, op):
    assert s3_operation(method, path) == op


@pytest.mark.parametrize(
    "kind", ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded", "InternalServerError"]
)
def test_dynamodb_errors_have_the_real_type(local_stack, fresh_table, kind):
    table = fresh_table()
    plan = FaultPlan(rules=[Rule("dynamodb", kind, ops={"Scan"}, times=1)])
    with FaultProxy("dynamodb", local_stack.dynamodb_endpoint, plan) as p:
        client = boto3.client("dynamodb", endpoint_url=p.url, config=ONE_TRY)
        with pytest.raises(ClientError) as e:
            client.scan(TableName=table)
        assert e.value.response["Error"]["Code"] == kind
        assert client.scan(TableName=table)["Count"] == 0  # times=1: the next one goes through
    assert plan.total(kind) == 1 and len(plan.requests("dynamodb", "Scan")) == 2


def test_boto3_retries_ride_over_every_dynamodb_fault(local_stack, fresh_table):
    table = fresh_table()
    plan = FaultPlan(
        rules=[
            Rule("dynamodb", "ProvisionedThroughputExceededException", ops={"PutItem"}, every=2),
            Rule("dynamodb", "ThrottlingException", ops={"GetItem"}, times=1),
            Rule("dynamodb", "RequestLimitExceeded", ops={"GetItem"}, times=1),
            Rule("dynamodb", "drop", ops={"Scan"}, times=2),
            Rule("dynamodb", "drop_after", ops={"PutItem"}, times=1),
        ]
    )
    with FaultProxy("dynamodb", local_stack.dynamodb_endpoint, plan) as p:
        client = boto3.client("dynamodb", endpoint_url=p.url, config=RETRIES)
        retries = 0
        for i in range(10):
            retries += client.put_item(TableName=table, Item={"pk": {"S": str(i)}})["ResponseMetadata"]["RetryAttempts"]
        got = client.get_item(TableName=table, Key={"pk": {"S": "3"}})
        retries += got["ResponseMetadata"]["RetryAttempts"] + 0
        scan = client.scan(TableName=table)
        retries += scan["ResponseMetadata"]["RetryAttempts"]
    assert got["Item"] == {"pk": {"S": "3"}}
    assert sorted(i["pk"]["S"] for i in scan["Items"]) == [str(i) for i in range(10)]
    assert plan.total("ThrottlingException") == 1 and plan.total("RequestLimitExceeded") == 1
    assert plan.total("drop") == 2 and plan.total("drop_after") == 1
    assert plan.total("ProvisionedThroughputExceededException") >= 5
    assert retries == plan.total()  # every injected fault cost the client exactly one retry


def test_s3_errors_and_drops(local_stack, bucket):
    plan = FaultPlan(
        rules=[
            Rule("s3", "SlowDown", ops={"PutObject"}, times=2),
            Rule("s3", "InternalError", ops={"GetObject"}, times=1),
            Rule("s3", "drop", ops={"HeadObject"}, times=1),
        ]
    )
    with FaultProxy("s3", local_stack.s3_endpoint, plan) as p:
        one = boto3.client("s3", endpoint_url=p.url, config=ONE_TRY)
        with pytest.raises(ClientError) as e:
            one.put_object(Bucket=bucket, Key="a", Body=b"x")
        assert e.value.response["Error"]["Code"] == "SlowDown"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        client = boto3.client("s3", endpoint_url=p.url, config=RETRIES)
        assert client.put_object(Bucket=bucket, Key="a", Body=b"x")["ResponseMetadata"]["RetryAttempts"] == 1
        assert client.get_object(Bucket=bucket, Key="a")["Body"].read() == b"x"
        with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
            one.head_object(Bucket=bucket, Key="a")
        assert client.head_object(Bucket=bucket, Key="a")["ContentLength"] == 1
    assert plan.total("SlowDown") == 2 and plan.total("InternalError") == 1 and plan.total("drop") == 1


def test_slow_responses_slow_down(local_stack, bucket):
    plan = FaultPlan(rules=[Rule("s3", "slow", ops={"ListObjectsV2"}, delay=0.5, times=2)])
    with FaultProxy("s3", local_stack.s3_endpoint, plan) as p:
        client = boto3.client("s3", endpoint_url=p.url)
        t0 = time.monotonic()
        client.list_objects_v2(Bucket=bucket)
        client.list_objects_v2(Bucket=bucket)
        slow = time.monotonic() - t0
        t0 = time.monotonic()
        client.list_objects_v2(Bucket=bucket)
        fast = time.monotonic() - t0
    assert slow >= 1.0 and fast < 0.5


def test_seeded_probability_is_reproducible():
    def run(seed):
        plan = FaultPlan(seed=seed, rules=[Rule("s3", "SlowDown", probability=0.3)])
        return [plan.decide("s3", "PutObject", "PUT", "/b/k", {})[0] is not None for _ in range(200)]

    assert run(5) == run(5) and run(5) != run(6)
    assert 30 < sum(run(5)) < 90


def test_fixture_points_the_environment_at_the_proxies(faulty, fresh_table):
    table = fresh_table()  # made through the proxy: the fixture set AWS_ENDPOINT_URL_DYNAMODB
    boto3.client("dynamodb").describe_table(TableName=table)
    assert {r.op for r in faulty.plan.requests("dynamodb")} >= {"CreateTable", "DescribeTable"}
