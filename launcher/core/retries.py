"""How hard botocore had to work for a response (read by every writer that reports retries)."""

from __future__ import annotations

from typing import Any


def retries_of(response: dict[str, Any]) -> int:
    """How many times botocore retried the call that gave `response` (throttling, 5xx, resets)."""
    return int((response.get("ResponseMetadata") or {}).get("RetryAttempts") or 0)
