"""engine=native: DynamoDB's ExportTableToPointInTime. No cluster and no read capacity; needs PITR.
Full exports, or incremental ones (a time window). DynamoDB writes the native layout
(<prefix>/AWSDynamoDB/<export-id>/manifest-summary.json ...), which verify, download, restore and
convert all read."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from launcher.aws.session import Aws
from launcher.core.errors import BadInput, DdbS3Error
from launcher.export.plan import ExportPlan
from launcher.export.run import Progress, Runner, RunResult


def export_request(plan: ExportPlan) -> dict[str, Any]:
    """The ExportTableToPointInTime request of a plan (pure)."""
    args: dict[str, Any] = {
        "TableArn": plan.table.arn,
        "S3Bucket": plan.bucket,
        "ExportFormat": "DYNAMODB_JSON",
        "ClientToken": plan.export_id,  # idempotent: a retried start does not start a second export
    }
    if plan.prefix:
        args["S3Prefix"] = plan.prefix
    args.update(plan.s3.export_args())
    if plan.export_from:  # the request checked the window
        spec: dict[str, Any] = {"ExportFromTime": plan.export_from, "ExportViewType": "NEW_AND_OLD_IMAGES"}
        if plan.export_to:
            spec["ExportToTime"] = plan.export_to
        args["ExportType"] = "INCREMENTAL_EXPORT"
        args["IncrementalExportSpecification"] = spec
    else:
        args["ExportType"] = "FULL_EXPORT"
    return args


class NativeRunner(Runner):
    """No cluster to clean up: a started native export runs to its end inside DynamoDB."""

    def run(self, plan: ExportPlan) -> RunResult:
        return run_native_export(plan, self.progress, poll_seconds=plan.poll_seconds)


def run_native_export(
    plan: ExportPlan, progress: Progress = print, *, aws: Aws | None = None, poll_seconds: float = 15.0, timeout_seconds: float = 24 * 3600
) -> RunResult:
    aws = aws or Aws(plan.region)
    ddb = aws.client("dynamodb")
    args = export_request(plan)
    t0 = time.monotonic()
    try:
        desc = ddb.export_table_to_point_in_time(**args)["ExportDescription"]
    except ClientError as e:
        code, msg = e.response["Error"]["Code"], e.response["Error"].get("Message", "")
        if code == "PointInTimeRecoveryUnavailableException":
            raise BadInput(f"point-in-time recovery is off on {plan.table.name!r}: enable it or use --engine spark") from None
        if code in ("InvalidExportTimeException", "ValidationException"):
            raise BadInput(f"ExportTableToPointInTime refused: {msg or code}") from None
        raise DdbS3Error(f"ExportTableToPointInTime failed: {code}: {msg}") from None
    arn = desc["ExportArn"]
    progress(f"native export started: {arn} ({args['ExportType']})")
    status = desc.get("ExportStatus", "IN_PROGRESS")
    while status == "IN_PROGRESS":
        if time.monotonic() - t0 > timeout_seconds:
            raise DdbS3Error(
                f"native export {arn} still IN_PROGRESS after {timeout_seconds:.0f}s; it keeps running: "
                "check it with aws dynamodb describe-export"
            )
        time.sleep(poll_seconds)
        desc = ddb.describe_export(ExportArn=arn)["ExportDescription"]
        status = desc.get("ExportStatus", "IN_PROGRESS")
        progress(f"native export {status.lower().replace('_', ' ')} after {time.monotonic() - t0:.0f}s")
    if status != "COMPLETED":
        raise DdbS3Error(f"native export {arn} {status}: {desc.get('FailureCode', '?')}: {desc.get('FailureMessage', '')}")
    manifest = desc.get("ExportManifest")  # <prefix>/AWSDynamoDB/<export-id>/manifest-summary.json
    if not manifest:
        raise DdbS3Error(f"native export {arn} COMPLETED without an ExportManifest key: cannot locate its files")
    root = manifest.rsplit("/", 1)[0] + "/"
    export_id = root.rstrip("/").rsplit("/", 1)[-1]
    uri = f"s3://{desc.get('S3Bucket', plan.bucket)}/{root}"
    progress(f"native export completed: {desc.get('ItemCount', '?')} items at {uri}")
    return RunResult(
        uri,
        {
            "exportArn": arn,
            "exportId": export_id,
            "itemCount": desc.get("ItemCount"),
            "billedSizeBytes": desc.get("BilledSizeBytes"),
            "exportType": args["ExportType"],
        },
        seconds=time.monotonic() - t0,
    )
