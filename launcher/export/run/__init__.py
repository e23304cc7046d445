"""Runners execute a plan's rendered steps: LocalRunner here (local Spark), EmrRunner on Amazon
EMR, NativeRunner through DynamoDB's own export. All take the same plan and return a RunResult.

A runner is a context manager: what it creates (a cluster) is registered for cleanup the moment it
exists, and leaving the `with` block (or `cleanup()`, e.g. from Airflow's on_kill) releases it,
whatever happened in between. This is mrjob's and s3transfer's pattern."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from launcher.export.estimate import duration
from launcher.export.plan import ExportPlan
from launcher.export.run.signals import Terminated, signals_held

Progress = Callable[[str], None]
MIN_RATE_SECONDS = 0.5  # a read shorter than this says nothing of its rate


@dataclass(frozen=True)
class ReadCount:
    """How far an export's read has come: the tasks' own counts (launcher.job.runtime.ReadStats)
    added up, against the table's size when DescribeTable knows it (0 when not)."""

    items: int
    bytes: int
    seconds: float
    table_items: int
    budget: float  # read units per second

    @property
    def rate(self) -> float:
        """Items a second; 0 (not shown) until the read has lasted long enough to say (a task's first
        line can come within a millisecond of its first item)."""
        return self.items / self.seconds if self.seconds >= MIN_RATE_SECONDS else 0.0

    def text(self) -> str:
        rate = f", {self.rate:,.0f} items/s" if self.rate else ""
        text = f"read {self.items:,} items, {self.bytes / 1e6:,.1f} MB{rate} (budget {self.budget:g} units/s)"
        if self.table_items > self.items and self.rate > 0:
            text += f"; about {duration((self.table_items - self.items) / self.rate)} left of ~{self.table_items:,}"
        return text


Counts = Callable[[ReadCount], None]


class CountLines:
    """Read counts as plain lines, at most one every `every` seconds (logs, CI, Airflow); a terminal
    gets a live display instead (launcher/cli/progress.py)."""

    def __init__(self, progress: Progress, every: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.progress, self.every, self.clock = progress, every, clock
        self.last = clock()

    def __call__(self, count: ReadCount) -> None:
        if self.clock() - self.last >= self.every:
            self.last = self.clock()
            self.progress(count.text())


@dataclass
class RunResult:
    export_uri: str
    result: dict[str, Any] = field(default_factory=dict)  # what the job reported (itemCount, ...)
    seconds: float = 0.0
    cluster_id: str | None = None
    logs: list[str] = field(default_factory=list)  # where the step logs are


class Runner:
    """The interface: `with runner: runner.run(plan)`. Subclasses register cleanups with on_exit()."""

    # True where the runner owns the process's signals (the CLI): then a second Ctrl-C cannot
    # interrupt the teardown. Airflow owns them in its task process.
    hold_signals = False

    def __init__(self, progress: Progress = print, counts: Counts | None = None) -> None:
        self.progress = progress
        self.counts = counts or CountLines(progress)
        self._cleanups = ExitStack()
        self._why = "cleanup"
        self._lock = threading.Lock()

    def run(self, plan: ExportPlan) -> RunResult:
        raise NotImplementedError

    def on_exit(self, release: Callable[[str], None]) -> None:
        """Call release(why) when this runner is cleaned up (latest registered, first released)."""
        self._cleanups.callback(lambda: release(self._why))

    def cleanup(self, why: str = "cleanup") -> None:
        """Release everything registered so far, once; safe to call from another thread."""
        with self._lock:
            stack, self._cleanups = self._cleanups, ExitStack()
            self._why = why
        stack.close()

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        with signals_held(self.hold_signals):
            self.cleanup(outcome(exc))


class JobRunRunner(Runner):
    """What the EMR Serverless and Glue runners share: a job run they start, poll and, on every exit
    path, stop and clean up after, with the same waits and signal handling."""

    def __init__(
        self,
        progress: Progress = print,
        *,
        hook: Any = None,
        poll_seconds: float = 30.0,
        install_signal_handlers: bool = True,
        log_wait_seconds: float = 120.0,
        log_poll_seconds: float = 5.0,
        settle_seconds: float = 300.0,
        helper_jar: Any = None,
        counts: Counts | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(progress, counts)
        self.hook = hook
        self.poll_seconds = poll_seconds
        self.install_signal_handlers = self.hold_signals = install_signal_handlers
        self.log_wait_seconds = log_wait_seconds
        self.log_poll_seconds = log_poll_seconds
        self.settle_seconds = settle_seconds  # how long teardown waits for a cancel or a stop to take
        self.helper_jar = helper_jar
        self.clock, self.sleep = clock, sleep


def outcome(exc: BaseException | None) -> str:
    """Why a run ended, in the words of a teardown message."""
    if exc is None:
        return "the export finished"
    if isinstance(exc, Terminated):
        return "interrupted (SIGTERM)"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C)"
    return "the export failed"
