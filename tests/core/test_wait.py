"""poll_until, the one wait: returns the first value that is done, says each change once (and again
every report_every), and raises WaitTimeout with the last value once the bound has passed."""

from __future__ import annotations

import pytest

from launcher.core.wait import Clock, WaitTimeout, elapsed, poll_until

pytestmark = pytest.mark.unit


class FakeTime:
    def __init__(self) -> None:
        self.t = 0.0
        self.slept: list[float] = []

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.t += s

    @property
    def clock(self) -> Clock:
        return Clock(lambda: self.t, self.sleep)


def test_returns_the_first_done_value_and_sleeps_between_polls() -> None:
    fake, values = FakeTime(), iter(["PENDING", "RUNNING", "RUNNING", "COMPLETED", "never"])
    said: list[str] = []
    got = poll_until(lambda: next(values), lambda v: v == "COMPLETED", every=10, clock=fake.clock, describe=str, say=said.append)
    assert got == "COMPLETED"
    assert fake.slept == [10, 10, 10]
    # one line per change, not per poll
    assert said == ["PENDING; 0m00s elapsed", "RUNNING; 0m10s elapsed", "COMPLETED; 0m30s elapsed"]


def test_an_unchanged_state_is_said_again_every_report_every() -> None:
    fake, said = FakeTime(), []
    n = iter(range(100))
    poll_until(
        lambda: next(n), lambda v: v >= 7, every=10, clock=fake.clock, describe=lambda v: "RUNNING", say=said.append, report_every=30
    )
    assert said == ["RUNNING; 0m00s elapsed", "RUNNING; 0m30s elapsed", "RUNNING; 1m00s elapsed"]


def test_timeout_raises_with_the_last_value_and_never_sleeps_past_the_bound() -> None:
    fake = FakeTime()
    with pytest.raises(WaitTimeout) as e:
        poll_until(lambda: "RUNNING", lambda v: False, every=30, clock=fake.clock, timeout=45, what="job run jr-1")
    assert e.value.last == "RUNNING" and e.value.seconds == 45
    assert str(e.value) == "job run jr-1: not done after 0m45s"
    assert fake.slept == [30, 15]


def test_elapsed_reads_as_minutes_or_hours() -> None:
    assert [elapsed(s) for s in (0, 59.9, 61, 3600, 3725)] == ["0m00s", "0m59s", "1m01s", "1h00m00s", "1h02m05s"]
