"""Defects found by reading the rendered EMR requests and the printed IAM policies against AWS's
documentation (issue 13), each with a check that failed before its fix."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from helpers import EMR_TABLE, emr_plan, plan_for
from launcher.aws.iam_policies import actions, policies
from launcher.aws.s3 import check_bucket
from launcher.core.errors import BadInput
from launcher.core.s3args import S3WriteSettings
from launcher.export.render import Target, render_export

pytestmark = pytest.mark.unit


def statements(doc, action):
    return [s for s in doc["Statement"] if action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]


def test_run_job_flow_carries_the_tags_the_policy_requires():
    """Every aws:RequestTag condition on RunJobFlow and AddTags names a tag the request sends, with its value."""
    launcher = policies("emr", "LabResults", "lab-backups", "ddb")["launcher"]
    sent = {t["Key"]: t["Value"] for t in render_export(emr_plan(), Target.emr("s3://lab-backups/a")).run_job_flow["Tags"]}
    for action in ("elasticmapreduce:RunJobFlow", "elasticmapreduce:AddTags"):
        (st,) = statements(launcher, action)
        required = {k.removeprefix("aws:RequestTag/"): v for k, v in st["Condition"]["StringEquals"].items()}
        assert required and all(sent.get(k) == v for k, v in required.items()), (action, required, sent)


def test_launcher_may_list_clusters_and_end_only_its_own():
    launcher = policies("emr", "LabResults", "lab-backups", "ddb")["launcher"]
    assert "elasticmapreduce:ListClusters" in actions(launcher)  # clusters list, cleanup after an interrupted start
    assert "elasticmapreduce:CancelSteps" not in actions(launcher)  # never called
    (end,) = statements(launcher, "elasticmapreduce:TerminateJobFlows")
    assert end["Condition"] == {"StringEquals": {"aws:ResourceTag/ddb-s3:managed": "true"}}


def test_bucket_check_lists_the_export_prefix_the_policy_allows():
    """HeadBucket needs s3:ListBucket without a prefix, which the policies do not grant: the check
    lists the export's prefix instead, which their s3:prefix condition allows."""
    (listing,) = statements(policies("local", "LabResults", "lab-backups", "ddb")["local"], "s3:ListBucket")
    assert listing["Condition"]["StringLike"]["s3:prefix"] == ["ddb", "ddb/*"]
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    stub.add_response(
        "list_objects_v2", {"KeyCount": 0}, {"Bucket": "lab-backups", "Prefix": "ddb/", "MaxKeys": 1, "ExpectedBucketOwner": "123456789012"}
    )
    stub.add_client_error("list_objects_v2", "NoSuchBucket", http_status_code=404)

    class FakeAws:
        def client(self, _service):
            return client

    with stub:
        check_bucket(FakeAws(), "lab-backups", "ddb/", S3WriteSettings("123456789012"))  # type: ignore[arg-type]
        with pytest.raises(BadInput, match="bucket 'lab-backups' does not exist"):
            check_bucket(FakeAws(), "lab-backups", "ddb/", S3WriteSettings())  # type: ignore[arg-type]
    stub.assert_no_pending_responses()


def test_bootstrap_only_options_are_refused_for_an_existing_cluster():
    """Steps on an existing cluster pointed --jars at a path only our bootstrap action creates."""
    for flags in ({"connector_version": "5.0.0"}, {"python_packages": "boto3==1.42.97"}):
        with pytest.raises(BadInput, match="installed by bootstrap actions"):
            emr_plan(cluster="j-1ABCDEF", **flags)
    assert emr_plan(connector_version="5.0.0").cluster.connector_version == "5.0.0"  # transient: fine


def test_step_names_fit_emr_s_limit():
    long_name = "t" * 255  # a legal DynamoDB table name
    plan = plan_for(EMR_TABLE | {"TableName": long_name}, runner="emr")
    for step in render_export(plan, Target.emr("s3://lab-backups/a")).steps:
        assert len(step["Name"]) <= 256
