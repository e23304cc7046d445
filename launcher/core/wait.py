"""The one wait: poll a thing until it is in the state wanted, with a bound, saying what changed.

Every wait in ddb-s3 (a cluster's steps, a job run, a cancel or stop settling, a log being archived,
a native export, a table being created) is `poll_until`, with the clock injected so that tests
run it without sleeping, as Airflow's `waiter_with_logging.wait` serves its operators. Standard
library only: the job code (EMR's Python 3.9) may use it too."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Generic, TypeVar

from launcher.core.errors import DdbS3Error

T = TypeVar("T")


@dataclass(frozen=True)
class Clock:
    """Time as the waits see it: `now` (monotonic seconds) and `sleep`; tests pass a fake one."""

    now: Callable[[], float] = field(default=time.monotonic)
    sleep: Callable[[float], None] = field(default=time.sleep)


SYSTEM_CLOCK = Clock()


class WaitTimeout(DdbS3Error, Generic[T]):
    """The bound passed before the state wanted came; `last` is what the final poll saw."""

    def __init__(self, message: str, last: T, seconds: float) -> None:
        super().__init__(message)
        self.last, self.seconds = last, seconds


def elapsed(seconds: float) -> str:
    """12m05s, or 1h02m05s: how long a wait has lasted, in a progress line."""
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m{s % 60:02d}s" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def poll_until(
    fetch: Callable[[], T],
    done: Callable[[T], bool],
    *,
    every: float,
    clock: Clock = SYSTEM_CLOCK,
    timeout: float | None = None,
    what: str = "the wait",
    describe: Callable[[T], str] | None = None,
    say: Callable[[str], None] | None = None,
    report_every: float = 300.0,
) -> T:
    """Call `fetch` every `every` seconds until `done(value)`, and return that value.

    With `describe` and `say`: says `describe(value)` with the time elapsed whenever it changes, and
    at least every `report_every` seconds while it does not. With `timeout` (seconds): raises
    WaitTimeout naming `what` once it has passed without `done`, carrying the last value (callers
    that can go on without the state, such as a log that may never be archived, catch it)."""
    start = clock.now()
    last_line, last_said = None, start
    while True:
        value = fetch()
        now = clock.now()
        if describe is not None and say is not None:
            line = describe(value)
            if line != last_line or now - last_said >= report_every:
                say(f"{line}; {elapsed(now - start)} elapsed")
                last_line, last_said = line, now
        if done(value):
            return value
        if timeout is not None and now - start >= timeout:
            raise WaitTimeout(f"{what}: not done after {elapsed(now - start)}", value, now - start)
        clock.sleep(every if timeout is None else max(0.0, min(every, start + timeout - now)))
