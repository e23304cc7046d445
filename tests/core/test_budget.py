"""The read budget's long-run rate (launcher.core.budget, spent by the segments reader and by
restore): a fake clock, pure arithmetic, no server."""

from __future__ import annotations

import pytest

from launcher.core.budget import TokenBucket


@pytest.mark.unit
def test_read_budget_holds_its_rate_over_time() -> None:
    now = [0.0]
    budget = TokenBucket(100.0, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    spent = 0.0
    for _ in range(200):  # pages of 37 units: more than a third of a second each
        budget.take()
        budget.spend(37.0)
        spent += 37.0
    # one second of burst at most, then the rate
    assert spent / now[0] == pytest.approx(100.0, rel=0.02)
