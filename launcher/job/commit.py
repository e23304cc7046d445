"""Driver-side steps of an export: mark it started, then commit it. Data files first, manifests
last; manifest-summary.json is written only after every listed file is known to be in S3, so an
export without it is incomplete by definition."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from launcher.core import layout
from launcher.core.retries import retries_of
from launcher.core.s3args import S3WriteSettings
from launcher.job.scan import report


def write_started(s3: Any, bucket: str, root: str, settings: S3WriteSettings) -> None:
    """An empty _started object: proves the bucket is writable before any read capacity is spent."""
    s3.put_object(Bucket=bucket, Key=root + layout.STARTED, Body=b"", **settings.write_args())


def remove_orphans(s3: Any, bucket: str, root: str, keep: set[str], read_args: dict) -> int:
    """Delete data objects of failed task attempts (not in the manifest) so the folder is exact."""
    removed = 0
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=root + layout.DATA_DIR + "/", **read_args):
        for obj in page.get("Contents", []):
            if obj["Key"] not in keep:
                s3.delete_object(Bucket=bucket, Key=obj["Key"], **read_args)
                removed += 1
    return removed


def commit(
    s3: Any,
    bucket: str,
    root: str,
    files: list[layout.DataFile],
    fields: dict[str, Any],
    settings: S3WriteSettings,
) -> dict[str, Any]:
    """Write manifest-files.json and its .md5, manifest-summary.md5, then manifest-summary.json last
    (the commit marker). `fields`: the summary's keys known before (runtime.summary_fields). Returns
    the summary as written."""
    read_args, write_args = settings.read_args(), settings.write_args()
    retried = 0
    for f in files:  # every listed file must be there, as the object we wrote, before we commit
        head = s3.head_object(Bucket=bucket, Key=f.dataFileS3Key, **read_args)
        retried += retries_of(head)
        if head.get("ETag", "").strip('"') != f.etag:
            raise RuntimeError(
                f"s3://{bucket}/{f.dataFileS3Key} changed after it was written "
                f"(ETag {head.get('ETag')} != {f.etag}): not committing this export"
            )
    remove_orphans(s3, bucket, root, {f.dataFileS3Key for f in files}, read_args)
    text = layout.manifest_files_text(files).encode()
    retried += retries_of(s3.put_object(Bucket=bucket, Key=root + layout.MANIFEST_FILES, Body=text, **write_args))
    retried += retries_of(
        s3.put_object(Bucket=bucket, Key=root + layout.MANIFEST_FILES_MD5, Body=layout.md5_b64(text).encode(), **write_args)
    )
    # The keys of a real export's summary at the top, everything of ours under one key.
    extras = {k: v for k, v in fields.items() if k not in layout.SUMMARY_KEYS}
    summary = {k: v for k, v in fields.items() if k in layout.SUMMARY_KEYS}
    summary.update(
        version=layout.SUMMARY_VERSION,
        endTime=layout.iso(datetime.now(timezone.utc)),
        s3Bucket=bucket,
        manifestFilesS3Key=root + layout.MANIFEST_FILES,
        itemCount=sum(f.itemCount for f in files),
        outputFormat="DYNAMODB_JSON",
    )
    summary[layout.EXTRAS] = {**extras, "dataFileCount": len(files)}
    body = layout.summary_text(summary)
    retried += retries_of(
        s3.put_object(Bucket=bucket, Key=root + layout.MANIFEST_SUMMARY_MD5, Body=layout.md5_b64(body).encode(), **write_args)
    )
    retried += retries_of(s3.put_object(Bucket=bucket, Key=root + layout.MANIFEST_SUMMARY, Body=body, **write_args))
    if retried:
        report(f"commit: {retried} S3 requests retried, manifests written")
    return summary
