"""S3 calls the launcher makes before anything starts."""

from __future__ import annotations

from launcher.aws.errors import DENIED_CODES, NOT_FOUND_CODES, translated
from launcher.aws.session import Aws
from launcher.core.s3args import S3WriteSettings


def check_bucket(aws: Aws, bucket: str, prefix: str, settings: S3WriteSettings) -> None:
    """Fail before any cluster or Spark starts when the destination bucket is not usable. A listing
    of the export's own prefix, not HeadBucket: HeadBucket needs s3:ListBucket on the whole bucket,
    which the printed policies grant only under the export's prefix."""
    missing = f"bucket {bucket!r} does not exist: create it or fix --to"
    denied = f"access denied to bucket {bucket!r} (not owned by --expected-bucket-owner, or no s3:ListBucket)"
    messages = {**dict.fromkeys(NOT_FOUND_CODES, missing), **dict.fromkeys(DENIED_CODES, denied)}
    with translated(f"listing of bucket {bucket!r}", bad_input=NOT_FOUND_CODES, messages=messages):
        aws.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1, **settings.read_args())
