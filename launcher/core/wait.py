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


class Wait(Generic[T]):
    """The rules of one wait, apart from how it sleeps: `poll_until` sleeps in its thread, Airflow's
    trigger awaits between polls. Give each polled value to `seen`."""

    def __init__(
        self,
        done: Callable[[T], bool],
        *,
        every: float,
        start: float,
        timeout: float | None = None,
        what: str = "the wait",
        describe: Callable[[T], str] | None = None,
        say: Callable[[str], None] | None = None,
        report_every: float = 300.0,
    ) -> None:
        self.done, self.every, self.start, self.timeout, self.what = done, every, start, timeout, what
        self.describe, self.say, self.report_every = describe, say, report_every
        self.last_line: str | None = None
        self.last_said = start

    def seen(self, value: T, now: float) -> float | None:
        """None when `value` is done, else the seconds to sleep before the next poll (never past the
        bound); raises WaitTimeout once the bound has passed."""
        if self.describe is not None and self.say is not None:
            line = self.describe(value)
            if line != self.last_line or now - self.last_said >= self.report_every:
                self.say(f"{line}; {elapsed(now - self.start)} elapsed")
                self.last_line, self.last_said = line, now
        if self.done(value):
            return None
        if self.timeout is None:
            return self.every
        if now - self.start >= self.timeout:
            raise WaitTimeout(f"{self.what}: not done after {elapsed(now - self.start)}", value, now - self.start)
        return max(0.0, min(self.every, self.start + self.timeout - now))


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
    wait = Wait(done, every=every, start=clock.now(), timeout=timeout, what=what, describe=describe, say=say, report_every=report_every)
    while True:
        value = fetch()
        pause = wait.seen(value, clock.now())
        if pause is None:
            return value
        clock.sleep(pause)
