"""Recorded AWS calls -> the IAM requests AWS would authorise, and their evaluation against policies.

A call recorded by tests/faults/proxy.py (method, path, headers, body, response) becomes one or more
IAM requests: who (the principal, told by the access key id in the signature's credential scope),
which action, on which resource ARN, with which context keys. The rules follow the Service
Authorization Reference and each API's "Permissions" section:

  S3        GetObject, HeadObject                      s3:GetObject (object ARN)
            PutObject, CreateMultipartUpload,
            UploadPart, CompleteMultipartUpload        s3:PutObject (+ s3:PutObjectAcl with x-amz-acl,
                                                       s3:PutObjectTagging with x-amz-tagging)
            CopyObject, UploadPartCopy                 s3:PutObject on the target + s3:GetObject on the source
            AbortMultipartUpload                       s3:AbortMultipartUpload
            ListParts                                  s3:ListMultipartUploadParts
            DeleteObject                               s3:DeleteObject
            DeleteObjects                              s3:DeleteObject for every key in the body
            GetObjectAttributes                        s3:GetObject + s3:GetObjectAttributes
            ListObjects(V2)                            s3:ListBucket (bucket ARN) with s3:prefix (the query's
                                                       prefix; absent when the request has none),
                                                       s3:delimiter, s3:max-keys
            HeadBucket                                 s3:ListBucket (no s3:prefix)
            ListObjectVersions, ListMultipartUploads   s3:ListBucketVersions, s3:ListBucketMultipartUploads
            GetBucketLocation, ListBuckets, CreateBucket  s3:GetBucketLocation, s3:ListAllMyBuckets (*), s3:CreateBucket
            context on writes: s3:x-amz-server-side-encryption(-aws-kms-key-id) from the headers
            a GET/HEAD of an object answered 404       + s3:ListBucket on the bucket without s3:prefix: S3
                                                       answers 404 only to a caller allowed to list the
                                                       bucket, anyone else gets 403 AccessDenied
  DynamoDB  operation X                                dynamodb:X on table/<TableName> (table/<T>/index/<I>
                                                       with IndexName); BatchWriteItem/BatchGetItem: one
                                                       request per table in RequestItems; DescribeExport: the
                                                       export ARN; ExportTableToPointInTime: TableArn (both
                                                       rebuilt in the scenario's account: dynalite reports
                                                       000000000000), and
                                                       DynamoDB then writes the export *as the caller*:
                                                       s3:PutObject, s3:AbortMultipartUpload, s3:PutObjectAcl
                                                       on <S3Prefix>/AWSDynamoDB/<export-id>/ (one object
                                                       stands for all it writes)
  DynamoDB  DynamoDBStreams_20120810.DescribeStream,   dynamodb:X on the stream ARN (StreamArn: table/<T>/stream/
  Streams   GetShardIterator                           <label>, rebuilt in the scenario's account as above)
            GetRecords                                 dynamodb:GetRecords on the stream ARN: the request names
                                                       only its ShardIterator, which came from a recorded
                                                       GetShardIterator (or an earlier GetRecords'
                                                       NextShardIterator) of that stream; an iterator of none
                                                       is read as AWS writes them, "<stream arn>|1|<opaque>"
            ListStreams                                dynamodb:ListStreams on "*"
  EMR       ElasticMapReduce.X                         elasticmapreduce:X on cluster/<id> with
                                                       aws:ResourceTag/<k> of that cluster (its tags as the
                                                       recorded RunJobFlow/AddTags set them)
            RunJobFlow                                 resource "*" with aws:RequestTag/<k>, aws:TagKeys;
                                                       + elasticmapreduce:AddTags on the new cluster with the
                                                       same keys (tag-on-create, assumed: EMR documents the
                                                       RequestTag conditions, not the separate check);
                                                       + iam:PassRole on the ServiceRole
                                                       (iam:PassedToService elasticmapreduce.amazonaws.com)
                                                       and on the JobFlowRole's role (ec2.amazonaws.com),
                                                       assuming the instance profile and its role share a
                                                       name, as EMR_EC2_DefaultRole's do;
                                                       + iam:CreateServiceLinkedRole on AWSServiceRoleForEMRCleanup
                                                       (iam:AWSServiceName elasticmapreduce.amazonaws.com: EMR
                                                       creates it as the caller when the account has none);
                                                       with an AutoTerminationPolicy also
                                                       elasticmapreduce:PutAutoTerminationPolicy and
                                                       GetAutoTerminationPolicy on the new cluster (the policy
                                                       is attached as the caller; both assumed, as the issue
                                                       and AWS's full-access policy list them)
            ListClusters                               resource "*"
  EMR       REST: POST /applications                   emr-serverless:CreateApplication on "*" (it has no
  Serverless                                           resource ARN) with aws:RequestTag/<k>, aws:TagKeys
                                                       + emr-serverless:TagResource on it (tag-on-create)
                                                       + iam:CreateServiceLinkedRole on
                                                       AWSServiceRoleForAmazonEMRServerless (iam:AWSServiceName
                                                       ops.emr-serverless.amazonaws.com; the first application
                                                       of an account creates it as the caller)
            GET|DELETE /applications/<id>,             Get|DeleteApplication, Stop|StartApplication on
            POST /applications/<id>/stop|start         applications/<id> with aws:ResourceTag/<k> of it
            POST /applications/<id>/jobruns            StartJobRun on the application; + iam:PassRole on
                                                       executionRoleArn (iam:PassedToService
                                                       emr-serverless.amazonaws.com); + TagResource on the
                                                       new run with its tags
            GET|DELETE /applications/<id>/jobruns/<r>  GetJobRun | CancelJobRun on .../jobruns/<r>
            GET /applications                          ListApplications, resource "*"
  Glue      AWSGlue.X with JobName (Name for CreateJob)    glue:X on job/<name>; CreateJob with aws:RequestTag/<k>,
                                                       aws:TagKeys + glue:TagResource on the job (tag-on-create,
                                                       assumed as for EMR); CreateJob and UpdateJob also
                                                       iam:PassRole on the job's Role (a name: in the account;
                                                       iam:PassedToService glue.amazonaws.com)
  CloudWatch Logs_20140328.GetLogEvents              logs:GetLogEvents on log-group:<g>:log-stream:<s>
  Logs
  STS       Action=X (query API)                       sts:X, resource "*"
  IAM       Action=GetRole, GetInstanceProfile         iam:X on the role's (instance profile's) ARN as the
            (query API, signed for us-east-1)          response gives it (its path included), else
                                                       role/<name> (a role that does not exist)
  EC2       Action=Describe* (query API)               ec2:X, resource "*" (EC2's Describe* have no ARN)
  Service   ServiceQuotasV20190624.GetServiceQuota     servicequotas:X on
  Quotas                                               arn:<p>:servicequotas:<region>:<account>:<service>/<quota>

Anything else (an unknown S3 sub-resource, another service, an unsigned call) is not guessed: it
comes back as a problem and fails the test."""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

HERE = Path(__file__).resolve().parent
EVALUATOR = HERE / "evaluate.mjs"
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
EMR_SERVICE = "elasticmapreduce.amazonaws.com"
EC2_SERVICE = "ec2.amazonaws.com"
EMR_CLEANUP_ROLE = "role/aws-service-role/elasticmapreduce.amazonaws.com/AWSServiceRoleForEMRCleanup"
SERVERLESS_SLR_SERVICE = "ops.emr-serverless.amazonaws.com"
SERVERLESS_SLR = f"role/aws-service-role/{SERVERLESS_SLR_SERVICE}/AWSServiceRoleForAmazonEMRServerless"


@dataclass(frozen=True)
class IamRequest:
    principal: str  # a principal name ("launcher", "instance_role"), from the signing key
    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)
    call: str = ""  # the wire call it comes from, for messages

    def describe(self) -> str:
        ctx = f" {json.dumps(dict(self.context), sort_keys=True)}" if self.context else ""
        return f"{self.principal}: {self.action} on {self.resource}{ctx}  <- {self.call}"


@dataclass
class Scope:
    """What a mapping needs besides the call: the account and region of the ARNs, who signs with
    which access key id, and the partition."""

    account: str
    region: str
    principals: Mapping[str, str]  # access key id -> principal name
    partition: str = "aws"


# --------------------------------------------------------------------------- signatures


def signer(headers: Mapping[str, str], path: str = "") -> tuple[str, str, str] | None:
    """(access key id, region, service) of a SigV4-signed request (header or presigned URL)."""
    auth = headers.get("authorization", "")
    m = _CREDENTIAL.search(auth)
    if m:
        return m.group(1), m.group(2), m.group(3)
    cred = parse_qs(urlsplit(path).query).get("X-Amz-Credential")
    if cred:
        m = _CREDENTIAL.search("Credential=" + cred[0])
        if m:
            return m.group(1), m.group(2), m.group(3)
    return None


# --------------------------------------------------------------------------- S3

_OBJECT_SUBRESOURCES = {"uploadId", "partNumber", "versionId", "uploads", "attributes", "tagging", "acl"}
_LIST_PARAMS = {
    "list-type",
    "prefix",
    "delimiter",
    "max-keys",
    "continuation-token",
    "start-after",
    "encoding-type",
    "fetch-owner",
    "marker",
    "key-marker",
    "version-id-marker",
    "upload-id-marker",
    "max-uploads",
}


def s3_api_operation(method: str, path: str, headers: Mapping[str, str]) -> str | None:
    """The S3 API operation of a path-style request, None for one these rules do not know."""
    parts = urlsplit(path)
    q = parse_qs(parts.query, keep_blank_values=True)
    q.pop("x-id", None)  # botocore's operation hint
    segs = [s for s in parts.path.split("/") if s]
    copy = "x-amz-copy-source" in headers
    if not segs:
        return "ListBuckets" if method == "GET" and not q else None
    if len(segs) >= 2:  # an object
        unknown = set(q) - _OBJECT_SUBRESOURCES
        if unknown:
            return None
        if method == "PUT":
            if "partNumber" in q and "uploadId" in q:
                return "UploadPartCopy" if copy else "UploadPart"
            if "tagging" in q:
                return "PutObjectTagging"
            if "acl" in q:
                return "PutObjectAcl"
            return "CopyObject" if copy else "PutObject"
        if method == "POST":
            if "uploads" in q:
                return "CreateMultipartUpload"
            if "uploadId" in q:
                return "CompleteMultipartUpload"
            return None
        if method == "DELETE":
            if "uploadId" in q:
                return "AbortMultipartUpload"
            return "DeleteObjectTagging" if "tagging" in q else "DeleteObject"
        if method == "HEAD":
            return "HeadObject"
        if method == "GET":
            if "uploadId" in q:
                return "ListParts"
            for sub, op in (("attributes", "GetObjectAttributes"), ("tagging", "GetObjectTagging"), ("acl", "GetObjectAcl")):
                if sub in q:
                    return op
            return "GetObject"
        return None
    # the bucket
    if method == "HEAD" and not q:
        return "HeadBucket"
    if method == "PUT" and not q:
        return "CreateBucket"
    if method == "POST" and set(q) == {"delete"}:
        return "DeleteObjects"
    if method == "GET":
        if "location" in q:
            return "GetBucketLocation"
        if "uploads" in q:
            return "ListMultipartUploads"
        if "versions" in q:
            return "ListObjectVersions"
        if set(q) <= _LIST_PARAMS:
            return "ListObjectsV2" if q.get("list-type") == ["2"] else "ListObjects"
    return None


def _sse(headers: Mapping[str, str]) -> dict[str, str]:
    ctx = {}
    for h in ("x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id"):
        if h in headers:
            ctx["s3:" + h] = headers[h]
    return ctx


def s3_requests(
    method: str, path: str, headers: Mapping[str, str], body: bytes, status: int | None, scope: Scope
) -> list[tuple[str, str, dict[str, Any]]] | str:
    """[(action, resource, context)] of one S3 call, or why it cannot be mapped."""
    op = s3_api_operation(method, path, headers)
    if op is None:
        return f"unknown S3 request {method} {path}"
    parts = urlsplit(path)
    q = parse_qs(parts.query, keep_blank_values=True)
    segs = parts.path.lstrip("/").split("/", 1)
    p = scope.partition
    bucket = unquote(segs[0])
    bucket_arn = f"arn:{p}:s3:::{bucket}"
    obj = f"arn:{p}:s3:::{bucket}/{unquote(segs[1])}" if len(segs) > 1 and segs[1] else None
    versioned = "versionId" in q

    def source() -> str:
        src = unquote(headers["x-amz-copy-source"]).split("?", 1)[0].lstrip("/")
        return f"arn:{p}:s3:::{src}"

    if op in ("GetObject", "HeadObject"):
        out = [("s3:GetObjectVersion" if versioned else "s3:GetObject", obj, {})]
        if status == 404:
            out.append(("s3:ListBucket", bucket_arn, {}))
        return out
    if op in ("PutObject", "CreateMultipartUpload"):
        out = [("s3:PutObject", obj, _sse(headers))]
        if "x-amz-acl" in headers or any(h.startswith("x-amz-grant-") for h in headers):
            out.append(("s3:PutObjectAcl", obj, {"s3:x-amz-acl": headers["x-amz-acl"]} if "x-amz-acl" in headers else {}))
        if "x-amz-tagging" in headers:
            out.append(("s3:PutObjectTagging", obj, {}))
        return out
    if op in ("UploadPart", "CompleteMultipartUpload"):
        return [("s3:PutObject", obj, {})]
    if op in ("CopyObject", "UploadPartCopy"):
        return [("s3:PutObject", obj, _sse(headers)), ("s3:GetObject", source(), {})]
    if op == "AbortMultipartUpload":
        return [("s3:AbortMultipartUpload", obj, {})]
    if op == "ListParts":
        return [("s3:ListMultipartUploadParts", obj, {})]
    if op == "DeleteObject":
        return [("s3:DeleteObjectVersion" if versioned else "s3:DeleteObject", obj, {})]
    if op == "DeleteObjects":
        keys = [el.text or "" for el in ET.fromstring(body).iter() if el.tag.rsplit("}", 1)[-1] == "Key"]
        if not keys:
            return f"DeleteObjects without keys in its body: {path}"
        return [("s3:DeleteObject", f"arn:{p}:s3:::{bucket}/{k}", {}) for k in keys]
    if op == "GetObjectAttributes":
        return [("s3:GetObject", obj, {}), ("s3:GetObjectAttributes", obj, {})]
    if op in ("ListObjectsV2", "ListObjects", "ListObjectVersions"):
        ctx: dict[str, Any] = {}
        if "prefix" in q:
            ctx["s3:prefix"] = q["prefix"][0]
        if "delimiter" in q:
            ctx["s3:delimiter"] = q["delimiter"][0]
        if "max-keys" in q:
            ctx["s3:max-keys"] = q["max-keys"][0]
        return [("s3:ListBucketVersions" if op == "ListObjectVersions" else "s3:ListBucket", bucket_arn, ctx)]
    if op == "HeadBucket":
        return [("s3:ListBucket", bucket_arn, {})]
    if op == "ListMultipartUploads":
        return [("s3:ListBucketMultipartUploads", bucket_arn, {})]
    if op == "GetBucketLocation":
        return [("s3:GetBucketLocation", bucket_arn, {})]
    if op == "ListBuckets":
        return [("s3:ListAllMyBuckets", "*", {})]
    if op == "CreateBucket":
        return [("s3:CreateBucket", bucket_arn, {})]
    return f"S3 {op} has no IAM rule here: {method} {path}"


# --------------------------------------------------------------------------- DynamoDB

# Table and export ARNs the tool sends are DescribeTable's TableArn, in the table's own account: on
# the local stack dynalite's (000000000000), so they are rebuilt in the scenario's account and region.
_TABLE_ARN = re.compile(r"^arn:[\w-]+:dynamodb:[\w-]+:\d{12}:table/([\w.-]+)$")
_EXPORT_ARN = re.compile(r"^arn:[\w-]+:dynamodb:[\w-]+:\d{12}:table/([\w.-]+)/export/([\w.-]+)$")
_TABLE_OPS = {
    "DescribeTable",
    "DescribeContinuousBackups",
    "Scan",
    "Query",
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "CreateTable",
    "DeleteTable",
    "UpdateTable",
    "DescribeTimeToLive",
    "UpdateContinuousBackups",
}


def dynamodb_requests(
    op: str, body: Mapping[str, Any], response: Mapping[str, Any], scope: Scope
) -> list[tuple[str, str, dict[str, Any]]] | str:
    def table(name: str) -> str:
        return f"arn:{scope.partition}:dynamodb:{scope.region}:{scope.account}:table/{name}"

    action = "dynamodb:" + op
    if op in _TABLE_OPS:
        if "TableName" not in body:
            return f"DynamoDB {op} without a TableName"
        arn = table(body["TableName"])
        if body.get("IndexName") and op in ("Scan", "Query"):
            arn += "/index/" + body["IndexName"]
        return [(action, arn, {})]
    if op in ("BatchWriteItem", "BatchGetItem"):
        tables = sorted(body.get("RequestItems") or {})
        return [(action, table(t), {}) for t in tables] or f"DynamoDB {op} without RequestItems"
    if op == "ListTables":
        return [(action, "*", {})]
    if op == "DescribeExport":
        m = _EXPORT_ARN.match(body.get("ExportArn", ""))
        return [(action, table(m.group(1)) + "/export/" + m.group(2), {})] if m else f"DescribeExport of {body.get('ExportArn')!r}"
    if op == "ExportTableToPointInTime":
        m = _TABLE_ARN.match(body.get("TableArn", ""))
        if not m:
            return f"ExportTableToPointInTime of {body.get('TableArn')!r}"
        out: list[tuple[str, str, dict[str, Any]]] = [(action, table(m.group(1)), {})]
        export_arn = (response.get("ExportDescription") or {}).get("ExportArn", "")
        export_id = export_arn.rsplit("/export/", 1)[-1] if "/export/" in export_arn else "<export-id>"
        prefix = (body.get("S3Prefix") or "").strip("/")
        key = "/".join(x for x in (prefix, "AWSDynamoDB", export_id, "manifest-summary.json") if x)
        obj = f"arn:{scope.partition}:s3:::{body['S3Bucket']}/{key}"
        out += [(a, obj, {}) for a in ("s3:PutObject", "s3:AbortMultipartUpload", "s3:PutObjectAcl")]
        return out
    return f"DynamoDB {op} has no IAM rule here"


# --------------------------------------------------------------------------- DynamoDB Streams

STREAMS_TARGET = "DynamoDBStreams_20120810."  # signed for service "dynamodb", as botocore's dynamodbstreams client does
_STREAM_ARN = re.compile(r"^arn:[\w-]+:dynamodb:[\w-]+:\d{12}:table/([\w.-]+)/stream/(\S+)$")


def stream_iterators(calls: Iterable[tuple[str, Mapping[str, Any], Mapping[str, Any]]]) -> dict[str, str]:
    """Each shard iterator -> the stream ARN it reads, from the recorded calls [(operation, body,
    response)] in order: GetShardIterator's StreamArn, and a GetRecords' NextShardIterator inherits
    its request's."""
    out: dict[str, str] = {}
    for op, body, response in calls:
        if op == "GetShardIterator" and body.get("StreamArn") and response.get("ShardIterator"):
            out[str(response["ShardIterator"])] = str(body["StreamArn"])
        elif op == "GetRecords" and response.get("NextShardIterator") and body.get("ShardIterator") in out:
            out[str(response["NextShardIterator"])] = out[str(body["ShardIterator"])]
    return out


def streams_requests(
    op: str, body: Mapping[str, Any], iterators: Mapping[str, str], scope: Scope
) -> list[tuple[str, str, dict[str, Any]]] | str:
    def stream(arn: str) -> str | None:
        m = _STREAM_ARN.match(arn)
        return f"arn:{scope.partition}:dynamodb:{scope.region}:{scope.account}:table/{m.group(1)}/stream/{m.group(2)}" if m else None

    action = "dynamodb:" + op
    if op == "ListStreams":
        return [(action, "*", {})]
    if op in ("DescribeStream", "GetShardIterator"):
        arn = stream(str(body.get("StreamArn", "")))
        return [(action, arn, {})] if arn else f"DynamoDB Streams {op} of {body.get('StreamArn')!r}"
    if op == "GetRecords":
        iterator = str(body.get("ShardIterator", ""))
        arn = stream(iterators.get(iterator) or iterator.partition("|")[0])
        return [(action, arn, {})] if arn else f"DynamoDB Streams GetRecords of an iterator of no known stream: {iterator[:80]!r}"
    return f"DynamoDB Streams {op} has no IAM rule here"


# --------------------------------------------------------------------------- EMR


def cluster_tags(calls: Iterable[tuple[str, Mapping[str, Any], Mapping[str, Any]]]) -> dict[str, dict[str, str]]:
    """Each cluster's tags as the recorded calls set them: [(operation, body, response)] in order."""
    tags: dict[str, dict[str, str]] = {}
    for op, body, response in calls:
        if op == "RunJobFlow" and response.get("JobFlowId"):
            tags[response["JobFlowId"]] = {t["Key"]: t.get("Value", "") for t in body.get("Tags") or []}
        elif op == "AddTags" and body.get("ResourceId"):
            tags.setdefault(body["ResourceId"], {}).update({t["Key"]: t.get("Value", "") for t in body.get("Tags") or []})
        elif op == "RemoveTags" and body.get("ResourceId"):
            for k in body.get("TagKeys") or []:
                tags.setdefault(body["ResourceId"], {}).pop(k, None)
    return tags


def _request_tags(tags: list[dict[str, str]]) -> dict[str, Any]:
    ctx: dict[str, Any] = {f"aws:RequestTag/{t['Key']}": t.get("Value", "") for t in tags}
    if tags:
        ctx["aws:TagKeys"] = [t["Key"] for t in tags]
    return ctx


def _role_arn(name_or_arn: str, scope: Scope) -> str:
    if name_or_arn.startswith("arn:"):  # an instance profile ARN names its role by the same name (assumed)
        return re.sub(r":instance-profile/(?:.*/)?", ":role/", name_or_arn)
    return f"arn:{scope.partition}:iam::{scope.account}:role/{name_or_arn}"


def emr_requests(
    op: str, body: Mapping[str, Any], response: Mapping[str, Any], tags: Mapping[str, Mapping[str, str]], scope: Scope
) -> list[tuple[str, str, dict[str, Any]]] | str:
    def cluster(cid: str) -> tuple[str, dict[str, Any]]:
        arn = f"arn:{scope.partition}:elasticmapreduce:{scope.region}:{scope.account}:cluster/{cid}"
        return arn, {f"aws:ResourceTag/{k}": v for k, v in (tags.get(cid) or {}).items()}

    action = "elasticmapreduce:" + op
    if op == "RunJobFlow":
        unknown_roles = sorted(k for k in body if k.endswith("Role") and k not in ("ServiceRole", "JobFlowRole"))
        if unknown_roles:
            return f"RunJobFlow passes roles these rules do not model: {unknown_roles}"
        req_tags = list(body.get("Tags") or [])
        out: list[tuple[str, str, dict[str, Any]]] = [(action, "*", _request_tags(req_tags))]
        if req_tags and response.get("JobFlowId"):  # tag-on-create
            arn, _ = cluster(response["JobFlowId"])
            out.append(("elasticmapreduce:AddTags", arn, _request_tags(req_tags)))
        if body.get("ServiceRole"):
            out.append(("iam:PassRole", _role_arn(body["ServiceRole"], scope), {"iam:PassedToService": EMR_SERVICE}))
        if body.get("JobFlowRole"):
            out.append(("iam:PassRole", _role_arn(body["JobFlowRole"], scope), {"iam:PassedToService": EC2_SERVICE}))
        out.append(
            (
                "iam:CreateServiceLinkedRole",
                f"arn:{scope.partition}:iam::{scope.account}:{EMR_CLEANUP_ROLE}",
                {"iam:AWSServiceName": EMR_SERVICE},
            )
        )
        if body.get("AutoTerminationPolicy") and response.get("JobFlowId"):
            arn, _ = cluster(response["JobFlowId"])
            out += [("elasticmapreduce:PutAutoTerminationPolicy", arn, {}), ("elasticmapreduce:GetAutoTerminationPolicy", arn, {})]
        return out
    if op == "ListClusters":
        return [(action, "*", {})]
    if op in ("AddTags", "RemoveTags"):
        arn, ctx = cluster(body["ResourceId"])
        if op == "AddTags":
            ctx.update(_request_tags(list(body.get("Tags") or [])))
        else:
            ctx["aws:TagKeys"] = list(body.get("TagKeys") or [])
        return [(action, arn, ctx)]
    if op in ("TerminateJobFlows", "SetTerminationProtection", "SetVisibleToAllUsers"):
        return [(action, *cluster(cid)) for cid in body.get("JobFlowIds") or []] or f"EMR {op} without JobFlowIds"
    cid = body.get("ClusterId") or body.get("JobFlowId")
    if cid:
        if op == "AddJobFlowSteps" and any(s.get("ExecutionRoleArn") for s in body.get("Steps") or []):
            return "AddJobFlowSteps with an ExecutionRoleArn: not modelled here"
        return [(action, *cluster(cid))]
    return f"EMR {op} has no IAM rule here"


# --------------------------------------------------------------------------- EMR Serverless

SERVERLESS_SERVICE = "emr-serverless.amazonaws.com"
_SERVERLESS_PATH = re.compile(r"^/applications(?:/([0-9a-z]+)(?:/(stop|start|jobruns)(?:/([0-9a-z]+))?)?)?/?$")


def serverless_tags(calls: Iterable[tuple[str, str, Mapping[str, Any], Mapping[str, Any]]]) -> dict[str, dict[str, str]]:
    """Tags of each application and job run as the recorded creates set them: [(method, path, body, response)]."""
    tags: dict[str, dict[str, str]] = {}
    for method, path, body, response in calls:
        m = _SERVERLESS_PATH.match(unquote(urlsplit(path).path))
        if method == "POST" and m and ((response.get("applicationId") and not m.group(2)) or response.get("jobRunId")):
            tags[response.get("jobRunId") or response["applicationId"]] = dict(body.get("tags") or {})
    return tags


def _map_tags(tags: Mapping[str, str]) -> dict[str, Any]:
    return _request_tags([{"Key": k, "Value": v} for k, v in tags.items()])


def serverless_requests(
    method: str, path: str, body: Mapping[str, Any], response: Mapping[str, Any], tags: Mapping[str, Mapping[str, str]], scope: Scope
) -> list[tuple[str, str, dict[str, Any]]] | str:
    m = _SERVERLESS_PATH.match(unquote(urlsplit(path).path))
    if not m:
        return f"EMR Serverless {method} has no IAM rule here"
    app, sub, run = m.groups()
    base = f"arn:{scope.partition}:emr-serverless:{scope.region}:{scope.account}:/applications"

    def arn(resource_id: str, path_arn: str) -> tuple[str, dict[str, Any]]:
        return path_arn, {f"aws:ResourceTag/{k}": v for k, v in (tags.get(resource_id) or {}).items()}

    if app is None:
        if method == "GET":
            return [("emr-serverless:ListApplications", "*", {})]
        if method == "POST":
            new = f"{base}/{response.get('applicationId', '*')}"
            ctx = _map_tags(body.get("tags") or {})
            slr = (
                "iam:CreateServiceLinkedRole",
                f"arn:{scope.partition}:iam::{scope.account}:{SERVERLESS_SLR}",
                {"iam:AWSServiceName": SERVERLESS_SLR_SERVICE},
            )
            return [("emr-serverless:CreateApplication", "*", ctx)] + ([("emr-serverless:TagResource", new, ctx)] if ctx else []) + [slr]
        return f"EMR Serverless {method} /applications has no IAM rule here"
    if sub is None:
        action = {"GET": "GetApplication", "DELETE": "DeleteApplication", "PATCH": "UpdateApplication"}.get(method)
        return [("emr-serverless:" + action, *arn(app, f"{base}/{app}"))] if action else f"EMR Serverless {method} application"
    if sub in ("stop", "start") and method == "POST":
        return [(f"emr-serverless:{sub.capitalize()}Application", *arn(app, f"{base}/{app}"))]
    if sub == "jobruns" and run is None:
        if method == "GET":
            return [("emr-serverless:ListJobRuns", *arn(app, f"{base}/{app}"))]
        out: list[tuple[str, str, dict[str, Any]]] = [("emr-serverless:StartJobRun", *arn(app, f"{base}/{app}"))]
        if body.get("executionRoleArn"):
            out.append(("iam:PassRole", body["executionRoleArn"], {"iam:PassedToService": SERVERLESS_SERVICE}))
        if body.get("tags") and response.get("jobRunId"):
            out.append(("emr-serverless:TagResource", f"{base}/{app}/jobruns/{response['jobRunId']}", _map_tags(body["tags"])))
        return out
    if sub == "jobruns" and run is not None:
        action = {"GET": "GetJobRun", "DELETE": "CancelJobRun"}.get(method)
        return [("emr-serverless:" + action, *arn(run, f"{base}/{app}/jobruns/{run}"))] if action else f"EMR Serverless {method} job run"
    return f"EMR Serverless {method} {sub} has no IAM rule here"


# --------------------------------------------------------------------------- Glue and CloudWatch Logs

GLUE_SERVICE = "glue.amazonaws.com"
GLUE_JOB_OPS = ("CreateJob", "UpdateJob", "GetJob", "DeleteJob", "StartJobRun", "GetJobRun", "BatchStopJobRun", "GetJobRuns")


def glue_requests(op: str, body: Mapping[str, Any], scope: Scope) -> list[tuple[str, str, dict[str, Any]]] | str:
    if op not in GLUE_JOB_OPS:
        return f"Glue {op} has no IAM rule here"
    name = body.get("Name") if op == "CreateJob" else body.get("JobName")
    if not name:
        return f"Glue {op} without a job name"
    arn = f"arn:{scope.partition}:glue:{scope.region}:{scope.account}:job/{name}"
    if op == "CreateJob":
        ctx = _map_tags(body.get("Tags") or {})
        out: list[tuple[str, str, dict[str, Any]]] = [("glue:CreateJob", arn, ctx)]
        if ctx:
            out.append(("glue:TagResource", arn, ctx))
        role = body.get("Role")
    elif op == "UpdateJob":
        out, role = [("glue:UpdateJob", arn, {})], (body.get("JobUpdate") or {}).get("Role")
    else:
        return [("glue:" + op, arn, {})]
    if role:
        out.append(("iam:PassRole", _role_arn(role, scope), {"iam:PassedToService": GLUE_SERVICE}))
    return out


def logs_requests(op: str, body: Mapping[str, Any], scope: Scope) -> list[tuple[str, str, dict[str, Any]]] | str:
    group, stream = body.get("logGroupName"), body.get("logStreamName")
    base = f"arn:{scope.partition}:logs:{scope.region}:{scope.account}:log-group:{group}"
    if op in ("GetLogEvents", "PutLogEvents", "CreateLogStream") and group and stream:
        return [("logs:" + op, f"{base}:log-stream:{stream}", {})]
    if op == "CreateLogGroup" and group:
        return [("logs:CreateLogGroup", base, {})]
    return f"CloudWatch Logs {op} has no IAM rule here"


# --------------------------------------------------------------------------- IAM, EC2, Service Quotas (doctor)


def _xml_text(body: bytes, tag: str) -> str | None:
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    for el in root.iter():
        if el.tag.rsplit("}", 1)[-1] == tag:
            return el.text
    return None


def query_requests(service: str, body: bytes, response: bytes, scope: Scope) -> list[tuple[str, str, dict[str, Any]]] | str:
    """The query-protocol calls doctor makes: IAM's GetRole and GetInstanceProfile, EC2's Describe*."""
    params = {k: v[0] for k, v in parse_qs(body.decode(errors="replace")).items()}
    op = params.get("Action", "")
    if service == "ec2" and op.startswith("Describe"):
        return [("ec2:" + op, "*", {})]
    if service == "iam" and op in ("GetRole", "GetInstanceProfile"):
        kind, name = ("role", params.get("RoleName")) if op == "GetRole" else ("instance-profile", params.get("InstanceProfileName"))
        if not name:
            return f"IAM {op} without a name"
        # the response's Arn carries the path; the whole profile's Arn is the first Arn in it
        arn = _xml_text(response, "Arn") if response else None
        return [("iam:" + op, arn or f"arn:{scope.partition}:iam::{scope.account}:{kind}/{name}", {})]
    return f"{service} {op or '?'} has no IAM rule here"


def quotas_requests(op: str, body: Mapping[str, Any], scope: Scope) -> list[tuple[str, str, dict[str, Any]]] | str:
    if op == "GetServiceQuota" and body.get("ServiceCode") and body.get("QuotaCode"):
        arn = f"arn:{scope.partition}:servicequotas:{scope.region}:{scope.account}:{body['ServiceCode']}/{body['QuotaCode']}"
        return [("servicequotas:GetServiceQuota", arn, {})]
    return f"Service Quotas {op} has no IAM rule here"


# --------------------------------------------------------------------------- all calls


def _json(data: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(data or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def iam_requests(seen: Iterable[Any], scope: Scope) -> tuple[list[IamRequest], list[str]]:
    """IAM requests of the recorded calls (faults.proxy.Seen), and the calls that could not be mapped."""
    seen = list(seen)
    out: list[IamRequest] = []
    problems: list[str] = []
    emr_calls = [
        (s.op, _json(s.body), _json(s.response)) for s in seen if (signer(s.headers, s.path) or ("", "", ""))[2] == "elasticmapreduce"
    ]
    tags = cluster_tags(emr_calls)
    iterators = stream_iterators(
        (s.headers.get("x-amz-target", "").rpartition(".")[2], _json(s.body), _json(s.response))
        for s in seen
        if s.headers.get("x-amz-target", "").startswith(STREAMS_TARGET)
    )
    sls_tags = serverless_tags(
        (s.method, s.path, _json(s.body), _json(s.response))
        for s in seen
        if (signer(s.headers, s.path) or ("", "", ""))[2] == "emr-serverless"
    )
    for s in seen:
        sig = signer(s.headers, s.path)
        where = f"{s.method} {s.path[:160]}" + (f" ({s.headers.get('x-amz-target')})" if s.headers.get("x-amz-target") else "")
        if sig is None:
            problems.append(f"unsigned request: {where}")
            continue
        key, region, service = sig
        principal = scope.principals.get(key)
        if principal is None:
            problems.append(f"signed with an unknown access key {key!r}: {where}")
            continue
        if region != scope.region and not (service == "iam" and region == "us-east-1"):  # IAM is global, signed for us-east-1
            problems.append(f"signed for region {region}, not {scope.region}: {where}")
            continue
        mapped: list[tuple[str, str, dict[str, Any]]] | str
        if service == "s3":
            mapped = s3_requests(s.method, s.path, s.headers, s.body, s.status, scope)
            op = s3_api_operation(s.method, s.path, s.headers) or "?"
        elif service == "dynamodb" and s.headers.get("x-amz-target", "").startswith(STREAMS_TARGET):
            op = s.headers.get("x-amz-target", "").rpartition(".")[2]
            mapped = streams_requests(op, _json(s.body), iterators, scope)
        elif service == "dynamodb":
            op = s.headers.get("x-amz-target", "").rpartition(".")[2]
            mapped = dynamodb_requests(op, _json(s.body), _json(s.response), scope)
        elif service == "elasticmapreduce":
            op = s.headers.get("x-amz-target", "").rpartition(".")[2]
            mapped = emr_requests(op, _json(s.body), _json(s.response), tags, scope)
        elif service == "emr-serverless":
            op = f"{s.method} {urlsplit(s.path).path}"
            mapped = serverless_requests(s.method, s.path, _json(s.body), _json(s.response), sls_tags, scope)
        elif service == "glue":
            op = s.headers.get("x-amz-target", "").rpartition(".")[2]
            mapped = glue_requests(op, _json(s.body), scope)
        elif service == "logs":
            op = s.headers.get("x-amz-target", "").rpartition(".")[2]
            mapped = logs_requests(op, _json(s.body), scope)
        elif service in ("iam", "ec2"):
            op = (parse_qs(s.body.decode(errors="replace")).get("Action") or ["?"])[0]
            mapped = query_requests(service, s.body, s.response or b"", scope)
        elif service == "servicequotas":
            op = s.headers.get("x-amz-target", "").rpartition(".")[2]
            mapped = quotas_requests(op, _json(s.body), scope)
        elif service == "sts":
            op = (parse_qs(s.body.decode(errors="replace")).get("Action") or ["?"])[0]
            mapped = [("sts:" + op, "*", {})] if op != "?" else "STS call without an Action"
        else:
            mapped, op = f"no IAM rules for service {service!r}", "?"
        if isinstance(mapped, str):
            problems.append(f"{mapped}: {where}")
            continue
        call = f"{service} {op} {where} -> {s.status}"
        out += [IamRequest(principal, action, resource, ctx, call) for action, resource, ctx in mapped]
    return out, problems


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class Decision:
    decision: str  # Allowed | ImplicitlyDenied | ExplicitlyDenied | Error
    allowed_by: tuple[str, ...]  # "<document>:<Sid>" of every Allow statement that matched
    ignored_context_keys: tuple[str, ...]
    error: str | None = None


def evaluate(requests: list[IamRequest], principals: Mapping[str, tuple[str, Mapping[str, Any]]], account: str) -> list[Decision]:
    """Each request's decision under its principal's identity policies ({name: (role ARN, {document
    name: policy})}), by @cloud-copilot/iam-simulate in one node process (tests/iam/evaluate.mjs)."""
    if not requests:
        return []
    doc = {
        "account": account,
        "principals": {name: {"arn": arn, "policies": dict(docs)} for name, (arn, docs) in principals.items()},
        "requests": [{"principal": r.principal, "action": r.action, "resource": r.resource, "context": dict(r.context)} for r in requests],
    }
    proc = subprocess.run(["node", str(EVALUATOR)], check=False, input=json.dumps(doc), capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"{EVALUATOR.name} failed (run `make node`?): {proc.stderr[-3000:]}")
    return [
        Decision(d["decision"], tuple(d.get("allowedBy", ())), tuple(d.get("ignoredContextKeys", ())), d.get("error"))
        for d in json.loads(proc.stdout)
    ]


def granted(docs: Mapping[str, Mapping[str, Any]]) -> set[tuple[str, str, str]]:
    """(document, Sid, action) of every Allow statement's actions."""
    out = set()
    for name, doc in docs.items():
        for i, st in enumerate(doc["Statement"]):
            if st["Effect"] != "Allow":
                continue
            for action in [st["Action"]] if isinstance(st["Action"], str) else st["Action"]:
                out.add((name, st.get("Sid", str(i + 1)), action))
    return out


def used(requests: list[IamRequest], decisions: list[Decision]) -> set[tuple[str, str, str]]:
    """(document, Sid, action) that allowed at least one request."""
    out = set()
    for r, d in zip(requests, decisions, strict=True):
        if d.decision == "Allowed":
            for ref in d.allowed_by:
                doc, _, sid = ref.partition(":")
                out.add((doc, sid, r.action))
    return out
