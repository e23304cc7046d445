"""What an as-of export needs to know before it plans (the I/O side of plan.as_of_spec): the
table's stream as DescribeStream tells it, and for --incremental-since, the earlier as-of export
the changes start from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from launcher.aws.dynamodb import describe_stream
from launcher.aws.session import Aws
from launcher.backup.catalog import COMPLETE, LATEST, exports_root, list_exports
from launcher.backup.formats import detect
from launcher.backup.storage import open_location
from launcher.core.errors import BadInput
from launcher.core.layout import ddb_s3_fields
from launcher.core.s3args import S3WriteSettings
from launcher.core.s3uri import S3Uri
from launcher.core.table import TableInfo
from launcher.export.plan import BaseExport
from launcher.options import ExportRequest


def stream_of(aws: Aws, table: TableInfo) -> dict[str, Any] | None:
    return describe_stream(aws, table.stream_arn) if table.stream_arn else None


def base_export(aws: Aws, request: ExportRequest, table: TableInfo) -> BaseExport | None:
    """The export --incremental-since names (a URI, or 'latest': the newest complete as-of export of
    the table under --to), read from its summary."""
    which = request.incremental_since
    if not which:
        return None
    settings = S3WriteSettings(request.expected_bucket_owner, request.sse, request.sse_kms_key_id)
    if which == LATEST:
        where = request.destination
        entries = [
            e
            for e in list_exports(aws.client("s3"), where, settings, table.name)
            if e.state == COMPLETE and ddb_s3_fields(e.summary or {}).get("stream")
        ]
        if not entries:
            raise BadInput(
                f"--incremental-since latest: no complete --as-of export of table {table.name} under"
                f" s3://{where.bucket}/{exports_root(where)}: export with --as-of first"
            )
        which = entries[0].uri
    S3Uri.parse(which, "--incremental-since")
    summary = detect(open_location(which, aws, settings)).summary
    return base_from_summary(which, summary)


def base_from_summary(uri: str, summary: dict[str, Any]) -> BaseExport:
    ours = ddb_s3_fields(summary)
    stream = ours.get("stream") or {}
    if not stream.get("streamArn"):
        raise BadInput(
            f"--incremental-since {uri} is not an --as-of export (its summary names no stream): the changes since it are unknown"
        )
    at = datetime.fromisoformat(str(summary["exportTime"]).replace("Z", "+00:00"))
    return BaseExport(uri=uri, table=str(ours.get("tableName")), time=int(at.timestamp()), stream_arn=str(stream["streamArn"]))
