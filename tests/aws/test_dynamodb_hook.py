"""DynamoDbHook: a restore's target table described, created from an export's recorded schema and
waited for with core/wait.poll_until. Against dynalite (which keeps a new table CREATING for about
half a second, like the real service), and with a stubbed client and a fake clock for the paths
dynalite never takes (a table that stays CREATING, DescribeTable lagging a CreateTable)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from helpers import LAB_SCHEMA, fake_clock, unique_name
from launcher.aws.dynamodb import DynamoDbHook, create_request
from launcher.core.errors import DdbS3Error
from launcher.core.wait import WaitTimeout


def stubbed_hook() -> tuple[DynamoDbHook, Stubber]:
    client = boto3.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x").client("dynamodb")
    return DynamoDbHook(ddb=client), Stubber(client)


def table(status: str, name: str = "Tab") -> dict[str, Any]:
    return {"Table": {"TableName": name, "TableStatus": status, "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}}


REQUEST = {
    "TableName": "Tab",
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
    "BillingMode": "PAY_PER_REQUEST",
}


# --------------------------------------------------------------------------- against dynalite


@pytest.mark.integration
def test_create_and_wait_returns_the_active_table_with_its_indexes(ddb: Any) -> None:
    name = unique_name("hook")
    schema = dict(LAB_SCHEMA, BillingMode="PROVISIONED", ProvisionedThroughput={"ReadCapacityUnits": 7, "WriteCapacityUnits": 3})
    hook = DynamoDbHook(ddb=ddb)
    assert hook.describe(name) is None
    said: list[str] = []
    try:
        desc = hook.create_and_wait(create_request(name, schema), timeout=60, say=said.append)
        assert desc["TableStatus"] == "ACTIVE" and desc["TableName"] == name
        assert desc["ProvisionedThroughput"]["WriteCapacityUnits"] == 3
        assert [i["IndexName"] for i in desc["GlobalSecondaryIndexes"]] == ["by_test"]
        assert ddb.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"
        assert said and said[-1].startswith(f"table {name} is ACTIVE; ")  # the states seen, with the time elapsed
        assert not hook.has_items(name)
        ddb.put_item(TableName=name, Item={"patient_id": {"S": "p"}, "sample_id": {"S": "s"}})
        assert hook.has_items(name)
        with pytest.raises(DdbS3Error, match=rf"^CreateTable '{name}' failed: ResourceInUseException"):
            hook.create_and_wait(create_request(name, schema), timeout=60)
    finally:
        ddb.delete_table(TableName=name)


@pytest.mark.integration
def test_create_and_wait_through_the_aws_session(local_stack: Any) -> None:
    """The hook's own client (from Aws, as restore makes it) reaches the same server."""
    from launcher.aws.session import Aws

    name = unique_name("hook")
    hook = DynamoDbHook(Aws())
    try:
        desc = hook.create_and_wait(dict(REQUEST, TableName=name), timeout=60)
        assert desc["TableStatus"] == "ACTIVE" and desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert hook.describe(name)["TableStatus"] == "ACTIVE"  # type: ignore[index]
    finally:
        hook.ddb.delete_table(TableName=name)


# --------------------------------------------------------------------------- a fake clock


def test_a_table_that_stays_creating_times_out_without_sleeping() -> None:
    hook, stub = stubbed_hook()
    fake = fake_clock()
    stub.add_response("create_table", {"TableDescription": {"TableName": "Tab", "TableStatus": "CREATING"}}, REQUEST)
    polls = 0
    for _ in range(31):  # every 2 s up to 60 s: polls at 0, 2, ..., 60
        stub.add_response("describe_table", table("CREATING"), {"TableName": "Tab"})
        polls += 1
    with stub, pytest.raises(WaitTimeout) as caught:
        hook.create_and_wait(REQUEST, clock=fake, timeout=60, every=2)
    stub.assert_no_pending_responses()
    assert str(caught.value) == "table 'Tab' becoming ACTIVE: not done after 1m00s"
    assert caught.value.last["TableStatus"] == "CREATING" and caught.value.seconds == 60
    assert sum(fake.slept) == 60 and len(fake.slept) == polls - 1 and max(fake.slept) <= 2


def test_a_table_not_found_just_after_create_table_is_waited_for() -> None:
    """DescribeTable may not know a table for a moment after CreateTable: that is not ACTIVE yet, not an error."""
    hook, stub = stubbed_hook()
    fake = fake_clock()
    stub.add_response("create_table", {"TableDescription": {"TableName": "Tab"}}, REQUEST)
    stub.add_client_error("describe_table", "ResourceNotFoundException", expected_params={"TableName": "Tab"})
    stub.add_response("describe_table", table("CREATING"), {"TableName": "Tab"})
    stub.add_response("describe_table", table("ACTIVE"), {"TableName": "Tab"})
    said: list[str] = []
    with stub:
        desc = hook.create_and_wait(REQUEST, clock=fake, timeout=600, every=0.5, say=said.append)
    stub.assert_no_pending_responses()
    assert desc["TableStatus"] == "ACTIVE" and fake.slept == [0.5, 0.5]
    assert said == [
        "table Tab is not found yet; 0m00s elapsed",
        "table Tab is CREATING; 0m00s elapsed",
        "table Tab is ACTIVE; 0m01s elapsed",
    ]


def test_errors_leave_the_hook_as_one_line() -> None:
    hook, stub = stubbed_hook()
    stub.add_client_error("describe_table", "AccessDeniedException", "User x is not authorized to perform: dynamodb:DescribeTable")
    stub.add_client_error("create_table", "LimitExceededException", "Too many tables\nbeing created")
    stub.add_client_error("scan", "AccessDeniedException", "no Scan")
    with stub:
        with pytest.raises(DdbS3Error, match=r"^DescribeTable 'Tab' failed: AccessDeniedException: User x is not authorized"):
            hook.describe("Tab")
        with pytest.raises(DdbS3Error) as caught:
            hook.create_and_wait(REQUEST, clock=fake_clock())
        assert str(caught.value) == "CreateTable 'Tab' failed: LimitExceededException: Too many tables being created"
        with pytest.raises(DdbS3Error, match=r"^Scan 'Tab' failed: AccessDeniedException"):
            hook.has_items("Tab")


def test_create_request_from_a_recorded_schema() -> None:
    schema = dict(LAB_SCHEMA, BillingMode="PROVISIONED", ProvisionedThroughput={"ReadCapacityUnits": 0, "WriteCapacityUnits": 0})
    request = create_request("X", schema)
    assert request["TableName"] == "X" and request["ProvisionedThroughput"] == {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    assert all(ix["ProvisionedThroughput"] == request["ProvisionedThroughput"] for ix in request["GlobalSecondaryIndexes"])
    on_demand = create_request("X", dict(LAB_SCHEMA, BillingMode="PAY_PER_REQUEST"))
    assert "ProvisionedThroughput" not in on_demand and "ProvisionedThroughput" not in on_demand["GlobalSecondaryIndexes"][0]
