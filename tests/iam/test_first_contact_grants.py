"""Issue 23: what only a fresh account shows, in the printed policies. Each case is a request AWS
makes of the caller on first contact, evaluated with the real IAM evaluator (tests/iam/evaluate.mjs)
against what `ddb-s3 iam-policy` prints; the structural ones need no node."""

from __future__ import annotations

import pytest
from calls import IamRequest, evaluate

from launcher.aws.iam_policies import policies
from launcher.core.errors import BadInput

ACCOUNT, REGION = "123456789012", "eu-west-1"
IAM = f"arn:aws:iam::{ACCOUNT}:"
CLUSTER = f"arn:aws:elasticmapreduce:{REGION}:{ACCOUNT}:cluster/j-1"
EMR_SLR = IAM + "role/aws-service-role/elasticmapreduce.amazonaws.com/AWSServiceRoleForEMRCleanup"
SLS_SLR = IAM + "role/aws-service-role/ops.emr-serverless.amazonaws.com/AWSServiceRoleForAmazonEMRServerless"


def decide(runner: str, requests: list[IamRequest], region: str = REGION, doc: str = "launcher", **kw) -> list[str]:
    docs = policies(runner, "LabResults", "lab-backups", "ddb", region, ACCOUNT, **kw)
    principals = {"launcher": (IAM + "role/launcher", {doc: docs[doc]})}
    return [d.decision for d in evaluate(requests, principals, ACCOUNT)]


def launcher(action: str, resource: str, **context) -> IamRequest:
    return IamRequest("launcher", action, resource, context)


@pytest.mark.e2e
def test_the_first_cluster_and_the_first_application_may_create_their_service_linked_role():
    emr = decide(
        "emr",
        [
            launcher("iam:CreateServiceLinkedRole", EMR_SLR, **{"iam:AWSServiceName": "elasticmapreduce.amazonaws.com"}),
            launcher("iam:CreateServiceLinkedRole", EMR_SLR, **{"iam:AWSServiceName": "glue.amazonaws.com"}),
            launcher(
                "iam:CreateServiceLinkedRole",
                IAM + "role/aws-service-role/x.amazonaws.com/Other",
                **{"iam:AWSServiceName": "elasticmapreduce.amazonaws.com"},
            ),
        ],
    )
    assert emr == ["Allowed", "ImplicitlyDenied", "ImplicitlyDenied"]
    sls = decide(
        "emr-serverless", [launcher("iam:CreateServiceLinkedRole", SLS_SLR, **{"iam:AWSServiceName": "ops.emr-serverless.amazonaws.com"})]
    )
    assert sls == ["Allowed"]


@pytest.mark.e2e
def test_run_job_flow_may_attach_its_auto_termination_policy():
    assert decide(
        "emr",
        [
            launcher("elasticmapreduce:PutAutoTerminationPolicy", CLUSTER),
            launcher("elasticmapreduce:GetAutoTerminationPolicy", CLUSTER),
            launcher("elasticmapreduce:RemoveAutoTerminationPolicy", CLUSTER),
        ],
    ) == ["Allowed", "Allowed", "ImplicitlyDenied"]


@pytest.mark.e2e
def test_the_instance_role_may_be_passed_to_ec2_in_china_too():
    cn = "arn:aws-cn:iam::123456789012:role/"
    got = decide(
        "emr",
        [
            launcher("iam:PassRole", cn + "EMR_EC2_DefaultRole", **{"iam:PassedToService": "ec2.amazonaws.com.cn"}),
            launcher("iam:PassRole", cn + "EMR_DefaultRole", **{"iam:PassedToService": "elasticmapreduce.amazonaws.com.cn"}),
            launcher("iam:PassRole", cn + "EMR_EC2_DefaultRole", **{"iam:PassedToService": "glue.amazonaws.com"}),
        ],
        region="cn-north-1",
    )
    assert got == ["Allowed", "Allowed", "ImplicitlyDenied"]


@pytest.mark.e2e
@pytest.mark.parametrize(
    "runner, flag, service",
    [
        ("emr", "service_role", "elasticmapreduce.amazonaws.com"),
        ("emr", "instance_role", "ec2.amazonaws.com"),
        ("emr-serverless", "job_role", "emr-serverless.amazonaws.com"),
        ("glue", "job_role", "glue.amazonaws.com"),
    ],
)
def test_a_role_under_a_path_given_as_its_arn_is_the_role_passed(runner, flag, service):
    arn = IAM + "role/service-role/exporter"
    got = decide(
        runner,
        [
            launcher("iam:PassRole", arn, **{"iam:PassedToService": service}),
            launcher("iam:PassRole", IAM + "role/exporter", **{"iam:PassedToService": service}),
        ],
        **{flag: arn},
    )
    assert got == ["Allowed", "ImplicitlyDenied"]


@pytest.mark.e2e
def test_doctor_may_look_a_role_up_by_name_wherever_its_path_is():
    """`iam-policy --for doctor`: read-only, and the roles found at any path (the PassRole stays in
    the run's policy, at the path it was printed for)."""
    doctor = {"doc": "doctor", "purpose": "doctor"}
    got = decide(
        "emr-serverless",
        [
            launcher("iam:GetRole", IAM + "role/service-role/ddb-s3-serverless-job"),
            launcher("iam:GetRole", IAM + "role/ddb-s3-serverless-job"),
            launcher("iam:GetRole", SLS_SLR),
            launcher("iam:GetRole", IAM + "role/other-role"),
            launcher(
                "iam:PassRole", IAM + "role/service-role/ddb-s3-serverless-job", **{"iam:PassedToService": "emr-serverless.amazonaws.com"}
            ),
        ],
        **doctor,
    )
    assert got == ["Allowed", "Allowed", "Allowed", "ImplicitlyDenied", "ImplicitlyDenied"]
    emr = decide(
        "emr",
        [
            launcher("iam:GetInstanceProfile", IAM + "instance-profile/nodes/EMR_EC2_DefaultRole"),
            launcher("iam:GetInstanceProfile", IAM + "instance-profile/exporter-nodes"),
            launcher("ec2:DescribeRouteTables", "*"),
            launcher("servicequotas:GetServiceQuota", f"arn:aws:servicequotas:{REGION}:{ACCOUNT}:ec2/L-1216C47A"),
            launcher("s3:GetBucketLocation", "arn:aws:s3:::lab-backups"),
            launcher("elasticmapreduce:RunJobFlow", "*"),
        ],
        **doctor,
    )
    assert emr == ["Allowed", "ImplicitlyDenied", "Allowed", "Allowed", "Allowed", "ImplicitlyDenied"]
    named = decide(
        "emr", [launcher("iam:GetInstanceProfile", IAM + "instance-profile/exporter-nodes")], instance_profile="exporter-nodes", **doctor
    )
    assert named == ["Allowed"]


@pytest.mark.unit
@pytest.mark.parametrize(
    "kw, flag",
    [
        ({"service_role": "arn:aws:iam::123456789012:role/"}, "--service-role"),
        ({"service_role": "arn:aws:iam::123456789012:role//x"}, "--service-role"),
        ({"job_role": "arn:aws:iam::123456789012:role/a/"}, "--job-role"),
        ({"instance_profile": "arn:aws:iam::123456789012:role/x"}, "--instance-profile"),
    ],
)
def test_a_malformed_role_arn_is_bad_input_naming_its_flag(kw, flag):
    with pytest.raises(BadInput, match=flag):
        policies("emr", "LabResults", "lab-backups", "ddb", REGION, ACCOUNT, **kw)


@pytest.mark.unit
def test_the_doctor_policy_is_read_only_and_for_the_cloud_runners_only():
    from launcher.aws.iam_policies import actions

    for runner in ("emr", "emr-serverless", "glue"):
        (doc,) = policies(runner, "LabResults", "lab-backups", "ddb", REGION, ACCOUNT, purpose="doctor").values()
        verbs = {a.split(":")[1] for a in actions(doc)}
        assert all(v.startswith(("Get", "Describe", "List")) for v in verbs), verbs
    with pytest.raises(BadInput, match="--for doctor"):
        policies("local", "LabResults", "lab-backups", "ddb", purpose="doctor")
