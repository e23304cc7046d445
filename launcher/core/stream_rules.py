"""When a table's stream can prove the table's state over a window of time (issue 25,
docs/as-of.md): the rules both the launcher's check before any read and the job's check before
the stream read apply. Pure; stdlib only."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

RETENTION_ENV = "DDB_S3_STREAM_RETENTION_S"  # the local stack's stand-in may keep records shorter
AWS_RETENTION_S = 24 * 3600  # DynamoDB Streams keeps a record 24 hours
MARGIN_S = 300  # the window must start this long after the oldest retained record: the read takes time
VIEW = "NEW_AND_OLD_IMAGES"


def retention_seconds(environ: Mapping[str, str] | None = None) -> int:
    value = (environ if environ is not None else os.environ).get(RETENTION_ENV)
    return int(value) if value else AWS_RETENTION_S


def enable_command(table: str) -> str:
    return f"aws dynamodb update-table --table-name {table} --stream-specification StreamEnabled=true,StreamViewType={VIEW}"


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    return float(value)


def stream_problem(table: str, stream: Mapping[str, Any] | None, since: int, now: float, retention: int) -> str | None:
    """Why the stream cannot prove the table's state from `since` (epoch s) on, in one line that
    says what is missing and what to do; None when it can. `stream`: DescribeStream's
    StreamDescription (without shards), None when the table has no stream."""
    if stream is None or stream.get("StreamStatus") not in ("ENABLED", "ENABLING"):
        return f"table {table} has no enabled stream; an as-of export reads one: `{enable_command(table)}`, then export once it has run past the time wanted"
    if stream.get("StreamViewType") != VIEW:
        return (
            f"table {table}'s stream keeps {stream.get('StreamViewType')}, an as-of export needs {VIEW} (old and new items):"
            f" disable the stream, then `{enable_command(table)}`"
        )
    created = _epoch(stream["CreationRequestDateTime"])
    if created > since:
        return (
            f"table {table}'s stream was created at {_iso(created)}, after {_iso(since)}, the earliest moment this export"
            " depends on: writes before its creation are not in it; pick a later --as-of (or --incremental-since base)"
        )
    oldest = now - retention + MARGIN_S
    if since < oldest:
        return (
            f"the stream keeps records {retention // 3600 if retention >= 3600 else retention}"
            f"{' hours' if retention >= 3600 else ' seconds'}: {_iso(since)} is too long ago (the earliest a window can"
            f" start now is {_iso(oldest)}); use a full export and point-in-time recovery for older times"
        )
    return None


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
