"""engine=native: DynamoDB's ExportTableToPointInTime. No cluster and no read capacity; needs PITR.
Full exports, or incremental ones (a time window). DynamoDB writes the native layout
(<prefix>/AWSDynamoDB/<export-id>/manifest-summary.json ...), which verify, download, restore and
convert all read."""

from __future__ import annotations

from typing import Any

from launcher.aws.dynamodb import DynamoDbHook
from launcher.export.plan import ExportPlan
from launcher.export.run import Handle, Runner, RunResult, Status


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
    """The Handle: the export's ARN. Nothing to tear down: a started native export runs to its end
    inside DynamoDB (the wait gives up after 24 hours unless told otherwise, the export goes on)."""

    name = "native"

    hook: DynamoDbHook | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.max_wait_seconds is None:
            self.max_wait_seconds = 24 * 3600.0

    def make_hook(self, plan: ExportPlan) -> DynamoDbHook:
        if self.hook is None:  # no S3 settings: the export's own request carries them (export_request)
            self.hook = DynamoDbHook(self.session(plan))
        return self.hook

    def submit(self, plan: ExportPlan) -> Handle:
        args = export_request(plan)
        desc = self.make_hook(plan).start_export(args, plan.table.name)
        self.progress(f"native export started: {desc['ExportArn']} ({args['ExportType']})")
        return Handle(desc["ExportArn"])

    def poll(self, plan: ExportPlan, handle: Handle) -> Status:
        desc = self.make_hook(plan).describe_export(handle.resource)
        status = desc.get("ExportStatus", "IN_PROGRESS")
        return Status(status != "IN_PROGRESS", f"native export {status.lower().replace('_', ' ')}", desc)

    def diagnose(self, plan: ExportPlan, handle: Handle, status: Status) -> str | None:
        desc = status.detail
        if desc.get("ExportStatus") != "COMPLETED":
            return f"native export {handle.resource} {desc.get('ExportStatus')}: {desc.get('FailureCode', '?')}: {desc.get('FailureMessage', '')}"
        if not desc.get("ExportManifest"):
            return f"native export {handle.resource} COMPLETED without an ExportManifest key: cannot locate its files"
        return None

    def result(self, plan: ExportPlan, handle: Handle, status: Status, seconds: float) -> RunResult:
        desc = status.detail
        root = desc["ExportManifest"].rsplit("/", 1)[0] + "/"  # <prefix>/AWSDynamoDB/<export-id>/manifest-summary.json
        uri = f"s3://{desc.get('S3Bucket', plan.bucket)}/{root}"
        self.progress(f"native export completed: {desc.get('ItemCount', '?')} items at {uri}")
        result = {
            "exportArn": handle.resource,
            "exportId": root.rstrip("/").rsplit("/", 1)[-1],
            "itemCount": desc.get("ItemCount"),
            "billedSizeBytes": desc.get("BilledSizeBytes"),
            "exportType": desc.get("ExportType", export_request(plan)["ExportType"]),
        }
        return RunResult(uri, result, seconds=seconds)

    def after_timeout(self, handle: Handle) -> str:
        return f"the export keeps running inside DynamoDB: check it with `aws dynamodb describe-export --export-arn {handle.resource}`"
