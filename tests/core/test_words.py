"""One way to write a count: "1 file", "2 files", "1,234 items" (issue 24.10 saw "1 tasks", "1 files")."""

from __future__ import annotations

import pytest

from launcher.core.words import count

pytestmark = pytest.mark.unit


def test_count_agrees_with_its_number_and_separates_thousands():
    assert [count(n, "file") for n in (0, 1, 2, 1234567)] == ["0 files", "1 file", "2 files", "1,234,567 files"]
