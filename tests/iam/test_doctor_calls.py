"""`iam-policy --for doctor` grants exactly what `ddb-s3 doctor` calls (issue 23): every call doctor
makes on the local stack is recorded on the wire and evaluated against the printed document, as
test_policies_allow_recorded_calls.py does for the exports; a granted action no call used fails.

Proxies: dynalite (DynamoDB), moto (S3), and moto again for IAM, EC2 and Service Quotas through a
proxy that keeps response bodies (GetRole's Arn carries the role's path)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from test_policies_allow_recorded_calls import check, printed

from faults import FaultPlan, FaultProxy
from helpers import unique_name
from launcher.dev.localstack import FAKE_KEY_ID, LocalStack

pytestmark = pytest.mark.e2e
TRUST = '{"Version": "2012-10-17", "Statement": []}'
ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def proxies(local_stack: LocalStack) -> Iterator[tuple[FaultProxy, FaultProxy, FaultProxy]]:
    with (
        FaultProxy("dynamodb", local_stack.dynamodb_endpoint, FaultPlan()) as ddb,
        FaultProxy("s3", local_stack.s3_endpoint, FaultPlan()) as s3,
        FaultProxy("emr", local_stack.s3_endpoint, FaultPlan()) as others,
    ):
        yield ddb, s3, others


@pytest.fixture
def recording(proxies, monkeypatch) -> FaultPlan:
    plan = FaultPlan()
    ddb, s3, others = proxies
    for p in proxies:
        p.plan = plan
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", ddb.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.url)
    for service in ("IAM", "EC2", "SERVICE_QUOTAS"):
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service}", others.url)
    return plan


def direct(stack: LocalStack, service: str) -> Any:
    endpoint = stack.dynamodb_endpoint if service == "dynamodb" else stack.s3_endpoint
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")


def setup(stack: LocalStack) -> tuple[str, str]:
    """A table and a bucket, made behind the proxies' backs (setting up is not recorded)."""
    table, bucket = unique_name("doc"), unique_name("doc").lower()
    direct(stack, "dynamodb").create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    direct(stack, "s3").create_bucket(Bucket=bucket)
    return table, bucket


def doctor(*args: str) -> int:
    from launcher.cli import main

    try:
        main(["doctor", *args])
    except SystemExit as e:
        return int(e.code or 0)
    return 0


def evaluate_doctor(plan: FaultPlan, runner: str, table: str, bucket: str, *flags: str) -> set[str]:
    docs = printed(runner, table, bucket, "ddb", "--for", "doctor", *flags)
    assert set(docs) == {"doctor"}
    requests, _ = check(plan, {"launcher": (f"arn:aws:iam::{ACCOUNT}:role/ddb-s3-launcher", docs)}, {FAKE_KEY_ID: "launcher"})
    return {r.action for r in requests}


def test_doctor_for_emr_calls_only_what_its_policy_grants(local_stack, recording, capsys):
    table, bucket = setup(local_stack)
    iam, ec2 = direct(local_stack, "iam"), direct(local_stack, "ec2")
    service, nodes = unique_name("svc"), unique_name("nodes")
    iam.create_role(RoleName=service, Path="/service-role/", AssumeRolePolicyDocument=TRUST)  # found by name at its path
    iam.create_role(RoleName=nodes, AssumeRolePolicyDocument=TRUST)
    iam.create_instance_profile(InstanceProfileName=nodes)
    iam.add_role_to_instance_profile(InstanceProfileName=nodes, RoleName=nodes)
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.8.1.0/24")["Subnet"]["SubnetId"]
    common = [
        "--runner",
        "emr",
        "--table",
        table,
        "--to",
        f"s3://{bucket}/ddb",
        "--service-role",
        service,
        "--instance-profile",
        nodes,
        "--expected-bucket-owner",
        ACCOUNT,
        "--spot",
    ]
    doctor(*common, "--subnet-id", subnet)
    doctor(*common)  # the default VPC's subnets
    capsys.readouterr()
    actions = evaluate_doctor(recording, "emr", table, bucket, "--service-role", service, "--instance-profile", nodes)
    assert {
        "iam:GetRole",
        "iam:GetInstanceProfile",
        "ec2:DescribeVpcs",
        "ec2:DescribeSubnets",
        "ec2:DescribeRouteTables",
        "ec2:DescribeVpcEndpoints",
        "servicequotas:GetServiceQuota",
        "s3:GetBucketLocation",
        "s3:ListBucket",
        "dynamodb:DescribeTable",
    } == actions


@pytest.mark.parametrize("runner, flag", [("emr-serverless", "--execution-role"), ("glue", "--glue-role")])
def test_doctor_for_serverless_and_glue_calls_only_what_its_policy_grants(local_stack, recording, capsys, runner, flag):
    table, bucket = setup(local_stack)
    name = unique_name("job")
    arn = direct(local_stack, "iam").create_role(RoleName=name, Path="/service-role/", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    doctor("--runner", runner, "--table", table, "--to", f"s3://{bucket}/ddb", flag, arn)
    capsys.readouterr()
    actions = evaluate_doctor(recording, runner, table, bucket, "--job-role", arn)
    assert {"iam:GetRole", "s3:GetBucketLocation", "s3:ListBucket", "dynamodb:DescribeTable"} == actions
