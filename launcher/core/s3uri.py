"""S3 URIs, parsed once and validated with a clear message."""

from __future__ import annotations

import re
from dataclasses import dataclass

from launcher.core.errors import BadInput

# Bucket naming rules (general purpose buckets): 3-63 chars, lower-case letters, digits, dots, dashes.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class S3Uri:
    bucket: str
    key: str  # no leading slash; a prefix keeps no trailing slash unless it is the whole key

    @classmethod
    def parse(cls, text: str, what: str = "S3 URI") -> S3Uri:
        if not isinstance(text, str) or not text.startswith("s3://"):
            raise BadInput(f"{what} {text!r} is not an s3:// URI: use s3://bucket/prefix")
        rest = text[len("s3://") :]
        bucket, _, key = rest.partition("/")
        if not _BUCKET.match(bucket) or ".." in bucket:
            raise BadInput(f"{what} {text!r} has an invalid bucket name {bucket!r}")
        if any(ord(c) < 0x20 or c == "\x7f" for c in text):
            raise BadInput(f"{what} {text!r} contains control characters")
        if "//" in key:
            raise BadInput(f"{what} {text!r} has an empty path segment ('//')")
        return cls(bucket, key)

    def join(self, *parts: str) -> S3Uri:
        segs = [self.key.strip("/")] + [p.strip("/") for p in parts]
        return S3Uri(self.bucket, "/".join(s for s in segs if s))

    @property
    def prefix(self) -> str:
        """The key as a folder prefix ('' or ending with '/')."""
        k = self.key.strip("/")
        return k + "/" if k else ""

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"
