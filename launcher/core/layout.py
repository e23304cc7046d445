"""The export layout (DESIGN.md), modelled on DynamoDB's native export:

    <prefix>/AWSDynamoDB/<export-id>/_started
    <prefix>/AWSDynamoDB/<export-id>/data/<file>.json.gz
    <prefix>/AWSDynamoDB/<export-id>/manifest-files.json     one JSON object a line a file
    <prefix>/AWSDynamoDB/<export-id>/manifest-files.md5
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

STARTED = "_started"
DATA_DIR = "data"
MANIFEST_FILES = "manifest-files.json"
MANIFEST_FILES_MD5 = "manifest-files.md5"
MANIFEST_SUMMARY = "manifest-summary.json"
SUMMARY_VERSION = "2020-06-30"


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

    def line(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def manifest_files_text(files: list[DataFile]) -> str:
    return "".join(f.line() + "\n" for f in sorted(files, key=lambda f: f.dataFileS3Key))


def iso(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"
