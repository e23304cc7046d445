"""EmrRunner: runs the rendered export steps on Amazon EMR.

    upload artifacts -> RunJobFlow (transient, steps included) | AddJobFlowSteps (existing cluster)
    -> wait with progress -> on failure: FailureDetails + tail of the step's stderr from LogUri
    -> teardown: a cluster this runner started is terminated on every exit path (success,
       failure, Ctrl-C, SIGTERM, an exception anywhere); a cluster it did not start never is.

All AWS calls go through EmrHook; the requests come from render_export (pure).
The wait is a strategy (`waiter`), because moto's EMR never finishes a step: tests against moto
inject the step outcome, tests of the real wait loop use recorded EMR responses."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from launcher.aws.emr_hook import EmrHook
from launcher.aws.session import Aws
from launcher.core.emr import ACCEPTING_STATES, DONE_STEP_STATES, FAILED_STEP_STATES, TERMINAL_CLUSTER_STATES
from launcher.core.errors import BadInput, DdbS3Error
from launcher.core.result_line import last_counters
from launcher.export.plan import ExportPlan
from launcher.export.render import render_export
from launcher.export.render.base import HELPERS_JAR, Rendered, Target
from launcher.export.run import Counts, Progress, Runner, RunResult
from launcher.export.run.signals import sigterm_raises
from launcher.export.run.step_logs import cause_from_stderr, step_log_key


class Waiter(Protocol):
    def __call__(self, hook: EmrHook, cluster_id: str, step_ids: list[str], progress: Progress) -> list[dict[str, Any]]:
        """Wait until every step is done (or one failed, or the cluster ended); return DescribeStep dicts."""


class StepWaiter:
    """Polls DescribeCluster + DescribeStep until all steps are COMPLETED, one is FAILED, CANCELLED
    or INTERRUPTED (boto3's step_complete waiter ignores INTERRUPTED), or the cluster has ended.
    Prints a line when a state changes, and at least every `report_seconds`. With the cluster's
    `log_uri`, a running step's line carries the job's counters from its archived stdout (EMR
    archives step logs every ~5 minutes, so they lag the step by as much)."""

    def __init__(
        self,
        poll_seconds: float = 30.0,
        max_wait_seconds: float | None = None,
        report_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        log_uri: str | None = None,
    ) -> None:
        self.poll_seconds = poll_seconds
        self.max_wait_seconds = max_wait_seconds
        self.report_seconds = report_seconds
        self.clock = clock
        self.sleep = sleep
        self.log_uri = log_uri
        self._logs_seen: set[str] = set()

    def __call__(self, hook: EmrHook, cluster_id: str, step_ids: list[str], progress: Progress) -> list[dict[str, Any]]:
        start = self.clock()
        last_line, last_report = "", start
        while True:
            cluster = hook.describe_cluster(cluster_id)
            cluster_state = cluster["Status"]["State"]
            steps = [hook.describe_step(cluster_id, s) for s in step_ids]
            states = [s["Status"]["State"] for s in steps]
            now = self.clock()
            line = f"cluster {cluster_id} {cluster_state}; " + ", ".join(
                f"step {n}/{len(steps)} {step['Status']['State']}{self.counters(hook, cluster_id, step)}" for n, step in enumerate(steps, 1)
            )
            if line != last_line or now - last_report >= self.report_seconds:
                progress(f"{line}; {_duration(now - start)} elapsed")
                last_line, last_report = line, now
            if steps_done(cluster_state, states):
                return steps
            if self.max_wait_seconds is not None and now - start >= self.max_wait_seconds:
                raise DdbS3Error(f"steps on {cluster_id} not done after {_duration(now - start)} (--max-wait): {', '.join(states)}")
            self.sleep(self.poll_seconds)

    def counters(self, hook: EmrHook, cluster_id: str, step: dict[str, Any]) -> str:
        """The job's counters from a running step's archived stdout (its driver prints them there), as
        " (3/8 tasks done, 120,000 items, 118.2 MB written so far)", or "" (no LogUri, not archived
        yet, or not our job)."""
        if not self.log_uri or step["Status"]["State"] != "RUNNING":
            return ""
        uri = step_log_key(self.log_uri, cluster_id, step["Id"], "stdout.gz")
        # A listing first, until the log is there: a GetObject of a key not archived yet is refused
        # (403) under the printed policy's prefix-limited ListBucket, not answered 404.
        if uri not in self._logs_seen:
            if not hook.log_exists(uri):
                return ""
            self._logs_seen.add(uri)
        found = last_counters(hook.read_log(uri) or "")
        return f" ({counters_text(found)})" if found else ""


def counters_text(counters: dict[str, Any]) -> str:
    """The job's counters (launcher.job.runtime.DriverCounters) in words."""
    tasks = f"{counters['tasksDone']}/{counters['tasks']} tasks done, " if counters.get("tasks") else ""
    return f"{tasks}{counters['items']:,} items, {counters['bytes'] / 1e6:,.1f} MB written so far"


def steps_done(cluster_state: str, step_states: list[str]) -> bool:
    """StepWaiter's rule (Airflow's trigger uses it too): done when every step COMPLETED, one is
    FAILED, CANCELLED or INTERRUPTED, or the cluster has ended."""
    if any(st in FAILED_STEP_STATES for st in step_states) or all(st == "COMPLETED" for st in step_states):
        return True
    return cluster_state in TERMINAL_CLUSTER_STATES


@dataclass
class Submitted:
    """What `EmrRunner.submit` started: the cluster, our steps on it, and whether the cluster is ours."""

    cluster_id: str
    step_ids: list[str]
    started: bool  # a transient cluster this runner started (to terminate when done)


class EmrRunner(Runner):
    def __init__(
        self,
        progress: Progress = print,
        *,
        hook: EmrHook | None = None,
        waiter: Waiter | None = None,
        install_signal_handlers: bool = True,
        log_wait_seconds: float = 300.0,
        log_poll_seconds: float = 15.0,
        helper_jar: Path | None = None,
        counts: Counts | None = None,
    ) -> None:
        super().__init__(progress, counts)
        self.hook = hook
        self.waiter: Waiter = waiter or StepWaiter()
        self.install_signal_handlers = self.hold_signals = install_signal_handlers
        self.log_wait_seconds = log_wait_seconds
        self.log_poll_seconds = log_poll_seconds
        self.helper_jar = helper_jar

    def make_hook(self, plan: ExportPlan) -> EmrHook:
        return self.hook or EmrHook(Aws(plan.region), settings=plan.s3)

    def run(self, plan: ExportPlan) -> RunResult:
        start = time.monotonic()
        # Teardown runs in every exit path: what submit registered is released on the way out.
        with sigterm_raises(self.install_signal_handlers), self:
            sub = self.submit(plan)
            steps = self.waiter(self.make_hook(plan), sub.cluster_id, sub.step_ids, self.progress)
            return self.finish(plan, sub.cluster_id, sub.step_ids, steps, time.monotonic() - start)

    # --- the run in parts (`run` above; Airflow's deferrable operator waits elsewhere) -----------

    def submit(self, plan: ExportPlan, tags: dict[str, str] | None = None) -> Submitted:
        """Upload the artifacts, then RunJobFlow (a transient cluster, with `tags` added to ours)
        or AddJobFlowSteps, and return without waiting. A cluster started here stays registered
        for teardown with this runner (`cleanup()` or leaving `with`) until `detach()`."""
        hook = self.hook = self.make_hook(plan)
        root = plan.artifacts_uri
        rendered = render_export(plan, Target.emr(root))
        if not rendered.steps:
            raise DdbS3Error(f"engine {plan.engine} has no EMR steps")
        spec = plan.cluster
        if spec.cluster_id:
            check_accepting(hook, spec.cluster_id)
        uploaded = hook.upload_artifacts(root, rendered.files, self.local_files(rendered))
        self.progress(f"uploaded {len(uploaded)} artifacts to {root}/")
        if spec.cluster_id is not None:
            step_ids = hook.add_steps(spec.cluster_id, rendered.steps)
            self.progress(f"added {len(step_ids)} step(s) to cluster {spec.cluster_id}: {', '.join(step_ids)}")
            return Submitted(spec.cluster_id, step_ids, started=False)
        request = dict(rendered.run_job_flow or {})
        if tags:
            request["Tags"] = [*request.get("Tags", []), *({"Key": k, "Value": v} for k, v in tags.items())]
        cluster_id = self.start_cluster(hook, plan.export_id, request)
        step_ids = hook.step_ids(cluster_id)
        self.progress(
            f"started cluster {cluster_id} ({spec.release_label}, 1 x {spec.instance_type} master, "
            f"{spec.core_nodes} x {spec.instance_type} core{' spot' if spec.spot else ''}) "
            f"with {len(step_ids)} step(s)"
        )
        return Submitted(cluster_id, step_ids, started=True)

    def detach(self) -> None:
        """Forget the teardown registered so far: the caller now owns the cluster (it outlives this runner)."""
        with self._lock:
            self._cleanups.pop_all()

    def adopt(self, plan: ExportPlan, cluster_id: str) -> None:
        """Register a cluster started earlier (by `submit`, maybe in another process) for teardown."""
        hook = self.hook = self.make_hook(plan)
        self.on_exit(lambda why: self._terminate(hook, cluster_id, why))

    def finish(
        self, plan: ExportPlan, cluster_id: str, step_ids: list[str], steps: list[dict[str, Any]] | None = None, seconds: float = 0.0
    ) -> RunResult:
        """After the wait (`steps`: what the waiter returned; None: described now): raise DdbS3Error
        with the failure and its probable cause, as `run` does, or return the RunResult. Call it
        inside `with runner` so that a cluster it started or adopted is terminated."""
        hook = self.hook = self.make_hook(plan)
        if steps is None:
            steps = [hook.describe_step(cluster_id, s) for s in step_ids]
        problem = self.failure(hook, plan, cluster_id, steps)
        if problem:
            raise DdbS3Error(problem)
        spec = plan.cluster
        logs = [step_log_key(spec.log_uri, cluster_id, s, "") for s in step_ids] if spec.log_uri else []
        return RunResult(plan.export_uri, {}, seconds, cluster_id=cluster_id, logs=logs)

    def start_cluster(self, hook: EmrHook, export_id: str, request: dict[str, Any]) -> str:
        """RunJobFlow, with its cleanup registered before the call (interrupted inside it, the id is
        unknown: find the cluster by our export-id tag) and replaced by a plain terminate the moment
        the id is known."""
        launching = [True]
        self.on_exit(lambda why: self._terminate_launched(hook, export_id, why) if launching[0] else None)
        cluster_id = hook.run_job_flow(request)
        launching[0] = False
        self.on_exit(lambda why: self._terminate(hook, cluster_id, why))
        return cluster_id

    def _terminate(self, hook: EmrHook, cluster_id: str, why: str) -> None:
        try:
            hook.terminate(cluster_id)
        except Exception as e:  # noqa: BLE001 - report, and keep the original error
            self.progress(f"could not terminate cluster {cluster_id}: {e}; terminate it with `ddb-s3 clusters terminate {cluster_id}`")
            return
        self.progress(f"terminated cluster {cluster_id} ({why})")

    def _terminate_launched(self, hook: EmrHook, export_id: str, why: str) -> None:
        for cluster in hook.managed_clusters(export_id=export_id):
            self.progress(f"terminating cluster {cluster['Id']} ({why}; started while interrupted)")
            hook.terminate(cluster["Id"])

    def local_files(self, rendered: Rendered) -> dict[str, Path]:
        """The helper jar, when a step puts it on its classpath."""
        if not any(HELPERS_JAR in a for s in rendered.steps for a in s["HadoopJarStep"].get("Args", [])):
            return {}
        return {HELPERS_JAR: self.helper_jar or helper_jar_path()}

    # --- failure ---------------------------------------------------------------------------

    def failure(self, hook: EmrHook, plan: ExportPlan, cluster_id: str, steps: list[dict[str, Any]]) -> str | None:
        """None if every step COMPLETED; else one line: the step, its FailureDetails and a probable
        cause from its stderr (the tail is shown as progress lines)."""
        bad = next((s for s in steps if s["Status"]["State"] in FAILED_STEP_STATES), None)
        if bad is None:
            unfinished = next((s for s in steps if s["Status"]["State"] not in DONE_STEP_STATES), None)
            if unfinished is None:
                return None
            reason = hook.describe_cluster(cluster_id)["Status"].get("StateChangeReason", {})
            return (
                f"cluster {cluster_id} ended before step {unfinished['Name']!r} finished "
                f"({unfinished['Status']['State']}): {reason.get('Code', '?')}: {reason.get('Message', '')}"
            ).rstrip(": ")
        status = bad["Status"]
        details = status.get("FailureDetails") or {}
        parts = [f"step {bad['Name']!r} ({bad['Id']}) on {cluster_id} {status['State']}"]
        if details.get("Reason") or details.get("Message"):
            parts.append(": ".join(x for x in (details.get("Reason"), details.get("Message")) if x))
        elif status.get("StateChangeReason", {}).get("Message"):
            parts.append(status["StateChangeReason"]["Message"])
        if status["State"] != "FAILED":
            reason = hook.describe_cluster(cluster_id)["Status"].get("StateChangeReason", {})
            if reason.get("Message"):
                parts.append(f"cluster: {reason.get('Code', '')} {reason['Message']}".strip())
        stderr_uri = self.stderr_uri(plan, cluster_id, bad)
        if stderr_uri:
            if plan.transient:
                # Terminating uploads the logs not yet archived; do it before waiting for them.
                self.cleanup("the step failed")
            text = self.wait_for_log(hook, stderr_uri)
            if text is None:
                parts.append(f"stderr not found at {stderr_uri} (EMR uploads step logs every ~5 minutes)")
            else:
                parts.append(cause_from_stderr(text.rstrip("\n").splitlines(), f"stderr: {stderr_uri}", self.progress))
        elif status["State"] == "FAILED":
            parts.append("no --log-uri, so the step's stderr was not archived")
        return parts[0] + (": " + "; ".join(parts[1:]) if len(parts) > 1 else "")

    def stderr_uri(self, plan: ExportPlan, cluster_id: str, step: dict[str, Any]) -> str | None:
        log_file = (step["Status"].get("FailureDetails") or {}).get("LogFile", "")
        if log_file.startswith("s3://") and "stderr" in log_file.rsplit("/", 1)[-1]:
            return log_file
        if plan.cluster.log_uri:
            return step_log_key(plan.cluster.log_uri, cluster_id, step["Id"])
        return None

    def wait_for_log(self, hook: EmrHook, uri: str) -> str | None:
        deadline = time.monotonic() + self.log_wait_seconds
        while True:
            text = hook.read_log(uri)
            if text is not None or time.monotonic() >= deadline:
                return text
            self.progress(f"waiting for the step's stderr at {uri}")
            time.sleep(self.log_poll_seconds)


def check_accepting(hook: EmrHook, cluster_id: str) -> dict[str, Any]:
    cluster = hook.describe_cluster(cluster_id)
    state = cluster["Status"]["State"]
    if state not in ACCEPTING_STATES:
        raise BadInput(f"cluster {cluster_id} is {state}: steps can be added only to a cluster that is {', '.join(ACCEPTING_STATES)}")
    return cluster


def helper_jar_path() -> Path:
    """The helper jar: inside the installed wheel (launcher/_jars), or built by `make jars` in a checkout."""
    from launcher.export.run.jars import connector_classpath

    packaged = Path(__file__).resolve().parents[2] / "_jars" / HELPERS_JAR
    if packaged.is_file():
        return packaged
    jars = [p for p in connector_classpath() if p.name.startswith("ddb-s3-spark-helpers")]
    if not jars:
        raise DdbS3Error("the helper jar ddb-s3-spark-helpers*.jar is missing: run `make jars` (in a checkout) or install the ddb-s3 wheel")
    return jars[-1]


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return (
        f"{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"
    )
