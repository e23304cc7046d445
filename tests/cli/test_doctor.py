"""`ddb-s3 doctor` (issue 23): the verdicts on what AWS answers (pure), then the command on the local
stack (moto's IAM, EC2 and Service Quotas, dynalite): a ready account, a missing role, a role under
/service-role/ given by name, an account without a default VPC.

moto serves Service Quotas for the service code vpc only: the EC2 vCPU quota is "not checked" here,
with moto's answer as the reason (on AWS, GetServiceQuota ec2 L-1216C47A answers). moto names the
service-linked roles it creates AWSServiceRoleFor<service>, not AWS's names: the tests create them
with AWS's names and paths (create_role)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from helpers import unique_name
from launcher.aws import preflight
from launcher.aws.preflight import MISSING, NOT_CHECKED, NOTE, OK, Finding

ACCOUNT = "123456789012"
REGION = "eu-west-1"
TRUST = '{"Version": "2012-10-17", "Statement": []}'  # trusts no one (roles doctor only looks up)


def trust(service: str) -> str:
    return (
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", '
        f'"Principal": {{"Service": "{service}"}}}}]}}'
    )


# --------------------------------------------------------------------------- verdicts (no AWS)


def role(name: str, path: str = "/") -> dict[str, Any]:
    return {"RoleName": name, "Path": path, "Arn": f"arn:aws:iam::{ACCOUNT}:role{path}{name}"}


@pytest.mark.unit
def test_a_role_must_trust_the_service_that_assumes_it():
    import json

    assert preflight.trusts(json.loads(trust("glue.amazonaws.com")), "glue.amazonaws.com")
    assert preflight.trusts(trust("glue.amazonaws.com"), "glue.amazonaws.com")  # the wire's URL-encoded text, decoded
    assert preflight.trusts(
        {
            "Statement": [
                {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Principal": {"Service": ["ec2.amazonaws.com.cn"]}}
            ]
        },
        "ec2.amazonaws.com",
    )
    assert not preflight.trusts(json.loads(trust("ec2.amazonaws.com")), "glue.amazonaws.com")
    assert not preflight.trusts(
        {"Statement": [{"Effect": "Deny", "Action": "sts:AssumeRole", "Principal": {"Service": "glue.amazonaws.com"}}]},
        "glue.amazonaws.com",
    )
    assert not preflight.trusts(
        {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}]},
        "glue.amazonaws.com",
    )
    found = dict(role("g"), AssumeRolePolicyDocument=json.loads(trust("ec2.amazonaws.com")))
    verdict = preflight.trust_verdict("--glue-role", found)
    assert verdict is not None and verdict.status == MISSING and "does not trust glue.amazonaws.com" in verdict.message
    assert preflight.trust_verdict("--service-role", dict(found, AssumeRolePolicyDocument=trust("elasticmapreduce.amazonaws.com"))) is None


@pytest.mark.unit
def test_a_role_by_name_is_ok_only_at_the_path_slash():
    assert preflight.role_verdict("--glue-role", "g", role("g")).status == OK
    under = preflight.role_verdict("--glue-role", "g", role("g", "/service-role/"))
    assert under.status == MISSING and f"--glue-role arn:aws:iam::{ACCOUNT}:role/service-role/g" in under.message
    assert preflight.role_verdict("--glue-role", f"arn:aws:iam::{ACCOUNT}:role/service-role/g", role("g", "/service-role/")).status == OK
    wrong = preflight.role_verdict("--glue-role", f"arn:aws:iam::{ACCOUNT}:role/g", role("g", "/service-role/"))
    assert wrong.status == MISSING and "is not the role's ARN" in wrong.message
    gone = preflight.role_verdict("--execution-role", "job", None)
    assert (
        gone.status == MISSING
        and gone.line() == "missing     role: job not found: create it, or pass --execution-role with an existing role's name or ARN"
    )


@pytest.mark.unit
def test_an_instance_profile_whose_role_has_another_name_says_which_policy_to_print():
    profile = {
        "InstanceProfileName": "nodes",
        "Arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/nodes",
        "Roles": [dict(role("exporter-nodes", "/emr/"), AssumeRolePolicyDocument=trust("ec2.amazonaws.com"))],
    }
    got = preflight.profile_verdict("nodes", profile)
    assert [f.status for f in got] == [OK, NOTE]
    assert f"--instance-profile nodes --instance-role arn:aws:iam::{ACCOUNT}:role/emr/exporter-nodes" in got[1].message
    assert preflight.profile_verdict("nodes", dict(profile, Roles=[]))[0].status == MISSING
    untrusted = preflight.profile_verdict("nodes", dict(profile, Roles=[role("exporter-nodes", "/emr/")]))
    assert untrusted[0].status == MISSING and "does not trust ec2.amazonaws.com" in untrusted[0].message
    assert preflight.profile_verdict("nodes", None)[0].status == MISSING


SUBNET = {
    "SubnetId": "subnet-1",
    "VpcId": "vpc-1",
    "AvailabilityZone": "eu-west-1a",
    "Tags": [{"Key": "for-use-with-amazon-emr-managed-policies", "Value": "true"}],
}
MAIN = {
    "RouteTableId": "rtb-main",
    "VpcId": "vpc-1",
    "Associations": [{"Main": True}],
    "Routes": [{"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local"}],
}


@pytest.mark.unit
@pytest.mark.parametrize(
    "routes, endpoints, statuses, words",
    [
        ([], [], [MISSING], "no route to S3 and DynamoDB (route table rtb-main)"),
        ([{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1"}], [], [OK], "internet gateway igw-1"),
        ([{"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1"}], [], [OK], "NAT gateway nat-1"),
        ([], ["s3"], [MISSING], "no route to DynamoDB"),
        ([], ["s3", "dynamodb"], [OK, NOTE], "gateway endpoint vpce-s3"),
    ],
)
def test_a_subnet_reaches_s3_and_dynamodb_by_a_default_route_or_gateway_endpoints(routes, endpoints, statuses, words):
    table = dict(MAIN, Routes=MAIN["Routes"] + routes)
    eps = [
        {
            "VpcEndpointId": f"vpce-{s}",
            "ServiceName": f"com.amazonaws.{REGION}.{s}",
            "VpcEndpointType": "Gateway",
            "RouteTableIds": ["rtb-main"],
        }
        for s in endpoints
    ]
    got = preflight.subnet_verdict(SUBNET, [table], eps, REGION)
    assert [f.status for f in got] == statuses and words in got[0].message, got


@pytest.mark.unit
def test_a_subnet_s_own_route_table_wins_over_the_main_one_and_the_v2_tag_is_noted():
    own = {"RouteTableId": "rtb-own", "VpcId": "vpc-1", "Associations": [{"SubnetId": "subnet-1"}], "Routes": []}
    main = dict(MAIN, Routes=[{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1"}])
    assert preflight.route_table_of(SUBNET, [main, own]) is own
    assert preflight.subnet_verdict(SUBNET, [main, own], [], REGION)[0].status == MISSING
    untagged = preflight.subnet_verdict(dict(SUBNET, Tags=[]), [main], [], REGION)
    assert [f.status for f in untagged] == [OK, NOTE] and "for-use-with-amazon-emr-managed-policies=true" in untagged[1].message


@pytest.mark.unit
def test_the_quota_against_the_cluster():
    assert preflight.quota_verdict("L-1216C47A", "On-Demand", 12, 5.0).status == MISSING
    assert "--desired-value 12" in preflight.quota_verdict("L-1216C47A", "On-Demand", 12, 5.0).message
    assert preflight.quota_verdict("L-1216C47A", "On-Demand", 12, 64.0).status == OK
    assert preflight.quota_verdict("L-1216C47A", "On-Demand", 12, None, "NoSuchResourceException").status == NOT_CHECKED


@pytest.mark.unit
def test_the_target_is_the_export_s_cluster_and_roles():
    from launcher.cli.doctor import target
    from launcher.core.errors import BadInput
    from launcher.options import ExportRequest

    def req(**flags: Any) -> Any:
        return ExportRequest.build({"table": "LabResults", "to": "s3://lab-backups/ddb", **flags}, environ={})

    emr = target(req(runner="emr", instance_type="m5.xlarge", core_nodes=3), REGION)
    assert (emr.on_demand_vcpus, emr.spot_vcpus, emr.roles) == (16, 0, (("--service-role", "EMR_DefaultRole"),))
    spot = target(req(runner="emr", core_nodes=3, spot=True), REGION)
    assert (spot.on_demand_vcpus, spot.spot_vcpus) == (4, 12)
    assert target(req(runner="glue"), REGION).roles == (("--glue-role", "ddb-s3-glue-job"),)
    with pytest.raises(BadInput, match=re.escape("doctor checks an account for a cloud runner: give --runner emr|emr-serverless|glue")):
        target(req(runner="local"), REGION)


# --------------------------------------------------------------------------- on the local stack


@pytest.fixture
def aws_env(local_stack) -> Any:
    """moto serves IAM, EC2 and Service Quotas on its one port, beside S3: the stack's environment
    points them there (tests/dev/test_localstack.py)."""
    return local_stack


def client(service: str, region: str | None = None) -> Any:
    return boto3.client(service, region_name=region) if region else boto3.client(service)


def doctor(capsys, *args: str) -> tuple[int, list[str], str]:
    from launcher.cli import main

    code = 0
    try:
        main(["doctor", *args])
    except SystemExit as e:
        code = int(e.code or 0)
    captured = capsys.readouterr()
    return code, captured.out.strip().splitlines(), captured.err


def ensure_service_linked_role(runner: str) -> None:
    from launcher.aws.iam_policies import SERVICE_LINKED_ROLES

    service, name = SERVICE_LINKED_ROLES[runner]
    with contextlib.suppress(client("iam").exceptions.EntityAlreadyExistsException):
        client("iam").create_role(RoleName=name, Path=f"/aws-service-role/{service}/", AssumeRolePolicyDocument=TRUST)


@contextlib.contextmanager
def ready_subnet(region: str) -> Iterator[str]:
    """A subnet whose route table sends 0.0.0.0/0 to an internet gateway, tagged for the v2 policies."""
    ec2 = client("ec2", region)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    ec2.create_tags(Resources=[subnet], Tags=[{"Key": "for-use-with-amazon-emr-managed-policies", "Value": "true"}])
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    yield subnet


def emr_roles() -> tuple[str, str]:
    iam = client("iam")
    service, nodes = unique_name("emr-svc"), unique_name("emr-nodes")
    iam.create_role(RoleName=service, AssumeRolePolicyDocument=trust("elasticmapreduce.amazonaws.com"))
    iam.create_role(RoleName=nodes, AssumeRolePolicyDocument=trust("ec2.amazonaws.com"))
    iam.create_instance_profile(InstanceProfileName=nodes)
    iam.add_role_to_instance_profile(InstanceProfileName=nodes, RoleName=nodes)
    ensure_service_linked_role("emr")
    return service, nodes


def test_a_ready_account_for_emr_is_all_ok(aws_env, fresh_table, bucket, capsys):
    table = fresh_table()
    service, nodes = emr_roles()
    region = boto3.session.Session().region_name
    with ready_subnet(region) as subnet:
        code, lines, err = doctor(
            capsys,
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
            "--subnet-id",
            subnet,
        )
    assert code == 0, (lines, err)
    assert not [line for line in lines if line.startswith(MISSING)], lines
    for subject in ("table", "bucket", "role", "service-linked role", "instance profile", "subnet"):
        assert any(line.startswith("ok") and f" {subject}: " in line for line in lines), (subject, lines)
    (quota,) = [line for line in lines if "quota L-1216C47A" in line]
    # moto serves no EC2 quota: said so, with its answer, and nothing is claimed about the quota
    assert quota.startswith("not checked quota L-1216C47A") and "NoSuchResourceException" in quota, quota


def test_a_missing_role_is_one_line_and_exit_1(aws_env, fresh_table, bucket, capsys):
    table = fresh_table()
    ensure_service_linked_role("emr-serverless")
    gone = unique_name("no-such-role")
    code, lines, err = doctor(
        capsys, "--runner", "emr-serverless", "--table", table, "--to", f"s3://{bucket}/ddb", "--execution-role", gone
    )
    assert code == 1, (lines, err)
    assert f"missing     role: {gone} not found: create it, or pass --execution-role with an existing role's name or ARN" in lines
    assert err.strip().splitlines()[-1] == "ddb-s3: doctor: 1 missing (role): fix them and run doctor again"


def test_a_role_under_service_role_given_by_name_is_missing_and_its_arn_is_ok(aws_env, fresh_table, bucket, capsys):
    table = fresh_table()
    name = unique_name("AWSGlueServiceRole")
    arn = client("iam").create_role(RoleName=name, Path="/service-role/", AssumeRolePolicyDocument=trust("glue.amazonaws.com"))["Role"][
        "Arn"
    ]
    assert "/service-role/" in arn
    code, lines, _ = doctor(capsys, "--runner", "glue", "--table", table, "--to", f"s3://{bucket}/ddb", "--glue-role", name)
    assert code == 1
    (line,) = [x for x in lines if " role: " in x]
    assert line.startswith("missing") and "path /service-role/" in line and f"pass --glue-role {arn}" in line, line
    code, lines, _ = doctor(capsys, "--runner", "glue", "--table", table, "--to", f"s3://{bucket}/ddb", "--glue-role", arn)
    assert code == 0 and f"ok          role: {arn} (--glue-role)" in lines, lines


NO_DEFAULT_VPC_REGION = "ap-southeast-2"  # its default VPC is deleted for the session: no other test uses the region


def test_no_default_vpc_and_no_subnet_id_is_missing(aws_env, fresh_table, bucket, capsys):
    ec2 = client("ec2", NO_DEFAULT_VPC_REGION)
    for vpc in ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]:
        v = vpc["VpcId"]
        for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [v]}])["Subnets"]:
            ec2.delete_subnet(SubnetId=s["SubnetId"])
        for g in ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [v]}])["InternetGateways"]:
            ec2.detach_internet_gateway(InternetGatewayId=g["InternetGatewayId"], VpcId=v)
            ec2.delete_internet_gateway(InternetGatewayId=g["InternetGatewayId"])
        ec2.delete_vpc(VpcId=v)
    table = fresh_table()
    service, nodes = emr_roles()
    code, lines, _ = doctor(
        capsys,
        "--runner",
        "emr",
        "--region",
        NO_DEFAULT_VPC_REGION,
        "--table",
        table,
        "--to",
        f"s3://{bucket}/ddb",
        "--service-role",
        service,
        "--instance-profile",
        nodes,
    )
    assert code == 1
    (line,) = [x for x in lines if " subnet: " in x]
    assert line.startswith("missing") and f"no --subnet-id and no default VPC in {NO_DEFAULT_VPC_REGION}" in line, line


def test_the_default_vpc_without_a_route_out_is_missing_per_subnet(aws_env, fresh_table, bucket, capsys):
    """moto's default VPC has no internet gateway: each default subnet is named as lacking a route."""
    table = fresh_table()
    service, nodes = emr_roles()
    code, lines, _ = doctor(
        capsys, "--runner", "emr", "--table", table, "--to", f"s3://{bucket}/ddb", "--service-role", service, "--instance-profile", nodes
    )
    subnets = [x for x in lines if " subnet: " in x]
    assert code == 1 and subnets[0].startswith("note") and "no --subnet-id" in subnets[0], lines
    assert subnets[1:] and all(x.startswith("missing") and "no route to S3 and DynamoDB" in x for x in subnets[1:]), subnets


def test_findings_as_json(aws_env, fresh_table, bucket, capsys):
    import json

    table = fresh_table()
    code, lines, _ = doctor(
        capsys, "--runner", "glue", "--table", table, "--to", f"s3://{bucket}/ddb", "--glue-role", unique_name("absent"), "--json"
    )
    found = json.loads("\n".join(lines))
    assert code == 1 and {"status", "subject", "message"} == set(found[0])
    assert [f["subject"] for f in found if f["status"] == MISSING] == ["role"]
    assert Finding(**found[0]).line().startswith("ok")
