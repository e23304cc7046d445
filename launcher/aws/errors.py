"""botocore's ClientError, read in one place: its code, and a short text for our one-line errors."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager

from botocore.exceptions import ClientError

from launcher.core.errors import BadInput, DdbS3Error

NOT_FOUND_CODES = ("404", "NoSuchBucket", "NotFound", "NoSuchKey")
DENIED_CODES = ("403", "AccessDenied", "AccessDeniedException")


def error_code(e: ClientError) -> str:
    return str(e.response.get("Error", {}).get("Code", ""))


def describe(e: ClientError) -> str:
    """'Code: Message' of an AWS error, for a line that names the thing and the call."""
    err = e.response.get("Error", {})
    # One line whatever the server sent (moto answers an unhandled call with an HTML page).
    message = " ".join(str(err.get("Message", e)).split())
    return f"{err.get('Code', 'Error')}: {message[:300]}"


def error_message(e: ClientError) -> str:
    """The AWS message of an error (its code when it has none)."""
    return str(e.response.get("Error", {}).get("Message") or error_code(e))


def s3_error(e: ClientError, bucket: str, key: str, action: str) -> DdbS3Error:
    """An S3 call's error on an object or a prefix, as one line that says what to do."""
    code = error_code(e)
    if code == "NoSuchBucket":
        return BadInput(f"bucket {bucket!r} does not exist")
    if code in ("AccessDenied", "403"):
        return DdbS3Error(f"access denied to s3://{bucket}/{key} (wrong account for ExpectedBucketOwner, or missing s3:{action})")
    if code in ("NoSuchKey", "404"):
        return DdbS3Error(f"s3://{bucket}/{key} is missing")
    return DdbS3Error(f"S3 {action} of s3://{bucket}/{key} failed: {describe(e)}")


@contextmanager
def translated(what: str, *, bad_input: Collection[str] = (), messages: Mapping[str, str] | None = None) -> Iterator[None]:
    """The one translation of an AWS error into ours: inside the block, a ClientError becomes one line,
    `<what> failed: Code: Message` (or `messages[code]`, our own words for a code the user can act
    on), as BadInput when its code is in `bad_input` (the request itself is wrong), else DdbS3Error."""
    try:
        yield
    except ClientError as e:
        code = error_code(e)
        cls = BadInput if code in bad_input else DdbS3Error
        text = (messages or {}).get(code) or f"{what} failed: {describe(e)}"
        raise cls(text) from None
