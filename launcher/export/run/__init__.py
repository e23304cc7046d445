"""Runners execute a plan's rendered steps: LocalRunner here (local Spark), EmrRunner on Amazon EMR,
EmrServerlessRunner, GlueRunner, NativeRunner through DynamoDB's own export. All take the same plan
and return a RunResult, through one lifecycle written once, in `Runner.run`:

    submit(plan) -> Handle        render, upload, create what the run needs (its teardown registered
                                  before the call that creates it), start; no waiting
    wait(plan, handle) -> Status  poll(plan, handle) until done (core.wait: one wait, bounded by
                                  --max-wait-seconds, a line on each change)
    finish(plan, handle, status)  diagnose() -> DdbS3Error with the failure and its probable cause,
                                  or result() -> RunResult
    teardown                      leaving `with runner` (or `cleanup()`, e.g. from Airflow's on_kill)
                                  releases what submit created, whatever happened in between

A backend gives submit, poll, diagnose and release (and result where it reports more). Airflow's
deferrable operator calls the same parts in three processes: submit in the worker, poll in the
triggerer, finish after resuming (`adopt` registers the teardown again). This is mrjob's template
`run()` and s3transfer's injected clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from launcher.aws.artifacts import ArtifactStore
from launcher.aws.logs import S3Logs
from launcher.aws.session import Aws
from launcher.core.errors import DdbS3Error
from launcher.core.result_line import counters_text, last_counters
from launcher.core.wait import SYSTEM_CLOCK, Clock, WaitTimeout, poll_until
from launcher.export.estimate import duration
from launcher.export.plan import ExportPlan
from launcher.export.render import Rendered, cloud_target, render_export
from launcher.export.run.signals import Terminated, signals_held, sigterm_raises

T = TypeVar("T")

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


ReadCounts = Callable[[ReadCount], None]


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


@dataclass(frozen=True)
class Handle:
    """What `submit` started, as JSON can carry it (Airflow takes it from the worker to the triggerer
    and back): the resource (a cluster id, an EMR Serverless application id, a Glue job name, a
    native export's ARN, a local run folder), the runs on it (step ids, a job run id), and whether
    this run created the resource (then its teardown ends it)."""

    resource: str
    runs: tuple[str, ...] = ()
    created: bool = False

    def doc(self) -> dict[str, Any]:
        return {"resource": self.resource, "runs": list(self.runs), "created": self.created}

    @classmethod
    def of(cls, doc: dict[str, Any]) -> Handle:
        return cls(str(doc["resource"]), tuple(doc.get("runs", ())), bool(doc.get("created", False)))


@dataclass(frozen=True)
class Status:
    """One poll: whether the run is over, the progress line, and what `diagnose` reads."""

    done: bool
    line: str
    detail: Any = None


class Runner:
    """`with runner: runner.run(plan)`. Backends implement submit, poll, diagnose and release."""

    name: ClassVar[str] = ""
    hook_type: ClassVar[Any] = None  # the AWS hook its calls go through (launcher/aws/), made by make_hook
    hook: Any = None

    def __init__(
        self,
        progress: Progress = print,
        counts: ReadCounts | None = None,
        *,
        aws: Aws | None = None,
        hook: Any = None,
        clock: Clock = SYSTEM_CLOCK,
        poll_seconds: float = 30.0,
        max_wait_seconds: float | None = None,
        install_signal_handlers: bool = True,
        log_wait_seconds: float = 120.0,
        log_poll_seconds: float = 5.0,
        settle_seconds: float = 300.0,
        helper_jar: Path | None = None,
    ) -> None:
        self.progress = progress
        self.counts = counts or CountLines(progress)
        self.aws, self.hook, self.clock = aws, hook, clock
        self.poll_seconds, self.max_wait_seconds = poll_seconds, max_wait_seconds
        # True where the runner owns the process's signals (the CLI): SIGTERM unwinds like Ctrl-C,
        # and a second Ctrl-C cannot interrupt the teardown. Airflow owns them in its task process.
        self.install_signal_handlers = install_signal_handlers
        self.log_wait_seconds, self.log_poll_seconds = log_wait_seconds, log_poll_seconds
        self.settle_seconds = settle_seconds  # how long teardown waits for a cancel or a stop to take
        self.helper_jar = helper_jar
        self._cleanups = ExitStack()
        self._why = "cleanup"
        self._lock = threading.Lock()
        self._logs_seen: set[str] = set()
        self.tags: dict[str, str] = {}  # added to what submit creates (Airflow's task-instance tag)
        self.submitted: Callable[[Handle], None] = lambda handle: None  # told the handle once submitted

    # --- the lifecycle (final: backends implement the parts below) ---------------------------

    def run(self, plan: ExportPlan, resume: Handle | None = None) -> RunResult:
        """Submit, wait, finish; or, with `resume` (a run submitted earlier), adopt it, wait, finish."""
        start = self.clock.now()
        with sigterm_raises(self.install_signal_handlers), self:
            if resume is None:
                handle = self.submit(plan)
            else:
                handle = resume
                self.adopt(plan, handle)
            self.submitted(handle)
            status = self.wait(plan, handle)
            return self.finish(plan, handle, status, self.clock.now() - start)

    def wait(self, plan: ExportPlan, handle: Handle) -> Status:
        try:
            return poll_until(
                lambda: self.poll(plan, handle),
                lambda status: status.done,
                every=self.poll_seconds,
                clock=self.clock,
                timeout=self.max_wait_seconds,
                what=f"{self.name} run on {handle.resource}",
                describe=lambda status: status.line,
                say=self.progress,
            )
        except WaitTimeout as e:
            raise DdbS3Error(f"{e} (--max-wait-seconds {self.max_wait_seconds:g}); {self.after_timeout(handle)}") from None

    def finish(self, plan: ExportPlan, handle: Handle, status: Status | None = None, seconds: float = 0.0) -> RunResult:
        """After the wait (`status`: its last poll; None: polled now): raise DdbS3Error with the
        failure and its probable cause, or return the RunResult. Call it inside `with runner`, so
        that what the run created is released."""
        status = status or self.poll(plan, handle)
        problem = self.diagnose(plan, handle, status)
        if problem:
            raise DdbS3Error(problem)
        return self.result(plan, handle, status, seconds)

    # --- what a backend implements ---------------------------------------------------------

    def submit(self, plan: ExportPlan) -> Handle:
        """Start the run and return without waiting; what it creates is registered for teardown
        (with `self.tags` added to it, where the service has tags)."""
        raise NotImplementedError

    def poll(self, plan: ExportPlan, handle: Handle) -> Status:
        raise NotImplementedError

    def diagnose(self, plan: ExportPlan, handle: Handle, status: Status) -> str | None:
        """None when the run succeeded, else one line: what failed and its probable cause."""
        raise NotImplementedError

    def release(self, plan: ExportPlan, handle: Handle, why: str) -> None:
        """End what the handle holds that is ours to end (a run still going, a resource it created)."""

    def result(self, plan: ExportPlan, handle: Handle, status: Status, seconds: float) -> RunResult:
        return RunResult(plan.export_uri, {}, seconds, cluster_id="/".join((handle.resource, *handle.runs)))

    def after_timeout(self, handle: Handle) -> str:
        return "what this run created is ended on the way out"

    # --- teardown ------------------------------------------------------------------------------

    def on_exit(self, release: Callable[[str], None]) -> None:
        """Call release(why) when this runner is cleaned up (latest registered, first released)."""
        self._cleanups.callback(lambda: release(self._why))

    def create(self, make: Callable[[], T], release: Callable[[T, str], None], if_interrupted: Callable[[str], None] | None = None) -> T:
        """`make()` a resource with its teardown registered before the call: interrupted inside it
        (the id unknown), `if_interrupted(why)` finds and ends it; once made, `release(value, why)`."""
        made: list[T] = []
        if if_interrupted is not None:
            self.on_exit(lambda why: None if made else if_interrupted(why))
        made.append(make())
        self.on_exit(lambda why: release(made[0], why))
        return made[0]

    def adopt(self, plan: ExportPlan, handle: Handle) -> None:
        """Register a run submitted earlier (maybe by another process) for teardown."""
        self.on_exit(lambda why: self.release(plan, handle, why))

    def detach(self) -> None:
        """Forget the teardown registered so far: the caller now owns what was created."""
        with self._lock:
            self._cleanups.pop_all()

    def cleanup(self, why: str = "cleanup") -> None:
        """Release everything registered so far, once; safe to call from another thread."""
        with self._lock:
            stack, self._cleanups = self._cleanups, ExitStack()
            self._why = why
        stack.close()

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        with signals_held(self.install_signal_handlers):
            self.cleanup(outcome(exc))

    # --- waits a backend uses ------------------------------------------------------------------

    def make_hook(self, plan: ExportPlan) -> Any:
        """The backend's hook (`hook_type`) on the session given, made once; or the one passed in."""
        if self.hook is None:
            self.hook = self.hook_type(self.session(plan), settings=plan.s3)
        return self.hook

    def session(self, plan: ExportPlan) -> Aws:
        """The AWS session given (the CLI's, or an Airflow connection's), else the plan's region."""
        if self.aws is None:
            self.aws = Aws(plan.region)
        return self.aws

    def render(self, plan: ExportPlan) -> Rendered:
        """The plan rendered for its cloud runner; an engine with no step for it is refused."""
        rendered = render_export(plan, cloud_target(plan))
        if not rendered.steps:
            raise DdbS3Error(f"engine {plan.engine} has no job to run on runner {self.name}")
        return rendered

    def upload(self, plan: ExportPlan, store: ArtifactStore, rendered: Rendered, local_files: dict[str, Path] | None = None) -> None:
        """The rendered files (and the helper jar, or `local_files`) under the plan's artifacts prefix."""
        files = self.helper_files(rendered.steps) if local_files is None else local_files
        uploaded = store.upload(plan.artifacts_uri, rendered.files, files)
        self.progress(f"uploaded {len(uploaded)} artifacts to {plan.artifacts_uri}/")

    def helper_files(self, steps: list[dict[str, Any]]) -> dict[str, Path]:
        """The helper jar to upload beside the rendered files, when a step puts it on its classpath."""
        from launcher.export.render.base import HELPERS_JAR, uses_helper_jar
        from launcher.export.run.jars import helper_jar_path

        if not uses_helper_jar(steps):
            return {}
        return {HELPERS_JAR: self.helper_jar or helper_jar_path()}

    def settle(self, fetch: Callable[[], T], settled: Callable[[T], bool], what: str) -> T:
        """After a cancel or a stop: poll until it has taken, for at most settle_seconds; the last value."""
        try:
            return poll_until(fetch, settled, every=min(self.poll_seconds, 2.0), clock=self.clock, timeout=self.settle_seconds, what=what)
        except WaitTimeout as e:
            return e.last

    def wait_for_log(
        self, read: Callable[[], T | None], where: str, found: Callable[[T | None], bool] = lambda v: v is not None
    ) -> T | None:
        """A failed run's log, which the service archives a while after the run ended: polled for at
        most log_wait_seconds until `found`; None if it never came."""
        try:
            return poll_until(
                read,
                found,
                every=self.log_poll_seconds,
                clock=self.clock,
                timeout=self.log_wait_seconds,
                what=f"waiting for {where}",
                describe=lambda text: f"{'found' if found(text) else 'waiting for'} {where}",
                say=self.progress,
            )
        except WaitTimeout:
            return None

    def counters_in_log(self, logs: S3Logs, uri: str) -> str:
        """The job's counters from a running job's archived stdout (its driver prints them there), as
        " (3/8 tasks done, 120,000 items, 118.2 MB written so far)", or "" while not there. A listing
        first: a GetObject of a key not archived yet is refused (403) under the printed policy's
        prefix-limited ListBucket, not answered 404."""
        if uri not in self._logs_seen:
            if not logs.exists(uri):
                return ""
            self._logs_seen.add(uri)
        found = last_counters(logs.read(uri) or "")
        return f" ({counters_text(found)})" if found else ""


def outcome(exc: BaseException | None) -> str:
    """Why a run ended, in the words of a teardown message."""
    if exc is None:
        return "the export finished"
    if isinstance(exc, Terminated):
        return "interrupted (SIGTERM)"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C)"
    return "the export failed"
