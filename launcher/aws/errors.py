"""botocore's ClientError, read in one place: its code, and a short text for our one-line errors."""

from __future__ import annotations

from botocore.exceptions import ClientError

NOT_FOUND_CODES = ("404", "NoSuchBucket", "NotFound", "NoSuchKey")
DENIED_CODES = ("403", "AccessDenied", "AccessDeniedException")


def error_code(e: ClientError) -> str:
    return str(e.response.get("Error", {}).get("Code", ""))


def describe(e: ClientError) -> str:
    """'Code: Message' of an AWS error, for a line that names the thing and the call."""
    err = e.response.get("Error", {})
    return f"{err.get('Code', 'Error')}: {err.get('Message', str(e))}"
