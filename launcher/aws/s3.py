"""S3 calls the launcher makes before anything starts."""

from __future__ import annotations

from botocore.exceptions import ClientError

from launcher.aws.errors import DENIED_CODES, NOT_FOUND_CODES, error_code
from launcher.aws.session import Aws
from launcher.core.errors import BadInput, DdbS3Error
from launcher.core.s3args import S3WriteSettings


def check_bucket(aws: Aws, bucket: str, prefix: str, settings: S3WriteSettings) -> None:
    """Fail before any cluster or Spark starts when the destination bucket is not usable. A listing
    of the export's own prefix, not HeadBucket: HeadBucket needs s3:ListBucket on the whole bucket,
    which the printed policies grant only under the export's prefix."""
    try:
        aws.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1, **settings.read_args())
    except ClientError as e:
        code = error_code(e)
        if code in NOT_FOUND_CODES:
            raise BadInput(f"bucket {bucket!r} does not exist: create it or fix --to") from None
        if code in DENIED_CODES:
            raise DdbS3Error(f"access denied to bucket {bucket!r} (not owned by --expected-bucket-owner, or no s3:ListBucket)") from None
        raise DdbS3Error(f"cannot use bucket {bucket!r}: {code}") from None
