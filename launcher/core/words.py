"""Counts in words, one way everywhere: "1 file", "2 files", "1,234 items"."""

from __future__ import annotations


def count(n: int, noun: str) -> str:
    """`n` with thousands separators and the noun in the singular for one (regular plurals only)."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
