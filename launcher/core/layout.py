"""The export layout (DESIGN.md), modelled on DynamoDB's native export:

    <prefix>/AWSDynamoDB/<export-id>/_started
    <prefix>/AWSDynamoDB/<export-id>/data/<file>.json.gz
    <prefix>/AWSDynamoDB/<export-id>/manifest-files.json     one JSON object a line a file
    <prefix>/AWSDynamoDB/<export-id>/manifest-files.md5
    <prefix>/AWSDynamoDB/<export-id>/manifest-summary.md5
    <prefix>/AWSDynamoDB/<export-id>/manifest-summary.json   written last: the commit marker

Stdlib only: this module ships to Spark executors.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

STARTED = "_started"
DATA_DIR = "data"
ARTIFACTS_DIR = "_ddb_s3_artifacts"  # <prefix>/_ddb_s3_artifacts/<export-id>/: a run's uploads, beside AWSDynamoDB/
MANIFEST_FILES = "manifest-files.json"
MANIFEST_FILES_MD5 = "manifest-files.md5"
MANIFEST_SUMMARY = "manifest-summary.json"
MANIFEST_SUMMARY_MD5 = "manifest-summary.md5"
# the summary's checksum file: native exports write .md5 (as real samples show), the docs say .checksum
SUMMARY_CHECKSUMS = (MANIFEST_SUMMARY_MD5, "manifest-summary.checksum")
SUMMARY_VERSION = "2020-06-30"
# manifest-summary.json's keys in the order a real full export writes them (docs/backup.md), then
# ours, all under one key so that no reader of native exports meets a name it does not know.
SUMMARY_KEYS = (
    "version",
    "exportArn",
    "startTime",
    "endTime",
    "tableArn",
    "tableId",
    "exportTime",
    "exportFromTime",
    "exportToTime",
    "s3Bucket",
    "s3Prefix",
    "s3SseAlgorithm",
    "s3SseKmsKeyId",
    "manifestFilesS3Key",
    "billedSizeBytes",
    "itemCount",
    "outputFormat",
    "outputView",
    "exportType",
)  # fmt: skip  (exportFromTime, exportToTime, outputView: an incremental export's)
EXTRAS = "ddbS3"


def new_export_id(now: datetime, token: str | None = None) -> str:
    """Same shape as the native ExportId: 14-digit epoch milliseconds, a dash, 8 hex digits."""
    return f"{int(now.timestamp() * 1000):014d}-{token or secrets.token_hex(4)}"


def export_root(prefix: str, export_id: str) -> str:
    """The key prefix of one export, ending with '/'."""
    base = prefix.strip("/")
    return (base + "/" if base else "") + f"AWSDynamoDB/{export_id}/"


def data_file_name(partition: int, sequence: int) -> str:
    """Random like the native names, but with the partition number so a listing reads in order."""
    return f"part-{partition:05d}-{sequence:04d}-{secrets.token_hex(6)}.json.gz"


@dataclass(frozen=True)
class DataFile:
    """One manifest-files.json line."""

    itemCount: int
    md5Checksum: str  # base64 MD5 of the object's bytes, as the native export writes it
    etag: str
    dataFileS3Key: str
    # Ours only (readers of native exports ignore unknown keys): the object's size and the SHA-256
    # checksum S3 verified on arrival and stores with it, as HeadObject reports it (a multipart
    # object's is the checksum of its parts' checksums, "<base64>-<parts>"), so `verify` can check
    # every file without reading it back.
    size: int | None = None
    sha256Checksum: str | None = None

    def line(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def manifest_files_text(files: list[DataFile]) -> str:
    return "".join(f.line() + "\n" for f in sorted(files, key=lambda f: f.dataFileS3Key))


def iso(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def summary_text(summary: dict[str, Any]) -> bytes:
    """One compact line in the real export's key order (unknown keys after), as DynamoDB writes it."""
    ordered = {k: summary[k] for k in (*SUMMARY_KEYS, EXTRAS) if k in summary}
    ordered.update((k, v) for k, v in summary.items() if k not in ordered)
    return json.dumps(ordered, separators=(",", ":")).encode()


def ddb_s3_fields(summary: dict[str, Any]) -> dict[str, Any]:
    """Our own summary fields: under "ddbS3" since the summary carries every key of a real export;
    at the top level (tool under "exporter") in exports written before that."""
    if isinstance(summary.get(EXTRAS), dict):
        return dict(summary[EXTRAS])
    exporter = summary.get("exporter")
    return {**summary, "tool": exporter.get("tool") if isinstance(exporter, dict) else None}
