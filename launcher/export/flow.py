"""The export flow in one place: request -> inspect -> plan -> render -> run -> verify.

The CLI and the Airflow operator both call `plan_export` and then `run_and_verify`, so an export
is checked the same way whoever started it (region, ExpectedBucketOwner, SSE from the plan)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from launcher.aws.dynamodb import describe_table, with_sampled_size
from launcher.aws.ec2 import check_instance_type
from launcher.aws.s3 import check_bucket
from launcher.aws.session import Aws
from launcher.backends import BACKENDS, NATIVE
from launcher.backup.verify import VerifyReport, verify_export
from launcher.core.errors import DdbS3Error
from launcher.core.paths import runs_dir
from launcher.core.s3args import S3WriteSettings
from launcher.core.s3uri import S3Uri
from launcher.core.stream_rules import retention_seconds
from launcher.export.estimate import INSTANCE_PRICES
from launcher.export.plan import Engine, ExportPlan, RunnerName, make_plan
from launcher.export.run import Handle, Progress, ReadCounts, Runner, RunResult
from launcher.options import ExportRequest


@dataclass
class ExportOutcome:
    plan: ExportPlan
    run: RunResult
    report: VerifyReport | None  # None when verification was turned off

    @property
    def export_uri(self) -> str:
        return self.run.export_uri

    @property
    def export_id(self) -> str:
        # The native engine's export id is chosen by DynamoDB, so the runner's word wins.
        return str(self.run.result.get("exportId", self.plan.export_id))

    def doc(self) -> dict[str, Any]:
        """The result as JSON (CLI --json, Airflow's XCom)."""
        return {
            "table": self.plan.table.name,
            "exportUri": self.export_uri,
            "exportId": self.export_id,
            "itemCount": self.report.item_count if self.report else None,
            "dataFiles": len(self.report.files) if self.report else None,
            "seconds": round(self.run.seconds, 1),
            "clusterId": self.run.cluster_id,
        }


def plan_export(request: ExportRequest, aws: Aws | None = None, now: datetime | None = None) -> ExportPlan:
    """Inspect the table and the bucket, then plan (pure). Nothing is started here."""
    check_instance_type(request.instance_type, list(INSTANCE_PRICES))  # before any call: a typo is bad input
    aws = aws or Aws(request.region)
    table = describe_table(aws, request.table)
    if (
        (request.runner in ("auto", "emr", "emr-serverless", "glue") or request.engine == "auto")
        and request.engine != "native"
        and not (request.engine == "auto" and table.pitr_enabled)
    ):
        table = with_sampled_size(aws, table)  # the runner choice and the estimate need a size; native reads none
    check_bucket(aws, request.destination.bucket, request.destination.prefix, S3WriteSettings(request.expected_bucket_owner))
    endpoints = {"dynamodb": aws.endpoint("dynamodb"), "s3": aws.endpoint("s3")}
    stream, base = None, None
    if request.as_of or request.incremental_since:  # the stream's check comes before any read (plan.as_of_spec)
        from launcher.export.as_of import base_export, stream_of

        stream, base = stream_of(aws, table), base_export(aws, request, table)
        endpoints["dynamodbstreams"] = aws.endpoint("dynamodbstreams")
    return make_plan(
        request,
        table,
        region=aws.region_name,
        endpoints=endpoints,
        now=now or datetime.now(UTC),
        token=secrets.token_hex(4),
        stream=stream,
        base=base,
        stream_retention=retention_seconds(),
    )


KEPT_RUNS = 20  # the local runs' folders (step logs, rendered job) kept in the user's cache


def keep_recent_runs(folder: Path, keep: int = KEPT_RUNS) -> list[Path]:
    """Delete all but the `keep` newest run folders (by modification time) under `folder`, so the
    cache does not grow with every export; returns what was deleted. A folder a run is writing is
    among the newest."""
    import shutil

    if not folder.is_dir():
        return []
    runs = sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in runs[keep:]:
        shutil.rmtree(old, ignore_errors=True)
    return runs[keep:]


def runner_class(plan: ExportPlan) -> type[Runner]:
    """The plan's backend's runner (launcher/backends.py), imported on demand."""
    backend = NATIVE if plan.engine == Engine.NATIVE else BACKENDS[plan.runner]
    cls: type[Runner] = backend.runner_class()
    return cls


def make_runner(
    plan: ExportPlan,
    aws: Aws,
    progress: Progress = print,
    *,
    work_dir: Path | None = None,
    counts: ReadCounts | None = None,
    install_signal_handlers: bool = True,
) -> Runner:
    """The runner the plan asks for, on the session given (the CLI's, or an Airflow connection's).
    `counts` takes the read's running counts (default: a line every few seconds through progress)."""
    cls: Any = runner_class(plan)
    if plan.engine != Engine.NATIVE and plan.runner == RunnerName.LOCAL:  # its steps run here, in a folder
        if work_dir is None:
            work_dir = runs_dir()
            keep_recent_runs(work_dir)
        runner: Runner = cls(work_dir, progress, counts=counts)
        return runner
    return cls(
        progress,
        counts,
        aws=aws,
        poll_seconds=plan.poll_seconds,
        max_wait_seconds=plan.max_wait_seconds,
        install_signal_handlers=install_signal_handlers,
    )


def run_and_verify(plan: ExportPlan, runner: Runner, aws: Aws, *, check: bool = True, resume: Handle | None = None) -> ExportOutcome:
    """Run the plan (or go on with the run `resume` names), then verify what it wrote with the same
    session and the plan's S3 settings."""
    with runner:
        result = runner.run(plan, resume)
    report = check_export(result.export_uri, aws, plan.s3) if check else None
    return ExportOutcome(plan, result, report)


def interrupted_line(plan: ExportPlan, aws: Aws) -> str:
    """What an interrupted export left, in one line: committed (its summary manifest is written, so
    the export is complete though not verified by this run) or incomplete (never a backup; names it,
    and how to remove it)."""
    from launcher.backup.storage import open_location
    from launcher.core.layout import MANIFEST_SUMMARY

    uri = plan.export_uri
    try:
        committed = open_location(uri, aws, plan.s3).exists(MANIFEST_SUMMARY)
    except Exception:  # noqa: BLE001 - an interrupt's report must not fail: say what is unknown
        return f"export {uri}: interrupted; whether it was committed is unknown: `ddb-s3 verify {uri}` tells"
    try:
        written = committed or any(_holds_objects(aws, where, plan.s3) for where in (uri, plan.artifacts_uri))
    except Exception:  # noqa: BLE001 - a listing the policy does not allow: assume something was written
        written = True
    if committed:
        return f"export {uri} is complete (committed before the interrupt, not verified by this run): `ddb-s3 verify {uri}` checks it"
    if not written:
        return f"export {uri} was interrupted before it wrote anything to S3: nothing to clean up"
    where = uri.split("/AWSDynamoDB/")[0]
    return (
        f"export {uri} is incomplete (interrupted before its commit; never read as a backup): run the export again;"
        f" `ddb-s3 exports prune {where}` deletes it once older than --grace (24h); `--grace 0h` deletes it now,"
        " with every other incomplete export under that prefix, running or not"
    )


def _holds_objects(aws: Aws, uri: str, settings: S3WriteSettings) -> bool:
    where = S3Uri.parse(uri)
    page = aws.client("s3").list_objects_v2(Bucket=where.bucket, Prefix=where.key.rstrip("/") + "/", MaxKeys=1, **settings.read_args())
    return bool(page.get("KeyCount"))


def check_export(export_uri: str, aws: Aws, settings: S3WriteSettings) -> VerifyReport:
    """A finished export against its manifest: S3's stored checksums, no data downloaded."""
    report = verify_export(export_uri, aws, settings)
    if not report.ok:
        raise DdbS3Error(f"export {export_uri} failed verification: {report.problems[0]}")
    return report
