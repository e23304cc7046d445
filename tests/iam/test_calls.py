"""tests/iam/calls.py: each rule that turns a recorded call into IAM requests (pure; the evaluator
itself is tested beside the scenarios, in test_policies_allow_recorded_calls.py: it needs node)."""

from __future__ import annotations

import json

import pytest
from calls import (
    Decision,
    IamRequest,
    Scope,
    cluster_tags,
    dynamodb_requests,
    emr_requests,
    granted,
    iam_requests,
    s3_api_operation,
    s3_requests,
    signer,
    stream_iterators,
    streams_requests,
    used,
)

from faults.proxy import Seen

pytestmark = pytest.mark.unit
ACCOUNT, REGION = "123456789012", "eu-west-1"
SCOPE = Scope(ACCOUNT, REGION, {"AKIALAUNCHER": "launcher", "ASIANODE": "instance_role"})
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/LabResults"
CLUSTER_ARN = f"arn:aws:elasticmapreduce:{REGION}:{ACCOUNT}:cluster/"


def auth(key: str = "AKIALAUNCHER", service: str = "s3", region: str = REGION) -> dict[str, str]:
    return {
        "authorization": f"AWS4-HMAC-SHA256 Credential={key}/20261127/{region}/{service}/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=00"
    }


def s3(method: str, path: str, headers: dict | None = None, body: bytes = b"", status: int = 200):
    return s3_requests(method, path, {**auth(), **(headers or {})}, body, status, SCOPE)


# --------------------------------------------------------------------------- signatures


def test_signer_reads_the_credential_scope_of_a_header_or_a_presigned_url():
    assert signer(auth("ASIANODE", "dynamodb")) == ("ASIANODE", REGION, "dynamodb")
    presigned = "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIALAUNCHER%2F20261127%2Feu-west-1%2Fs3%2Faws4_request"
    assert signer({}, presigned) == ("AKIALAUNCHER", REGION, "s3")
    assert signer({"authorization": "AWS AKIA:sig"}) is None  # SigV2 or anything else: not guessed


# --------------------------------------------------------------------------- S3


@pytest.mark.parametrize(
    "method, path, headers, op",
    [
        ("GET", "/b/p/k", {}, "GetObject"),
        ("GET", "/b/p/k?x-id=GetObject", {}, "GetObject"),
        ("HEAD", "/b/p/k", {}, "HeadObject"),
        ("PUT", "/b/p/k", {}, "PutObject"),
        ("PUT", "/b/p/k", {"x-amz-copy-source": "/b/src"}, "CopyObject"),
        ("POST", "/b/p/k?uploads", {}, "CreateMultipartUpload"),
        ("PUT", "/b/p/k?partNumber=1&uploadId=u", {}, "UploadPart"),
        ("PUT", "/b/p/k?partNumber=1&uploadId=u", {"x-amz-copy-source": "b/src"}, "UploadPartCopy"),
        ("POST", "/b/p/k?uploadId=u", {}, "CompleteMultipartUpload"),
        ("DELETE", "/b/p/k?uploadId=u", {}, "AbortMultipartUpload"),
        ("GET", "/b/p/k?uploadId=u", {}, "ListParts"),
        ("DELETE", "/b/p/k", {}, "DeleteObject"),
        ("POST", "/b?delete", {}, "DeleteObjects"),
        ("GET", "/b/p/k?attributes", {}, "GetObjectAttributes"),
        ("GET", "/b?list-type=2&prefix=p%2F&max-keys=1", {}, "ListObjectsV2"),
        ("GET", "/b?prefix=p%2F", {}, "ListObjects"),
        ("GET", "/b?versions&prefix=p", {}, "ListObjectVersions"),
        ("GET", "/b?uploads", {}, "ListMultipartUploads"),
        ("GET", "/b?location", {}, "GetBucketLocation"),
        ("HEAD", "/b", {}, "HeadBucket"),
        ("PUT", "/b", {}, "CreateBucket"),
        ("GET", "/", {}, "ListBuckets"),
        ("GET", "/b?policy", {}, None),  # bucket sub-resources are not guessed
        ("PUT", "/b/p/k?retention", {}, None),
    ],
)
def test_s3_operation_of_a_path_style_request(method, path, headers, op):
    assert s3_api_operation(method, path, headers) == op


def test_s3_object_reads_and_writes():
    assert s3("GET", "/b/p/a%20b.json.gz") == [("s3:GetObject", "arn:aws:s3:::b/p/a b.json.gz", {})]
    assert s3("HEAD", "/b/p/k") == [("s3:GetObject", "arn:aws:s3:::b/p/k", {})]
    assert s3("GET", "/b/p/k?versionId=3") == [("s3:GetObjectVersion", "arn:aws:s3:::b/p/k", {})]
    sse = {"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:k"}
    assert s3("PUT", "/b/p/k", sse) == [
        (
            "s3:PutObject",
            "arn:aws:s3:::b/p/k",
            {"s3:x-amz-server-side-encryption": "aws:kms", "s3:x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:k"},
        )
    ]
    assert s3("PUT", "/b/p/k", {"x-amz-acl": "bucket-owner-full-control"})[1] == (
        "s3:PutObjectAcl",
        "arn:aws:s3:::b/p/k",
        {"s3:x-amz-acl": "bucket-owner-full-control"},
    )
    assert [a for a, _, _ in s3("PUT", "/b/p/k", {"x-amz-tagging": "a=b"})] == ["s3:PutObject", "s3:PutObjectTagging"]


def test_s3_a_missing_object_also_asks_for_list_bucket():
    """S3 answers 404 only to a caller allowed s3:ListBucket; anyone else gets 403."""
    assert s3("HEAD", "/b/p/k", status=404) == [("s3:GetObject", "arn:aws:s3:::b/p/k", {}), ("s3:ListBucket", "arn:aws:s3:::b", {})]


def test_s3_multipart_uploads_are_put_object():
    obj = "arn:aws:s3:::b/p/k"
    assert s3("POST", "/b/p/k?uploads", {"x-amz-server-side-encryption": "AES256"}) == [
        ("s3:PutObject", obj, {"s3:x-amz-server-side-encryption": "AES256"})
    ]
    assert s3("PUT", "/b/p/k?partNumber=2&uploadId=u") == [("s3:PutObject", obj, {})]
    assert s3("POST", "/b/p/k?uploadId=u") == [("s3:PutObject", obj, {})]
    assert s3("DELETE", "/b/p/k?uploadId=u") == [("s3:AbortMultipartUpload", obj, {})]
    assert s3("GET", "/b/p/k?uploadId=u") == [("s3:ListMultipartUploadParts", obj, {})]


def test_s3_copy_reads_the_source_and_writes_the_target():
    assert s3("PUT", "/b/p/new", {"x-amz-copy-source": "/other/src%2Fk?versionId=1"}) == [
        ("s3:PutObject", "arn:aws:s3:::b/p/new", {}),
        ("s3:GetObject", "arn:aws:s3:::other/src/k", {}),
    ]


def test_s3_delete_objects_is_delete_object_on_every_key():
    body = (
        b'<?xml version="1.0"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>p/a</Key></Object>'
        b"<Object><Key>p/b</Key></Object><Quiet>true</Quiet></Delete>"
    )
    assert s3("POST", "/b?delete", body=body) == [
        ("s3:DeleteObject", "arn:aws:s3:::b/p/a", {}),
        ("s3:DeleteObject", "arn:aws:s3:::b/p/b", {}),
    ]
    assert s3("DELETE", "/b/p/k") == [("s3:DeleteObject", "arn:aws:s3:::b/p/k", {})]


def test_s3_get_object_attributes_needs_both_actions():
    assert [a for a, _, _ in s3("GET", "/b/p/k?attributes")] == ["s3:GetObject", "s3:GetObjectAttributes"]


def test_s3_listings_carry_their_prefix():
    assert s3("GET", "/b?list-type=2&prefix=p%2FAWSDynamoDB%2F&max-keys=1") == [
        ("s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "p/AWSDynamoDB/", "s3:max-keys": "1"})
    ]
    assert s3("GET", "/b?list-type=2&delimiter=%2F") == [("s3:ListBucket", "arn:aws:s3:::b", {"s3:delimiter": "/"})]
    assert s3("GET", "/b?list-type=2&prefix=") == [("s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": ""})]
    assert s3("HEAD", "/b") == [("s3:ListBucket", "arn:aws:s3:::b", {})]  # HeadBucket: no s3:prefix at all
    assert s3("GET", "/b?versions&prefix=p") == [("s3:ListBucketVersions", "arn:aws:s3:::b", {"s3:prefix": "p"})]
    assert s3("GET", "/b?uploads") == [("s3:ListBucketMultipartUploads", "arn:aws:s3:::b", {})]
    assert s3("GET", "/b?location") == [("s3:GetBucketLocation", "arn:aws:s3:::b", {})]
    assert s3("GET", "/") == [("s3:ListAllMyBuckets", "*", {})]


def test_s3_unknown_requests_are_problems():
    assert isinstance(s3("GET", "/b?policy"), str)
    assert isinstance(s3("POST", "/b/p/k?select&select-type=2"), str)


# --------------------------------------------------------------------------- DynamoDB


def test_dynamodb_table_operations():
    for op in ("DescribeTable", "DescribeContinuousBackups", "Scan", "GetItem", "PutItem", "CreateTable"):
        assert dynamodb_requests(op, {"TableName": "LabResults"}, {}, SCOPE) == [("dynamodb:" + op, TABLE_ARN, {})]
    assert dynamodb_requests("Scan", {"TableName": "LabResults", "IndexName": "by_test"}, {}, SCOPE) == [
        ("dynamodb:Scan", TABLE_ARN + "/index/by_test", {})
    ]
    assert isinstance(dynamodb_requests("Scan", {}, {}, SCOPE), str)
    assert isinstance(dynamodb_requests("TransactWriteItems", {"TransactItems": []}, {}, SCOPE), str)


def test_dynamodb_batch_calls_name_each_table():
    body = {"RequestItems": {"B": [{"PutRequest": {}}], "A": [{"DeleteRequest": {}}]}}
    assert dynamodb_requests("BatchWriteItem", body, {}, SCOPE) == [
        ("dynamodb:BatchWriteItem", TABLE_ARN.replace("LabResults", "A"), {}),
        ("dynamodb:BatchWriteItem", TABLE_ARN.replace("LabResults", "B"), {}),
    ]


def test_dynamodb_native_export_is_authorised_on_the_table_and_writes_s3_as_the_caller():
    body = {"TableArn": "arn:aws:dynamodb:eu-west-1:000000000000:table/LabResults", "S3Bucket": "lab", "S3Prefix": "ddb"}
    response = {"ExportDescription": {"ExportArn": "arn:aws:dynamodb:eu-west-1:000000000000:table/LabResults/export/0171-ab"}}
    obj = "arn:aws:s3:::lab/ddb/AWSDynamoDB/0171-ab/manifest-summary.json"
    assert dynamodb_requests("ExportTableToPointInTime", body, response, SCOPE) == [
        ("dynamodb:ExportTableToPointInTime", TABLE_ARN, {}),  # rebuilt in the scenario's account
        ("s3:PutObject", obj, {}),
        ("s3:AbortMultipartUpload", obj, {}),
        ("s3:PutObjectAcl", obj, {}),
    ]
    assert dynamodb_requests("DescribeExport", {"ExportArn": response["ExportDescription"]["ExportArn"]}, {}, SCOPE) == [
        ("dynamodb:DescribeExport", TABLE_ARN + "/export/0171-ab", {})
    ]


# --------------------------------------------------------------------------- EMR

RUN_JOB_FLOW = {
    "Name": "ddb-s3",
    "ServiceRole": "EMR_DefaultRole",
    "JobFlowRole": "EMR_EC2_DefaultRole",
    "Tags": [{"Key": "ddb-s3:managed", "Value": "true"}, {"Key": "team", "Value": "lab"}],
}


def test_run_job_flow_with_its_tags_tag_on_create_and_pass_role():
    got = emr_requests("RunJobFlow", RUN_JOB_FLOW, {"JobFlowId": "j-1"}, {}, SCOPE)
    tags = {"aws:RequestTag/ddb-s3:managed": "true", "aws:RequestTag/team": "lab", "aws:TagKeys": ["ddb-s3:managed", "team"]}
    assert got == [
        ("elasticmapreduce:RunJobFlow", "*", tags),
        ("elasticmapreduce:AddTags", CLUSTER_ARN + "j-1", tags),
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/EMR_DefaultRole", {"iam:PassedToService": "elasticmapreduce.amazonaws.com"}),
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/EMR_EC2_DefaultRole", {"iam:PassedToService": "ec2.amazonaws.com"}),
        (
            "iam:CreateServiceLinkedRole",
            (f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/elasticmapreduce.amazonaws.com/AWSServiceRoleForEMRCleanup"),
            {"iam:AWSServiceName": "elasticmapreduce.amazonaws.com"},
        ),
    ]
    arn_profile = dict(RUN_JOB_FLOW, JobFlowRole=f"arn:aws:iam::{ACCOUNT}:instance-profile/nodes/Exporter", Tags=[])
    assert emr_requests("RunJobFlow", arn_profile, {"JobFlowId": "j-1"}, {}, SCOPE)[2] == (
        "iam:PassRole",
        f"arn:aws:iam::{ACCOUNT}:role/Exporter",
        {"iam:PassedToService": "ec2.amazonaws.com"},
    )
    assert isinstance(emr_requests("RunJobFlow", dict(RUN_JOB_FLOW, AutoScalingRole="R"), {}, {}, SCOPE), str)


def test_run_job_flow_with_an_auto_termination_policy_puts_it_on_the_new_cluster():
    """Issue 23: RunJobFlow sends an AutoTerminationPolicy; EMR attaches it as the caller."""
    got = emr_requests("RunJobFlow", dict(RUN_JOB_FLOW, AutoTerminationPolicy={"IdleTimeout": 3600}), {"JobFlowId": "j-1"}, {}, SCOPE)
    assert got[-2:] == [
        ("elasticmapreduce:PutAutoTerminationPolicy", CLUSTER_ARN + "j-1", {}),
        ("elasticmapreduce:GetAutoTerminationPolicy", CLUSTER_ARN + "j-1", {}),
    ]


def test_doctor_reads_map_to_iam_ec2_and_service_quotas():
    from calls import query_requests, quotas_requests

    role_xml = (
        b'<GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetRoleResult><Role>'
        b"<Path>/service-role/</Path><Arn>arn:aws:iam::123456789012:role/service-role/job</Arn></Role></GetRoleResult>"
        b"</GetRoleResponse>"
    )
    assert query_requests("iam", b"Action=GetRole&RoleName=job&Version=2010-05-08", role_xml, SCOPE) == [
        ("iam:GetRole", f"arn:aws:iam::{ACCOUNT}:role/service-role/job", {})
    ]
    assert query_requests("iam", b"Action=GetRole&RoleName=gone&Version=2010-05-08", b"<ErrorResponse/>", SCOPE) == [
        ("iam:GetRole", f"arn:aws:iam::{ACCOUNT}:role/gone", {})
    ]
    assert query_requests("iam", b"Action=GetInstanceProfile&InstanceProfileName=p", b"", SCOPE) == [
        ("iam:GetInstanceProfile", f"arn:aws:iam::{ACCOUNT}:instance-profile/p", {})
    ]
    assert query_requests("ec2", b"Action=DescribeSubnets&Version=2016-11-15", b"", SCOPE) == [("ec2:DescribeSubnets", "*", {})]
    assert isinstance(query_requests("ec2", b"Action=RunInstances", b"", SCOPE), str)
    assert isinstance(query_requests("iam", b"Action=CreateRole&RoleName=x", b"", SCOPE), str)
    assert quotas_requests("GetServiceQuota", {"ServiceCode": "ec2", "QuotaCode": "L-1216C47A"}, SCOPE) == [
        ("servicequotas:GetServiceQuota", f"arn:aws:servicequotas:{REGION}:{ACCOUNT}:ec2/L-1216C47A", {})
    ]


def test_cluster_calls_carry_the_cluster_tags_the_recorded_calls_set():
    tags = cluster_tags(
        [
            ("RunJobFlow", RUN_JOB_FLOW, {"JobFlowId": "j-1"}),
            ("AddTags", {"ResourceId": "j-1", "Tags": [{"Key": "x", "Value": "1"}]}, {}),
            ("RemoveTags", {"ResourceId": "j-1", "TagKeys": ["team"]}, {}),
        ]
    )
    assert tags == {"j-1": {"ddb-s3:managed": "true", "x": "1"}}
    on_j1 = {"aws:ResourceTag/ddb-s3:managed": "true", "aws:ResourceTag/x": "1"}
    for op, body in (
        ("DescribeCluster", {"ClusterId": "j-1"}),
        ("DescribeStep", {"ClusterId": "j-1", "StepId": "s-1"}),
        ("ListSteps", {"ClusterId": "j-1"}),
        ("AddJobFlowSteps", {"JobFlowId": "j-1", "Steps": []}),
    ):
        assert emr_requests(op, body, {}, tags, SCOPE) == [("elasticmapreduce:" + op, CLUSTER_ARN + "j-1", on_j1)]
    assert emr_requests("TerminateJobFlows", {"JobFlowIds": ["j-1", "j-2"]}, {}, tags, SCOPE) == [
        ("elasticmapreduce:TerminateJobFlows", CLUSTER_ARN + "j-1", on_j1),
        ("elasticmapreduce:TerminateJobFlows", CLUSTER_ARN + "j-2", {}),
    ]  # a cluster we know no tags of: none
    assert emr_requests("ListClusters", {"ClusterStates": ["RUNNING"]}, {}, tags, SCOPE) == [("elasticmapreduce:ListClusters", "*", {})]
    assert isinstance(emr_requests("ModifyInstanceGroups", {"InstanceGroups": []}, {}, tags, SCOPE), str)


# --------------------------------------------------------------------------- recorded calls


def seen(service, op, method, path, headers, body=b"", response=b"", status=200):
    return Seen(service, op, method, path, headers, None, status=status, body=body, response=response)


def test_iam_requests_tell_principals_apart_by_access_key_and_report_what_they_cannot_map():
    ddb = {**auth("ASIANODE", "dynamodb"), "x-amz-target": "DynamoDB_20120810.Scan"}
    emr_headers = {**auth("AKIALAUNCHER", "elasticmapreduce"), "x-amz-target": "ElasticMapReduce.DescribeCluster"}
    run = {**auth("AKIALAUNCHER", "elasticmapreduce"), "x-amz-target": "ElasticMapReduce.RunJobFlow"}
    calls = [
        seen("s3", "GetObject", "GET", "/b/p/k", auth("AKIALAUNCHER")),
        seen("dynamodb", "Scan", "POST", "/", ddb, json.dumps({"TableName": "LabResults"}).encode()),
        seen("emr", "RunJobFlow", "POST", "/", run, json.dumps(RUN_JOB_FLOW).encode(), b'{"JobFlowId": "j-9"}'),
        seen("emr", "DescribeCluster", "POST", "/", emr_headers, b'{"ClusterId": "j-9"}'),
        seen(
            "s3",
            "Post",
            "POST",
            "/",
            {**auth("AKIALAUNCHER", "sts"), "content-type": "application/x-www-form-urlencoded"},
            b"Action=GetCallerIdentity&Version=2011-06-15",
        ),
        seen("s3", "GetObject", "GET", "/b/k", {}),  # unsigned
        seen("s3", "GetObject", "GET", "/b/k", auth("AKIASTRANGER")),
        seen("s3", "GetObject", "GET", "/b/k", auth(region="us-east-1")),
        seen("s3", "Post", "POST", "/", {**auth(service="glue"), "x-amz-target": "AWSGlue.CreateTable"}, b"{}"),
    ]
    requests, problems = iam_requests(calls, SCOPE)
    assert [(r.principal, r.action) for r in requests] == [
        ("launcher", "s3:GetObject"),
        ("instance_role", "dynamodb:Scan"),
        ("launcher", "elasticmapreduce:RunJobFlow"),
        ("launcher", "elasticmapreduce:AddTags"),
        ("launcher", "iam:PassRole"),
        ("launcher", "iam:PassRole"),
        ("launcher", "iam:CreateServiceLinkedRole"),
        ("launcher", "elasticmapreduce:DescribeCluster"),
        ("launcher", "sts:GetCallerIdentity"),
    ]
    assert requests[7].context == {"aws:ResourceTag/ddb-s3:managed": "true", "aws:ResourceTag/team": "lab"}
    assert "GET /b/p/k" in requests[0].call
    assert [p.split(":")[0] for p in problems] == [
        "unsigned request",
        "signed with an unknown access key 'AKIASTRANGER'",
        "signed for region us-east-1, not eu-west-1",
        "Glue CreateTable has no IAM rule here",
    ]


STREAM = "arn:aws:dynamodb:eu-west-1:000000000000:table/LabResults/stream/2026-12-07T02:35:31.123"  # dynalite's account
STREAM_ARN = TABLE_ARN + "/stream/2026-12-07T02:35:31.123"  # rebuilt in the scenario's account


def test_dynamodb_streams_calls_are_authorised_on_the_stream_and_get_records_on_its_iterators_stream():
    """DescribeStream and GetShardIterator name the stream; GetRecords names an iterator only: its
    stream is the one whose GetShardIterator (or GetRecords page) handed it out, else the ARN AWS
    writes before its "|1|"; ListStreams has no resource."""
    target = {**auth("ASIANODE", "dynamodb"), "x-amz-target": "DynamoDBStreams_20120810."}

    def call(op, body, response=None):
        return seen(
            "dynamodb",
            op,
            "POST",
            "/",
            {**target, "x-amz-target": target["x-amz-target"] + op},
            json.dumps(body).encode(),
            json.dumps(response or {}).encode(),
        )

    calls = [
        call("DescribeStream", {"StreamArn": STREAM}),
        call(
            "GetShardIterator", {"StreamArn": STREAM, "ShardId": "s-1", "ShardIteratorType": "TRIM_HORIZON"}, {"ShardIterator": "opaque-1"}
        ),
        call("GetRecords", {"ShardIterator": "opaque-1"}, {"Records": [], "NextShardIterator": "opaque-2"}),
        call("GetRecords", {"ShardIterator": "opaque-2"}, {"Records": []}),
        call("GetRecords", {"ShardIterator": STREAM + "|1|AAAA"}),  # handed out before the recording: AWS's form
        call("ListStreams", {"TableName": "LabResults"}),
        call("GetRecords", {"ShardIterator": "opaque-9"}),  # of no known stream
        call("DescribeLimits", {}),
    ]
    requests, problems = iam_requests(calls, SCOPE)
    assert [(r.principal, r.action, r.resource) for r in requests] == [
        ("instance_role", "dynamodb:DescribeStream", STREAM_ARN),
        ("instance_role", "dynamodb:GetShardIterator", STREAM_ARN),
        ("instance_role", "dynamodb:GetRecords", STREAM_ARN),
        ("instance_role", "dynamodb:GetRecords", STREAM_ARN),
        ("instance_role", "dynamodb:GetRecords", STREAM_ARN),
        ("instance_role", "dynamodb:ListStreams", "*"),
    ]
    assert [p.split(":")[0] for p in problems] == [
        "DynamoDB Streams GetRecords of an iterator of no known stream",
        "DynamoDB Streams DescribeLimits has no IAM rule here",
    ]
    assert stream_iterators(
        [
            ("GetShardIterator", {"StreamArn": STREAM}, {"ShardIterator": "a"}),
            ("GetRecords", {"ShardIterator": "a"}, {"NextShardIterator": "b"}),
        ]
    ) == {"a": STREAM, "b": STREAM}
    assert isinstance(streams_requests("DescribeStream", {"StreamArn": TABLE_ARN}, {}, SCOPE), str)  # a table is no stream


def test_used_and_granted_compare_statements_and_actions():
    docs = {
        "d": {
            "Statement": [
                {"Sid": "A", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"},
                {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"},
            ]
        }
    }
    assert granted(docs) == {("d", "A", "s3:GetObject"), ("d", "A", "s3:PutObject"), ("d", "2", "s3:ListBucket")}
    requests = [IamRequest("p", "s3:GetObject", "arn:aws:s3:::b/k"), IamRequest("p", "s3:PutObject", "arn:aws:s3:::b/k")]
    decisions = [Decision("Allowed", ("d:A",), ()), Decision("ImplicitlyDenied", (), ())]
    assert used(requests, decisions) == {("d", "A", "s3:GetObject")}


# --------------------------------------------------------------------------- EMR Serverless


def test_emr_serverless_rest_calls_map_to_actions_on_applications_and_runs():
    from calls import serverless_requests, serverless_tags

    base = f"arn:aws:emr-serverless:{REGION}:{ACCOUNT}:/applications"
    ours = {"ddb-s3:managed": "true"}
    calls = [
        ("POST", "/applications", {"tags": ours}, {"applicationId": "app1"}),
        ("POST", "/applications/app1/jobruns", {"tags": ours}, {"jobRunId": "run1"}),
    ]
    tags = serverless_tags(calls)
    assert tags == {"app1": ours, "run1": ours}
    create = serverless_requests("POST", "/applications", {"tags": ours}, {"applicationId": "app1"}, tags, SCOPE)
    ctx = {"aws:RequestTag/ddb-s3:managed": "true", "aws:TagKeys": ["ddb-s3:managed"]}
    slr = (
        "iam:CreateServiceLinkedRole",
        (f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/ops.emr-serverless.amazonaws.com/AWSServiceRoleForAmazonEMRServerless"),
        {"iam:AWSServiceName": "ops.emr-serverless.amazonaws.com"},
    )
    assert create == [("emr-serverless:CreateApplication", "*", ctx), ("emr-serverless:TagResource", base + "/app1", ctx), slr]
    start = serverless_requests(
        "POST",
        "/applications/app1/jobruns",
        {"executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/job", "tags": ours},
        {"jobRunId": "run1"},
        tags,
        SCOPE,
    )
    assert start[0] == ("emr-serverless:StartJobRun", base + "/app1", {"aws:ResourceTag/ddb-s3:managed": "true"})
    assert start[1] == ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/job", {"iam:PassedToService": "emr-serverless.amazonaws.com"})
    assert start[2] == ("emr-serverless:TagResource", base + "/app1/jobruns/run1", ctx)
    assert serverless_requests("GET", "/applications/app1/jobruns/run1", {}, {}, tags, SCOPE)[0][:2] == (
        "emr-serverless:GetJobRun",
        base + "/app1/jobruns/run1",
    )
    assert serverless_requests("DELETE", "/applications/app1/jobruns/run1", {}, {}, tags, SCOPE)[0][0] == "emr-serverless:CancelJobRun"
    assert serverless_requests("POST", "/applications/app1/stop", {}, {}, tags, SCOPE)[0][0] == "emr-serverless:StopApplication"
    assert serverless_requests("DELETE", "/applications/app1", {}, {}, tags, SCOPE) == [
        ("emr-serverless:DeleteApplication", base + "/app1", {"aws:ResourceTag/ddb-s3:managed": "true"})
    ]
    assert serverless_requests("GET", "/applications?states=STARTED", {}, {}, tags, SCOPE) == [("emr-serverless:ListApplications", "*", {})]
    assert isinstance(serverless_requests("PUT", "/somewhere", {}, {}, tags, SCOPE), str)


def test_glue_and_logs_calls_map_to_jobs_and_log_streams():
    from calls import glue_requests, logs_requests

    job = f"arn:aws:glue:{REGION}:{ACCOUNT}:job/ddb-s3-export-1"
    ctx = {"aws:RequestTag/ddb-s3:managed": "true", "aws:TagKeys": ["ddb-s3:managed"]}
    assert glue_requests("CreateJob", {"Name": "ddb-s3-export-1", "Role": "glue-role", "Tags": {"ddb-s3:managed": "true"}}, SCOPE) == [
        ("glue:CreateJob", job, ctx),
        ("glue:TagResource", job, ctx),
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/glue-role", {"iam:PassedToService": "glue.amazonaws.com"}),
    ]
    assert glue_requests("UpdateJob", {"JobName": "team", "JobUpdate": {"Role": "r"}}, SCOPE)[0] == (
        "glue:UpdateJob",
        f"arn:aws:glue:{REGION}:{ACCOUNT}:job/team",
        {},
    )
    assert glue_requests("BatchStopJobRun", {"JobName": "ddb-s3-export-1", "JobRunIds": ["jr_1"]}, SCOPE) == [
        ("glue:BatchStopJobRun", job, {})
    ]
    assert isinstance(glue_requests("GetDatabases", {}, SCOPE), str)
    assert logs_requests("GetLogEvents", {"logGroupName": "/aws-glue/jobs/error", "logStreamName": "jr_1"}, SCOPE) == [
        ("logs:GetLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws-glue/jobs/error:log-stream:jr_1", {})
    ]
