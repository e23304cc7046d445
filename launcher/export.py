"""The export flow in one place: request -> inspect -> plan -> render -> run -> verify."""
from __future__ import annotations

import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from botocore.exceptions import ClientError

from .aws import Aws, S3WriteSettings
from .errors import BadInput, DdbS3Error
from .inspect_table import describe_table
from .plan import ExportPlan, make_plan
from .request import ExportRequest
from .runners import RunResult
from .storage import open_location
from .verify import VerifyReport, verify


def plan_export(request: ExportRequest, aws: Aws | None = None, now: datetime | None = None) -> ExportPlan:
    aws = aws or Aws(request.region)
    table = describe_table(aws, request.table)
    check_bucket(aws, request)
    return make_plan(
        request,
        table,
        region=aws.region_name,
        endpoints={"dynamodb": aws.endpoint("dynamodb"), "s3": aws.endpoint("s3")},
        now=now or datetime.now(timezone.utc),
        token=secrets.token_hex(4),
    )


def check_bucket(aws: Aws, request: ExportRequest) -> None:
    """Fail before any cluster or Spark starts when the destination bucket is not usable."""
    bucket = request.destination.bucket
    settings = S3WriteSettings(request.expected_bucket_owner)
    try:
        aws.client("s3").head_bucket(Bucket=bucket, **settings.read_args())
    except ClientError as e:
        code = e.response["Error"]["Code"]
        if code in ("404", "NoSuchBucket", "NotFound"):
            raise BadInput(f"bucket {bucket!r} does not exist: create it or fix --to") from None
        if code in ("403", "AccessDenied"):
            raise DdbS3Error(f"access denied to bucket {bucket!r} (not owned by --expected-bucket-owner, or no s3:ListBucket)") from None
        raise DdbS3Error(f"cannot use bucket {bucket!r}: {code}") from None


def run_export(plan: ExportPlan, progress: Callable[[str], None] = print, work_dir: Path | None = None) -> RunResult:
    if plan.engine == "native":
        from .native import run_native_export  # ExportTableToPointInTime: no cluster, no Spark

        return run_native_export(plan, progress)
    if plan.request.runner == "local":
        from .runners.local import LocalRunner

        return LocalRunner(work_dir or Path(".cache/runs"), progress).run(plan)
    from .runners.emr import EmrRunner  # noqa: PLC0415  (boto3 EMR code only when asked for)

    return EmrRunner(progress=progress).run(plan)


def verify_export(where: str, aws: Aws | None = None, settings: S3WriteSettings | None = None) -> VerifyReport:
    return verify(open_location(where, aws, settings))
