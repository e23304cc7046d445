"""Where an export lives: an S3 prefix or a local folder, behind one small interface, so verify,
download, restore and convert read both the same way."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import ClientError

from launcher.aws.errors import s3_error
from launcher.aws.session import Aws
from launcher.core.errors import BadInput
from launcher.core.layout import MANIFEST_SUMMARY
from launcher.core.s3args import S3WriteSettings
from launcher.core.s3uri import S3Uri

CHUNK = 1024 * 1024


class Location(Protocol):
    @property
    def uri(self) -> str: ...

    def exists(self, key: str) -> bool: ...
    def read_bytes(self, key: str) -> bytes: ...
    def iter_chunks(self, key: str) -> Iterator[bytes]: ...
    def list(self, sub: str = "") -> list[str]: ...
    def resolve_data_key(self, bucket_key: str) -> str: ...


def relative_to_export(bucket_key: str) -> str:
    """A manifest's dataFileS3Key is relative to the bucket root; inside one export folder it is
    everything after 'AWSDynamoDB/<export-id>/' (or after the shared 'AWSDynamoDB/' for the
    incremental exports' data/ folder)."""
    parts = bucket_key.split("/")
    if "AWSDynamoDB" in parts:
        i = parts.index("AWSDynamoDB")
        rest = parts[i + 1 :]
        if rest and rest[0] == "data":  # incremental: shared AWSDynamoDB/data/
            return "/".join(rest)
        return "/".join(rest[1:])
    return bucket_key


@dataclass
class LocalFolder:
    root: Path

    @property
    def uri(self) -> str:
        return str(self.root)

    def path(self, key: str) -> Path:
        return self.root / key

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def read_bytes(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def iter_chunks(self, key: str) -> Iterator[bytes]:
        with open(self.path(key), "rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk

    def list(self, sub: str = "") -> list[str]:
        base = self.root / sub
        if not base.is_dir():
            return []
        return sorted(str(p.relative_to(self.root)) for p in base.rglob("*") if p.is_file())

    def resolve_data_key(self, bucket_key: str) -> str:
        key = relative_to_export(bucket_key)
        if _is_shared_data(bucket_key) and not self.exists(key) and self.exists("../" + key):
            return "../" + key  # a synced bucket: incremental data sits in AWSDynamoDB/data/ beside the export
        return key


def _is_shared_data(bucket_key: str) -> bool:
    parts = bucket_key.split("/")
    return "AWSDynamoDB" in parts and parts[parts.index("AWSDynamoDB") + 1 :][:1] == ["data"]


@dataclass
class S3Folder:
    base: S3Uri
    s3: Any
    settings: S3WriteSettings
    _levels: dict[str, set[str]] = field(default_factory=dict, init=False, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    @property
    def uri(self) -> str:
        return f"s3://{self.base.bucket}/{self.base.prefix}"

    def key(self, key: str) -> str:
        """Folder-relative key to bucket key; a key starting with '/' is already bucket-absolute."""
        return key[1:] if key.startswith("/") else self.base.prefix + key

    def exists(self, key: str) -> bool:
        """From one listing of the key's folder, not a HeadObject per key: S3 answers a HEAD of a
        missing key with 404 only to a caller allowed s3:ListBucket without a prefix condition, and
        403 to anyone else, so probing for optional files would fail under a prefix-limited policy
        (tests/iam). The listing is cached: an export folder does not change while it is read."""
        full = self.key(key)
        folder = full.rpartition("/")[0] + "/" if "/" in full else ""
        with self._lock:
            if folder not in self._levels:
                self._levels[folder] = self._list_level(folder)
            return full in self._levels[folder]

    def _list_level(self, folder: str) -> set[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.base.bucket, Prefix=folder, Delimiter="/", **self.settings.read_args()
        )
        try:
            return {o["Key"] for page in pages for o in page.get("Contents", [])}
        except ClientError as e:
            raise s3_error(e, self.base.bucket, folder, "ListBucket") from None

    def head(self, key: str) -> dict[str, Any]:
        """HeadObject with the stored checksums (ChecksumMode ENABLED)."""
        try:
            return dict(
                self.s3.head_object(Bucket=self.base.bucket, Key=self.key(key), ChecksumMode="ENABLED", **self.settings.read_args())
            )
        except ClientError as e:
            raise s3_error(e, self.base.bucket, self.key(key), "GetObject") from None

    def _get(self, key: str) -> Any:  # botocore's StreamingBody
        try:
            return self.s3.get_object(Bucket=self.base.bucket, Key=self.key(key), **self.settings.read_args())["Body"]
        except ClientError as e:
            raise s3_error(e, self.base.bucket, self.key(key), "GetObject") from None

    def read_bytes(self, key: str) -> bytes:
        return self._get(key).read()

    def iter_chunks(self, key: str) -> Iterator[bytes]:
        yield from self._get(key).iter_chunks(CHUNK)

    def list(self, sub: str = "") -> list[str]:
        out = []
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.base.bucket, Prefix=self.key(sub), **self.settings.read_args()
        )
        try:
            for page in pages:
                out += [o["Key"][len(self.base.prefix) :] for o in page.get("Contents", [])]
        except ClientError as e:
            raise s3_error(e, self.base.bucket, self.key(sub), "ListBucket") from None
        return sorted(out)

    def resolve_data_key(self, bucket_key: str) -> str:
        """Keys stay bucket-relative on S3; return them relative to this folder when inside it."""
        if bucket_key.startswith(self.base.prefix):
            return bucket_key[len(self.base.prefix) :]
        if _is_shared_data(bucket_key):
            # Incremental exports keep data in the shared <prefix>/AWSDynamoDB/data/, beside the export
            # folder <prefix>/AWSDynamoDB/<export-id>/: read it there, bucket-absolute.
            parts = self.base.prefix.rstrip("/").split("/")
            if len(parts) >= 2 and parts[-2] == "AWSDynamoDB":
                return "/" + "/".join(parts[:-1]) + "/" + relative_to_export(bucket_key)
            if bucket_key.startswith(self.base.prefix.rsplit("AWSDynamoDB/", 1)[0]):
                return "/" + bucket_key
        return relative_to_export(bucket_key)


def open_location(where: str, aws: Aws | None = None, settings: S3WriteSettings | None = None) -> Location:
    """An s3:// URI or a local folder path; s3://bucket/prefix[/AWSDynamoDB]/latest is the newest
    complete export under that prefix (launcher.backup.catalog)."""
    if where.startswith("s3://") and where.rstrip("/").rsplit("/", 1)[-1] == "latest":
        from launcher.backup.catalog import resolve_export_uri

        where = resolve_export_uri(where, aws, settings)
    if where.startswith("s3://"):
        uri = S3Uri.parse(where, "export location")
        if uri.prefix.rstrip("/").rsplit("/", 1)[-1] == MANIFEST_SUMMARY:  # the summary named: its folder
            uri = S3Uri(uri.bucket, uri.prefix.rstrip("/")[: -len(MANIFEST_SUMMARY)])
        return S3Folder(uri, (aws or Aws()).client("s3"), settings or S3WriteSettings())
    if "://" in where:
        raise BadInput(f"{where!r} is neither an s3:// URI nor a local folder")
    if where.lower().startswith(("s3:", "s3a:", "s3n:")):  # s3:/x, s3:x: a URI with a slash missing
        raise BadInput(f"{where!r} is not an s3:// URI: write s3://bucket/prefix/AWSDynamoDB/<export-id>/")
    path = Path(where)
    if path.is_file() and path.name == MANIFEST_SUMMARY:  # the summary named: its folder
        path = path.parent
    elif path.is_file():
        raise BadInput(f"{where} is a file: give the export's folder (the one holding {MANIFEST_SUMMARY})")
    if not path.is_dir():
        raise BadInput(f"local folder {where} does not exist")
    return LocalFolder(path)
