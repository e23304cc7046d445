"""Runners execute a plan's rendered steps: LocalRunner here (local Spark), EmrRunner on Amazon
EMR, NativeRunner through DynamoDB's own export. All take the same plan and return a RunResult.

A runner is a context manager: what it creates (a cluster) is registered for cleanup the moment it
exists, and leaving the `with` block (or `cleanup()`, e.g. from Airflow's on_kill) releases it,
whatever happened in between. This is mrjob's and s3transfer's pattern."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from launcher.export.plan import ExportPlan
from launcher.export.run.signals import Terminated, signals_held

Progress = Callable[[str], None]


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

    def __init__(self, progress: Progress = print) -> None:
        self.progress = progress
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


def outcome(exc: BaseException | None) -> str:
    """Why a run ended, in the words of a teardown message."""
    if exc is None:
        return "the export finished"
    if isinstance(exc, Terminated):
        return "interrupted (SIGTERM)"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C)"
    return "the export failed"
