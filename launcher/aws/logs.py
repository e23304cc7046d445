"""A job's logs in S3 (an EMR step's stdout/stderr under the cluster's LogUri, an EMR Serverless
driver's under the application's logUri): whether one is there yet, and its (gunzipped) text.
Every runner's hook holds one (`hook.logs`)."""

from __future__ import annotations

import gzip
import zlib
from typing import Any

from botocore.exceptions import ClientError

from launcher.aws.errors import error_code, translated
from launcher.aws.session import Aws
from launcher.core.s3args import S3WriteSettings
from launcher.core.s3uri import S3Uri

# A log not there yet: 404 (NoSuchKey), or 403 when the caller may list only under the log prefix.
ABSENT_CODES = ("NoSuchKey", "404", "NoSuchBucket", "AccessDenied")


class S3Logs:
    def __init__(self, s3: Any, settings: S3WriteSettings | None = None) -> None:
        """`s3`: an S3 client, or an Aws whose S3 client is made on first use."""
        self._aws: Aws | None = s3 if isinstance(s3, Aws) else None
        self._s3: Any = None if isinstance(s3, Aws) else s3
        self.settings = settings or S3WriteSettings()

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            assert self._aws is not None
            self._s3 = self._aws.client("s3")
        return self._s3

    def exists(self, uri: str) -> bool:
        """Whether a log object is there yet, from a one-key listing: allowed by a ListBucket limited to
        the log prefix, where a GetObject of a missing key is refused (403) instead of answered 404."""
        loc = S3Uri.parse(uri, "log")
        with translated(f"listing of log {uri}"):
            found = self.s3.list_objects_v2(Bucket=loc.bucket, Prefix=loc.key, MaxKeys=1, **self.settings.read_args())
        return any(o["Key"] == loc.key for o in found.get("Contents", []))

    def read(self, uri: str, max_bytes: int = 4 << 20) -> str | None:
        """The last `max_bytes` of a (gzipped) log object's text, or None while it is not there (EMR
        uploads every ~5 min) or not yet readable as gzip."""
        loc = S3Uri.parse(uri, "log")
        with translated(f"read of log {uri}"):
            try:
                body = self.s3.get_object(Bucket=loc.bucket, Key=loc.key, **self.settings.read_args())["Body"].read()
            except ClientError as e:
                if error_code(e) in ABSENT_CODES:
                    return None
                raise
        if uri.endswith(".gz") or body[:2] == b"\x1f\x8b":
            try:
                body = gzip.decompress(body)
            except (OSError, EOFError, zlib.error):
                return None
        return body[-max_bytes:].decode("utf-8", "replace")
