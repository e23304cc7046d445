"""Least-privilege IAM policy documents for each way of running ddb-s3 (pure functions).

    local    the person or CI role running `ddb-s3 export --runner local` (+ verify/download)
    emr      two documents: `launcher` (who runs `ddb-s3 export --runner emr`: EMR API, PassRole,
             artifacts upload, planning and verify) and `instance_role` (the cluster's EC2
             instance profile: the Spark/Hive step scans the table and writes the export)
    emr-serverless  two documents: `launcher` (who runs `ddb-s3 export --runner emr-serverless`:
             applications and job runs, PassRole of the job role, artifacts, planning, verify, the
             driver's logs) and `job_role` (the job runtime role: the Spark job scans the table, writes
             the export, reads the artifacts and writes its logs)
    glue     two documents: `launcher` (the Glue job: create/update, run, stop, delete; PassRole of the
             job role; the driver's stderr from CloudWatch Logs; artifacts, planning, verify) and
             `job_role` (the Glue job's role: the Spark job and its CloudWatch logs)
    native   ExportTableToPointInTime (no cluster) + verify
    restore  reading an export and writing it into a table (`ddb-s3 restore`)

Every statement names its resources: the one table (or, for `export --table 'orders-*'`, the
tables the glob names, as an IAM ARN pattern, plus ListTables to expand it), the one bucket and prefix (objects under
<prefix>/*, ListBucket limited to the prefix), the roles passed, the KMS key when SSE-KMS is used.
The only `*` resources are the actions that take no resource-level ARN (EMR's RunJobFlow at creation
time and ListClusters, EMR Serverless' CreateApplication and ListApplications, and the EC2 Describe*
calls of `iam-policy --for doctor`). RunJobFlow and the tags it sets are allowed only with our managed tag, and
TerminateJobFlows only on clusters that carry it; steps may be added to and read from any cluster,
because `--cluster j-...` names the user's own cluster.
"""

from __future__ import annotations

import re
from typing import Any

from launcher.core.emr import MANAGED_TAG
from launcher.core.errors import BadInput

RUNNERS = ("local", "emr", "emr-serverless", "glue", "native", "restore")
PURPOSES = ("run", "doctor")  # `iam-policy --for`: what the runner calls, or what `ddb-s3 doctor` calls
DOCTOR_RUNNERS = ("emr", "emr-serverless", "glue")
_TABLE = re.compile(r"^[a-zA-Z0-9_.-]{3,255}$")
_TABLE_GLOB = re.compile(r"^[a-zA-Z0-9_.*?-]{1,255}$")  # IAM ARN patterns know * and ?, not [...]
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_ACCOUNT = re.compile(r"^\d{12}$")
_ROLE = re.compile(r"^[\w+=,.@-]{1,64}$")
# A role's ARN: role/<path><name>, the path "/" or /segments/ (console-made EMR Serverless and Glue
# roles live under /service-role/); IAM API reference, RoleName and Path.
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}$")
_PROFILE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:instance-profile/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,128}$")
# Service-linked roles the services create in the caller's name on first use, each only for its
# service (iam:AWSServiceName), at its documented path: EMR Serverless' on the first CreateApplication
# (EMR Serverless User Guide, "Using service-linked roles"), EMR's cleanup role on the first cluster
# (EMR Management Guide, "Using the service-linked role for Amazon EMR").
SERVICE_LINKED_ROLES = {
    "emr": ("elasticmapreduce.amazonaws.com", "AWSServiceRoleForEMRCleanup"),
    "emr-serverless": ("ops.emr-serverless.amazonaws.com", "AWSServiceRoleForAmazonEMRServerless"),
}
# EC2's vCPU quotas an EMR cluster's instances count against (Service Quotas, service code ec2):
# "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances" and "All Standard (A, C, D, H, I,
# M, R, T, Z) Spot Instance Requests", both in vCPUs.
EC2_ON_DEMAND_VCPU_QUOTA = "L-1216C47A"
EC2_SPOT_VCPU_QUOTA = "L-34B43A08"
_KMS_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")
# EmrRunner tags every cluster it starts with it (launcher/core/emr.py); the launcher may start and end only those.
MANAGED = {"aws:RequestTag/" + MANAGED_TAG: "true"}


def partition(region: str | None) -> str:
    if region and region.startswith("cn-"):
        return "aws-cn"
    if region and region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _check(table: str, bucket: str, prefix: str, region: str | None, account: str | None, kms_key_arn: str | None) -> str:
    if not (_TABLE.match(table or "") or (_is_glob(table) and _TABLE_GLOB.match(table))):
        raise BadInput(f"--table {table!r}: must be 3-255 characters of a-z A-Z 0-9 _ . -, or a glob of them with * and ?")
    if not _BUCKET.match(bucket or "") or ".." in bucket:
        raise BadInput(f"--bucket {bucket!r} is not a valid S3 bucket name (give the name, not an s3:// URI)")
    if any(c in prefix for c in "*?") or "//" in prefix:
        raise BadInput(f"--prefix {prefix!r}: no wildcards or empty segments")
    if region is not None and not _REGION.match(region):
        raise BadInput(f"--region {region!r} is not an AWS region name like us-east-1")
    if account is not None and not _ACCOUNT.match(account):
        raise BadInput(f"--account {account!r} must be a 12-digit AWS account id")
    if kms_key_arn is not None and not _KMS_ARN.match(kms_key_arn):
        raise BadInput(f"--kms-key-arn {kms_key_arn!r} is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)")
    return prefix.strip("/")


def _is_glob(table: str) -> bool:
    return any(c in (table or "") for c in "*?")


def _list_tables(table: str) -> list[dict[str, Any]]:
    """`export --table 'orders-*'` lists the tables to expand the glob (ListTables takes no resource)."""
    return [{"Sid": "ListTablesForGlob", "Effect": "Allow", "Action": ["dynamodb:ListTables"], "Resource": "*"}] if _is_glob(table) else []


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [s for s in statements if s]}


class _Arns:
    def __init__(self, table: str, bucket: str, prefix: str, region: str | None, account: str | None) -> None:
        self.p = partition(region)
        self.region, self.account = region or "*", account or "*"
        self.table_name, self.bucket, self.prefix = table, bucket, prefix

    @property
    def table(self) -> str:
        return f"arn:{self.p}:dynamodb:{self.region}:{self.account}:table/{self.table_name}"

    @property
    def exports(self) -> str:  # native export ids live under the table
        return self.table + "/export/*"

    @property
    def bucket_arn(self) -> str:
        return f"arn:{self.p}:s3:::{self.bucket}"

    def objects(self, sub: str = "") -> str:
        base = "/".join(x for x in (self.prefix, sub) if x)
        return f"arn:{self.p}:s3:::{self.bucket}/{base + '/' if base else ''}*"

    def list_condition(self, sub: str = "") -> dict[str, Any]:
        base = "/".join(x for x in (self.prefix, sub) if x)
        if not base:
            return {}
        return {"Condition": {"StringLike": {"s3:prefix": [base, base + "/*"]}}}

    def role(self, name: str) -> str:
        """A role's ARN: as given, or from a name at the path "/" (a role under a path needs its ARN)."""
        return name if name.startswith("arn:") else f"arn:{self.p}:iam::{self.account}:role/{name}"

    def role_any_path(self, name: str) -> list[str]:
        """The role wherever its path is (doctor looks it up by name, to find the path). A role that does
        not exist has no path: IAM authorises its GetRole on role/<name>, which doctor must reach to
        answer "not found" rather than "access denied"."""
        if name.startswith("arn:"):
            return [name, self.role(name.rpartition("/")[2])]
        return [self.role(name), f"arn:{self.p}:iam::{self.account}:role/*/{name}"]

    def profile_any_path(self, name: str) -> list[str]:
        base = f"arn:{self.p}:iam::{self.account}:instance-profile/"
        if name.startswith("arn:"):
            return [name, base + name.rpartition("/")[2]]
        return [base + name, base + "*/" + name]

    def service_linked_role(self, runner: str) -> str:
        service, name = SERVICE_LINKED_ROLES[runner]
        return f"arn:{self.p}:iam::{self.account}:role/aws-service-role/{service}/{name}"


def _create_service_linked_role(a: _Arns, runner: str) -> dict[str, Any]:
    """The service creates its service-linked role as the caller the first time it is used in the
    account; allowed for that one role and service, as AWS documents the grant."""
    service, _ = SERVICE_LINKED_ROLES[runner]
    return {
        "Sid": "CreateServiceLinkedRole",
        "Effect": "Allow",
        "Action": ["iam:CreateServiceLinkedRole"],
        "Resource": a.service_linked_role(runner),
        "Condition": {"StringLike": {"iam:AWSServiceName": service}},
    }


def _doctor(a: _Arns, runner: str, roles: list[str], instance_profile: str | None = None) -> dict[str, Any]:
    """What `ddb-s3 doctor --runner R` calls, all read-only (`iam-policy --for doctor`): the table
    (DescribeTable), the bucket (its region, and a listing of the export's prefix, as the export makes
    it), the roles looked up by name wherever their path is (role/<name> and role/*/<name>: finding
    the path is the point), the service-linked role, and for EMR the instance profile, the subnet and
    its routes (EC2's Describe* take no resource ARN) and the EC2 vCPU quotas the cluster counts against."""
    role_arns = [arn for role in roles for arn in a.role_any_path(role)]
    if runner in SERVICE_LINKED_ROLES:  # at its documented path, or not there yet (role/<name>)
        role_arns += [a.service_linked_role(runner), a.role(SERVICE_LINKED_ROLES[runner][1])]
    out: list[dict[str, Any]] = [
        {"Sid": "DoctorTable", "Effect": "Allow", "Action": ["dynamodb:DescribeTable"], "Resource": a.table},
        {"Sid": "DoctorBucketList", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": a.bucket_arn, **a.list_condition()},
        {"Sid": "DoctorBucketRegion", "Effect": "Allow", "Action": ["s3:GetBucketLocation"], "Resource": a.bucket_arn},
        {"Sid": "DoctorRoles", "Effect": "Allow", "Action": ["iam:GetRole"], "Resource": role_arns},
    ]
    if runner != "emr":
        return _doc(*out)
    quotas = [f"arn:{a.p}:servicequotas:{a.region}:{a.account}:ec2/{code}" for code in (EC2_ON_DEMAND_VCPU_QUOTA, EC2_SPOT_VCPU_QUOTA)]
    return _doc(
        *out,
        {
            "Sid": "DoctorInstanceProfile",
            "Effect": "Allow",
            "Action": ["iam:GetInstanceProfile"],
            # Without --instance-profile, the profile is taken to be named as its role (EMR_EC2_DefaultRole's
            # is); doctor reads the profile's real role and says which to print the policy with.
            "Resource": a.profile_any_path(instance_profile or "EMR_EC2_DefaultRole"),
        },
        {
            "Sid": "DoctorNetwork",
            "Effect": "Allow",
            "Action": ["ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeRouteTables", "ec2:DescribeVpcEndpoints"],
            "Resource": "*",
        },
        {"Sid": "DoctorQuotas", "Effect": "Allow", "Action": ["servicequotas:GetServiceQuota"], "Resource": quotas},
    )


def _s3_read(a: _Arns, sid: str, sub: str = "") -> list[dict[str, Any]]:
    return [
        {"Sid": sid + "List", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": a.bucket_arn, **a.list_condition(sub)},
        {"Sid": sid + "Read", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": a.objects(sub)},
    ]


def _s3_write(a: _Arns, sid: str, sub: str = "") -> dict[str, Any]:
    """The export job's writes: PutObject (single and multipart uploads), AbortMultipartUpload (a data
    file whose upload failed), DeleteObject (the commit removes failed task attempts' files, orphans,
    from the export's data/). No ListMultipartUploadParts: the job keeps its own part list."""
    actions = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"]
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": a.objects(sub)}


def _kms(kms_key_arn: str | None, write: bool) -> dict[str, Any]:
    if not kms_key_arn:
        return {}
    actions = ["kms:Decrypt"] + (["kms:GenerateDataKey"] if write else [])
    return {"Sid": "SseKmsKey", "Effect": "Allow", "Action": actions, "Resource": kms_key_arn}


def _describe(a: _Arns) -> dict[str, Any]:
    return {
        "Sid": "PlanDescribeTable",
        "Effect": "Allow",
        "Action": ["dynamodb:DescribeTable", "dynamodb:DescribeContinuousBackups"],
        "Resource": a.table,
    }


def _scan(a: _Arns) -> dict[str, Any]:
    return {"Sid": "ScanTable", "Effect": "Allow", "Action": ["dynamodb:DescribeTable", "dynamodb:Scan"], "Resource": a.table}


def policies(runner: str, table: str, bucket: str, *args: Any, as_of: bool = False, **kw: Any) -> dict[str, dict[str, Any]]:
    """{document name: IAM policy document} for the runner (`_policies`, same arguments); with `as_of`
    (export --as-of / --incremental-since), every document that scans the table also reads its
    stream, and the launcher's checks the stream before any read.

    No dynamodb:ListStreams: the stream's ARN is DescribeTable's LatestStreamArn (the launcher's
    plan hands it to the job), so no call lists streams, and ListStreams takes no resource ARN (it
    would be granted on "*", every table's streams). tests/iam records every stream call of an
    --as-of export on each runner and evaluates it against these documents."""
    docs = _policies(runner, table, bucket, *args, **kw)
    scan = next((st for doc in docs.values() for st in doc["Statement"] if st.get("Sid") == "ScanTable"), None)
    if as_of and runner not in ("native", "restore") and scan is not None:  # `iam-policy --for doctor` scans nothing
        stream = f"{scan['Resource']}/stream/*"  # the table's ARN (or the glob's ARN pattern), as scanned
        for name, doc in docs.items():
            sids = {st.get("Sid") for st in doc["Statement"]}
            if "ScanTable" in sids:  # the Spark job's driver and tasks (or this process) read the stream
                doc["Statement"].append(
                    {
                        "Sid": "ReadStream",
                        "Effect": "Allow",
                        "Action": ["dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords"],
                        "Resource": stream,
                    }
                )
            elif name == "launcher":  # the check before any read
                doc["Statement"].append(
                    {"Sid": "CheckStream", "Effect": "Allow", "Action": ["dynamodb:DescribeStream"], "Resource": stream}
                )
    return docs


def _policies(
    runner: str,
    table: str,
    bucket: str,
    prefix: str = "",
    region: str | None = None,
    account: str | None = None,
    kms_key_arn: str | None = None,
    service_role: str = "EMR_DefaultRole",
    instance_role: str = "EMR_EC2_DefaultRole",
    artifacts_prefix: str | None = None,
    log_prefix: str | None = None,
    job_role: str | None = None,
    glue_job: str | None = None,
    instance_profile: str | None = None,
    purpose: str = "run",
) -> dict[str, dict[str, Any]]:
    """{document name: IAM policy document} for the runner. A role given by name is taken at the
    path "/" (role/<name>); one under a path (/service-role/) must be given as its ARN (`ddb-s3 doctor`
    says which). purpose "doctor": {"doctor": what `ddb-s3 doctor --runner R` calls, read-only}."""
    if runner not in RUNNERS:
        raise BadInput(f"--runner {runner!r}: must be one of {', '.join(RUNNERS)}")
    prefix = _check(table, bucket, prefix, region, account, kms_key_arn)
    job_role = job_role or ("ddb-s3-glue-job" if runner == "glue" else "ddb-s3-serverless-job")
    if glue_job is not None and not re.fullmatch(r"[\w.:+=@-][\w .:+=@-]{0,254}", glue_job):
        raise BadInput(f"--glue-job {glue_job!r} is not a Glue job name")
    for flag, role in (("--service-role", service_role), ("--instance-role", instance_role), ("--job-role", job_role)):
        if not (_ROLE.match(role) or _ROLE_ARN.match(role)):
            raise BadInput(f"{flag} {role!r} is not an IAM role name or role ARN (arn:aws:iam::<account>:role/<path/><name>)")
    if instance_profile is not None and not (_ROLE.match(instance_profile) or _PROFILE_ARN.match(instance_profile)):
        raise BadInput(f"--instance-profile {instance_profile!r} is not an instance profile name or ARN")
    if runner == "restore" and _is_glob(table):
        raise BadInput(f"--table {table!r}: a restore writes one table; give its name")
    a = _Arns(table, bucket, prefix, region, account)
    if purpose not in PURPOSES:
        raise BadInput(f"--for {purpose!r}: must be one of {', '.join(PURPOSES)}")
    if purpose == "doctor":
        if runner not in DOCTOR_RUNNERS:
            raise BadInput(f"--for doctor: doctor checks the runners {', '.join(DOCTOR_RUNNERS)}, not {runner}")
        roles = {"emr": [service_role], "emr-serverless": [job_role], "glue": [job_role]}[runner]
        return {"doctor": _doctor(a, runner, roles, instance_profile or instance_role.rpartition("/")[2])}
    if runner == "local":
        return {
            "local": _doc(
                *_list_tables(table),
                _describe(a),
                _scan(a),
                *_s3_read(a, "Export"),
                _s3_write(a, "ExportWrite"),
                _kms(kms_key_arn, write=True),
            )
        }
    if runner == "native":
        return {
            "native": _doc(
                *_list_tables(table),
                _describe(a),
                {"Sid": "NativeExport", "Effect": "Allow", "Action": ["dynamodb:ExportTableToPointInTime"], "Resource": a.table},
                {"Sid": "NativeExportStatus", "Effect": "Allow", "Action": ["dynamodb:DescribeExport"], "Resource": a.exports},
                # DynamoDB writes the export as the caller: these are checked against the caller's policy.
                {
                    "Sid": "NativeExportWrite",
                    "Effect": "Allow",
                    "Action": ["s3:PutObject", "s3:AbortMultipartUpload", "s3:PutObjectAcl"],
                    "Resource": a.objects(),
                },
                *_s3_read(a, "Verify"),
                _kms(kms_key_arn, write=True),
            )
        }
    if runner == "restore":
        return {
            "restore": _doc(
                *_s3_read(a, "ReadExport"),  # ListBucket: which manifests and checksum files the export has
                {
                    "Sid": "RestoreTable",
                    "Effect": "Allow",
                    "Action": [
                        "dynamodb:DescribeTable",
                        "dynamodb:CreateTable",
                        "dynamodb:BatchWriteItem",
                        "dynamodb:PutItem",
                        "dynamodb:GetItem",
                        "dynamodb:Scan",
                    ],  # GetItem: a put refused because the key exists is compared with the existing item;
                    # Scan: check an existing table is empty before writing
                    "Resource": a.table,
                },
                _kms(kms_key_arn, write=False),
            )
        }
    # emr, emr-serverless: the launcher and the role the job runs as
    artifacts = artifacts_prefix if artifacts_prefix is not None else "/".join(x for x in (prefix, "_ddb_s3_artifacts") if x)
    logs = log_prefix.strip("/") if log_prefix is not None else None
    art = _Arns(table, bucket, artifacts.strip("/"), region, account)
    if runner == "emr-serverless":
        return _serverless(a, art, logs, job_role, kms_key_arn)
    if runner == "glue":
        return _glue(a, art, job_role, glue_job, kms_key_arn)
    clusters = f"arn:{a.p}:elasticmapreduce:{a.region}:{a.account}:cluster/*"
    launcher = _doc(
        *_list_tables(table),
        _describe(a),
        # A table DescribeTable has not counted yet is sized from one segment of a 1000-way Scan.
        {"Sid": "PlanSampleSize", "Effect": "Allow", "Action": ["dynamodb:Scan"], "Resource": a.table},
        {
            "Sid": "EmrStart",
            "Effect": "Allow",
            "Action": ["elasticmapreduce:RunJobFlow"],
            "Resource": "*",
            "Condition": {"StringEquals": MANAGED},
        },
        {
            "Sid": "EmrTagOnCreate",
            "Effect": "Allow",
            "Action": ["elasticmapreduce:AddTags"],
            "Resource": clusters,
            "Condition": {"StringEquals": MANAGED},
        },
        {
            "Sid": "EmrRunSteps",
            "Effect": "Allow",
            "Action": [
                "elasticmapreduce:AddJobFlowSteps",
                "elasticmapreduce:DescribeCluster",
                "elasticmapreduce:DescribeStep",
                "elasticmapreduce:ListSteps",
            ],
            "Resource": clusters,
        },
        {
            "Sid": "EmrEndOwnClusters",
            "Effect": "Allow",
            "Action": ["elasticmapreduce:TerminateJobFlows"],
            "Resource": clusters,
            "Condition": {"StringEquals": {"aws:ResourceTag/" + MANAGED_TAG: "true"}},
        },
        # RunJobFlow with an AutoTerminationPolicy attaches it to the new cluster: EMR authorises
        # PutAutoTerminationPolicy (and reads it back, GetAutoTerminationPolicy) as the caller.
        {
            "Sid": "EmrAutoTermination",
            "Effect": "Allow",
            "Action": ["elasticmapreduce:PutAutoTerminationPolicy", "elasticmapreduce:GetAutoTerminationPolicy"],
            "Resource": clusters,
        },
        # `clusters list` and the cleanup after an interrupted RunJobFlow; ListClusters has no resource ARN.
        {"Sid": "EmrListClusters", "Effect": "Allow", "Action": ["elasticmapreduce:ListClusters"], "Resource": "*"},
        # RunJobFlow passes the service role to EMR and the instance profile's role to EC2, each only
        # there; StringLike "...amazonaws.com*" as AWS's own AmazonEMRFullAccessPolicy_v2 writes it, so
        # that aws-cn's ec2.amazonaws.com.cn matches too.
        {
            "Sid": "PassEmrServiceRole",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": a.role(service_role),
            "Condition": {"StringLike": {"iam:PassedToService": "elasticmapreduce.amazonaws.com*"}},
        },
        {
            "Sid": "PassInstanceRole",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": a.role(instance_role),
            "Condition": {"StringLike": {"iam:PassedToService": "ec2.amazonaws.com*"}},
        },
        # The first cluster in an account creates EMR's cleanup service-linked role as the caller.
        _create_service_linked_role(a, "emr"),
        # Each artifact is one PutObject (ArtifactStore.upload): no multipart upload to abort.
        {"Sid": "UploadArtifacts", "Effect": "Allow", "Action": ["s3:PutObject"], "Resource": art.objects()},
        *_s3_read(a, "Verify"),
        *(_s3_read(_Arns(table, bucket, logs, region, account), "StepLogs") if logs is not None else []),
        _kms(kms_key_arn, write=True),
    )
    instance = _doc(
        _scan(a),
        *_s3_read(a, "Export"),
        _s3_write(a, "ExportWrite"),
        {"Sid": "ReadArtifacts", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": art.objects()},
        *(
            [
                {
                    "Sid": "WriteLogs",
                    "Effect": "Allow",
                    "Action": ["s3:PutObject"],
                    "Resource": _Arns(table, bucket, logs, region, account).objects(),
                }
            ]
            if logs is not None
            else []
        ),
        _kms(kms_key_arn, write=True),
    )
    return {"launcher": launcher, "instance_role": instance}


def _serverless(a: _Arns, art: _Arns, logs: str | None, job_role: str, kms_key_arn: str | None) -> dict[str, dict[str, Any]]:
    """EMR Serverless: CreateApplication and its tags only with our managed tag; StopApplication and
    DeleteApplication only on applications that carry it (`--application-id` names the user's own,
    untagged one, which is only read and run on); job runs on any application of the account."""
    base = f"arn:{a.p}:emr-serverless:{a.region}:{a.account}:/applications"
    log_arns = _Arns(a.table_name, a.bucket, logs, a.region, a.account) if logs is not None else None
    launcher = _doc(
        _describe(a),
        {"Sid": "PlanSampleSize", "Effect": "Allow", "Action": ["dynamodb:Scan"], "Resource": a.table},
        # CreateApplication has no resource ARN (IAM takes "*" only); allowed with our managed tag alone.
        {
            "Sid": "ServerlessCreate",
            "Effect": "Allow",
            "Action": ["emr-serverless:CreateApplication"],
            "Resource": "*",
            "Condition": {"StringEquals": MANAGED},
        },
        # CreateApplication and StartJobRun tag what they create: the tags must include ours.
        {
            "Sid": "ServerlessTagOnCreate",
            "Effect": "Allow",
            "Action": ["emr-serverless:TagResource"],
            "Resource": [base + "/*", base + "/*/jobruns/*"],
            "Condition": {"StringEquals": MANAGED},
        },
        {
            "Sid": "ServerlessRun",
            "Effect": "Allow",
            "Action": ["emr-serverless:GetApplication", "emr-serverless:StartJobRun"],
            "Resource": base + "/*",
        },
        {
            "Sid": "ServerlessJobRuns",
            "Effect": "Allow",
            "Action": ["emr-serverless:GetJobRun", "emr-serverless:CancelJobRun"],
            "Resource": base + "/*/jobruns/*",
        },
        {
            "Sid": "ServerlessEndOwnApplications",
            "Effect": "Allow",
            "Action": ["emr-serverless:StopApplication", "emr-serverless:DeleteApplication"],
            "Resource": base + "/*",
            "Condition": {"StringEquals": {"aws:ResourceTag/" + MANAGED_TAG: "true"}},
        },
        # The cleanup after a CreateApplication interrupted before it returned; it has no resource ARN.
        {"Sid": "ServerlessListApplications", "Effect": "Allow", "Action": ["emr-serverless:ListApplications"], "Resource": "*"},
        {
            "Sid": "PassJobRole",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": a.role(job_role),
            "Condition": {"StringEquals": {"iam:PassedToService": "emr-serverless.amazonaws.com"}},
        },
        # The first application in an account creates EMR Serverless' service-linked role as the caller.
        _create_service_linked_role(a, "emr-serverless"),
        {"Sid": "UploadArtifacts", "Effect": "Allow", "Action": ["s3:PutObject"], "Resource": art.objects()},
        *_s3_read(a, "Verify"),
        *(_s3_read(log_arns, "DriverLogs") if log_arns is not None else []),
        _kms(kms_key_arn, write=True),
    )
    job = _doc(
        _scan(a),
        *_s3_read(a, "Export"),
        _s3_write(a, "ExportWrite"),
        {"Sid": "ReadArtifacts", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": art.objects()},
        {"Sid": "WriteLogs", "Effect": "Allow", "Action": ["s3:PutObject"], "Resource": log_arns.objects()} if log_arns else {},
        _kms(kms_key_arn, write=True),
    )
    return {"launcher": launcher, "job_role": job}


GLUE_JOB_PREFIX = "ddb-s3-export-"  # the jobs the Glue runner creates: ddb-s3-export-<export id>


def _glue(a: _Arns, art: _Arns, job_role: str, glue_job: str | None, kms_key_arn: str | None) -> dict[str, dict[str, Any]]:
    """Glue: jobs named ddb-s3-export-* (the ones the runner creates) are created only with our tag,
    run, stopped and deleted; `--glue-job NAME` adds that one job (read, updated, run and stopped,
    never deleted). The driver's stderr is read from its CloudWatch Logs stream."""
    jobs = f"arn:{a.p}:glue:{a.region}:{a.account}:job/"
    ours = jobs + GLUE_JOB_PREFIX + "*"
    logs = f"arn:{a.p}:logs:{a.region}:{a.account}:log-group:/aws-glue/jobs/"
    launcher = _doc(
        _describe(a),
        {"Sid": "PlanSampleSize", "Effect": "Allow", "Action": ["dynamodb:Scan"], "Resource": a.table},
        {"Sid": "GlueCreateJob", "Effect": "Allow", "Action": ["glue:CreateJob"], "Resource": ours, "Condition": {"StringEquals": MANAGED}},
        {
            "Sid": "GlueTagOnCreate",
            "Effect": "Allow",
            "Action": ["glue:TagResource"],
            "Resource": ours,
            "Condition": {"StringEquals": MANAGED},
        },
        {
            "Sid": "GlueRunJob",
            "Effect": "Allow",
            "Action": ["glue:StartJobRun", "glue:GetJobRun", "glue:BatchStopJobRun"],
            "Resource": [ours] + ([jobs + glue_job] if glue_job else []),
        },
        {"Sid": "GlueDeleteOwnJob", "Effect": "Allow", "Action": ["glue:DeleteJob"], "Resource": ours},
        {"Sid": "GlueUpdateNamedJob", "Effect": "Allow", "Action": ["glue:GetJob", "glue:UpdateJob"], "Resource": jobs + glue_job}
        if glue_job
        else {},
        {
            "Sid": "PassGlueJobRole",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": a.role(job_role),
            "Condition": {"StringEquals": {"iam:PassedToService": "glue.amazonaws.com"}},
        },
        {"Sid": "DriverLogs", "Effect": "Allow", "Action": ["logs:GetLogEvents"], "Resource": logs + "error:log-stream:*"},
        {"Sid": "UploadArtifacts", "Effect": "Allow", "Action": ["s3:PutObject"], "Resource": art.objects()},
        *_s3_read(a, "Verify"),
        _kms(kms_key_arn, write=True),
    )
    job = _doc(
        _scan(a),
        *_s3_read(a, "Export"),
        _s3_write(a, "ExportWrite"),
        {"Sid": "ReadArtifacts", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": art.objects()},
        # Glue writes the driver's and executors' output into these groups as the job's role.
        {"Sid": "JobLogGroups", "Effect": "Allow", "Action": ["logs:CreateLogGroup"], "Resource": logs + "*"},
        {"Sid": "JobLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": logs + "*:log-stream:*"},
        _kms(kms_key_arn, write=True),
    )
    return {"launcher": launcher, "job_role": job}


def actions(doc: dict[str, Any]) -> set[str]:
    """All actions a document allows (for tests and docs)."""
    out: set[str] = set()
    for st in doc["Statement"]:
        out.update([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
    return out
