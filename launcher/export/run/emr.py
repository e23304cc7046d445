"""EmrRunner: runs the rendered export steps on Amazon EMR.

    upload artifacts -> RunJobFlow (transient, steps included) | AddJobFlowSteps (existing cluster)
    -> wait with progress -> on failure: FailureDetails + tail of the step's stderr from LogUri
    -> teardown: a cluster this runner started is terminated on every exit path (success,
       failure, Ctrl-C, SIGTERM, an exception anywhere); a cluster it did not start never is.

The lifecycle is Runner.run's (launcher/export/run/__init__.py); all AWS calls go through EmrHook;
the requests come from render_export (pure)."""

from __future__ import annotations

from typing import Any

from launcher.aws.emr_hook import EmrHook
from launcher.core.emr import ACCEPTING_STATES, DONE_STEP_STATES, FAILED_STEP_STATES, TERMINAL_CLUSTER_STATES
from launcher.core.errors import BadInput
from launcher.export.plan import ExportPlan
from launcher.export.run import Handle, Runner, RunResult, Status
from launcher.export.run.step_logs import cause_from_stderr, step_log_key


def steps_done(cluster_state: str, step_states: list[str]) -> bool:
    """Done when every step COMPLETED, one is FAILED, CANCELLED or INTERRUPTED (boto3's step_complete
    waiter ignores INTERRUPTED), or the cluster has ended."""
    if any(st in FAILED_STEP_STATES for st in step_states) or all(st == "COMPLETED" for st in step_states):
        return True
    return cluster_state in TERMINAL_CLUSTER_STATES


class EmrRunner(Runner):
    """The Handle: the cluster id, our step ids on it, and whether this run started the cluster."""

    name = "emr"
    hook: EmrHook | None

    def __init__(self, *args: Any, log_wait_seconds: float = 300.0, log_poll_seconds: float = 15.0, **kwargs: Any) -> None:
        # EMR archives step logs every ~5 minutes: a failed step's stderr may take that long.
        super().__init__(*args, log_wait_seconds=log_wait_seconds, log_poll_seconds=log_poll_seconds, **kwargs)

    hook_type = EmrHook

    def submit(self, plan: ExportPlan) -> Handle:
        """Upload the artifacts, then RunJobFlow (a transient cluster, with `self.tags` added to ours) or
        AddJobFlowSteps."""
        hook = self.make_hook(plan)
        rendered = self.render(plan)
        spec = plan.cluster
        if spec.cluster_id:
            cluster = check_accepting(hook, spec.cluster_id)
            check_applications(cluster, spec.cluster_id, rendered.steps)
            # Steps that depend on each other (the Hive engine's two) must run one after the other.
            concurrency = cluster.get("StepConcurrencyLevel", 1)
            if len(rendered.steps) > 1 and concurrency > 1:
                raise BadInput(
                    f"cluster {spec.cluster_id} runs up to {concurrency} steps at once (StepConcurrencyLevel): the {plan.engine} "
                    "engine's steps must run in turn; use --engine spark (one step) or a cluster with StepConcurrencyLevel 1"
                )
        self.upload(plan, hook.artifacts, rendered)
        if spec.cluster_id is not None:
            step_ids = hook.add_steps(spec.cluster_id, rendered.steps)
            self.progress(f"added {len(step_ids)} step(s) to cluster {spec.cluster_id}: {', '.join(step_ids)}")
            return Handle(spec.cluster_id, tuple(step_ids), created=False)
        request = dict(rendered.run_job_flow or {})
        if self.tags:
            request["Tags"] = [*request.get("Tags", []), *({"Key": k, "Value": v} for k, v in self.tags.items())]
        cluster_id = self.create(
            lambda: hook.run_job_flow(request),
            lambda cid, why: self._terminate(hook, cid, why),
            # Interrupted inside RunJobFlow, the id is unknown: find the cluster by our export-id tag.
            if_interrupted=lambda why: self._terminate_launched(hook, plan.export_id, why),
        )
        step_ids = hook.step_ids(cluster_id)
        self.progress(
            f"started cluster {cluster_id} ({spec.release_label}, 1 x {spec.instance_type} master, "
            f"{spec.core_nodes} x {spec.instance_type} core{' spot' if spec.spot else ''}) "
            f"with {len(step_ids)} step(s)"
        )
        return Handle(cluster_id, tuple(step_ids), created=True)

    def poll(self, plan: ExportPlan, handle: Handle) -> Status:
        """DescribeCluster + DescribeStep; a running step's line carries the job's counters from its
        archived stdout under the LogUri (EMR archives step logs every ~5 minutes, so they lag)."""
        hook = self.make_hook(plan)
        cluster_state = hook.describe_cluster(handle.resource)["Status"]["State"]
        steps = [hook.describe_step(handle.resource, s) for s in handle.runs]
        states = [s["Status"]["State"] for s in steps]
        line = f"cluster {handle.resource} {cluster_state}; " + ", ".join(
            f"step {n}/{len(steps)} {step['Status']['State']}{self.counters(plan, handle.resource, step)}"
            for n, step in enumerate(steps, 1)
        )
        return Status(steps_done(cluster_state, states), line, steps)

    def counters(self, plan: ExportPlan, cluster_id: str, step: dict[str, Any]) -> str:
        if not plan.cluster.log_uri or step["Status"]["State"] != "RUNNING":
            return ""
        return self.counters_in_log(self.make_hook(plan).logs, step_log_key(plan.cluster.log_uri, cluster_id, step["Id"], "stdout.gz"))

    def diagnose(self, plan: ExportPlan, handle: Handle, status: Status) -> str | None:
        return self.failure(self.make_hook(plan), plan, handle.resource, status.detail)

    def result(self, plan: ExportPlan, handle: Handle, status: Status, seconds: float) -> RunResult:
        log_uri = plan.cluster.log_uri
        logs = [step_log_key(log_uri, handle.resource, s, "") for s in handle.runs] if log_uri else []
        return RunResult(plan.export_uri, {}, seconds, cluster_id=handle.resource, logs=logs)

    def release(self, plan: ExportPlan, handle: Handle, why: str) -> None:
        if handle.created:  # a cluster the user gave is never ours to end
            self._terminate(self.make_hook(plan), handle.resource, why)

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
        cluster_reason: dict[str, Any] = {}
        if status["State"] != "FAILED":
            cluster_reason = hook.describe_cluster(cluster_id)["Status"].get("StateChangeReason", {})
            if cluster_reason.get("Message"):
                parts.append(f"cluster: {cluster_reason.get('Code', '')} {cluster_reason['Message']}".strip())
        if not started(bad):  # a step cancelled before it ran has no logs to wait for
            parts.append("the step never started")
            if cluster_reason.get("Code") == "BOOTSTRAP_FAILURE" and plan.cluster.log_uri:
                # EMR Management Guide, "View log files": <LogUri>/<cluster>/node/<instance>/bootstrap-actions/
                parts.append(f"bootstrap action logs: {plan.cluster.log_uri.rstrip('/')}/{cluster_id}/node/")
            return parts[0] + ": " + "; ".join(parts[1:])
        stderr_uri = self.stderr_uri(plan, cluster_id, bad)
        if stderr_uri:
            if plan.transient:
                # Terminating uploads the logs not yet archived; do it before waiting for them.
                self.cleanup("the step failed")
            text = self.wait_for_log(lambda: hook.logs.read(stderr_uri), f"the step's stderr at {stderr_uri}")
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


def started(step: dict[str, Any]) -> bool:
    """Whether a step ran at all: one CANCELLED while PENDING (the steps after one that failed with
    TERMINATE_CLUSTER or CANCEL_AND_WAIT, every step of a cluster whose bootstrap failed) has no
    StartDateTime in its Timeline, and no logs."""
    status = step["Status"]
    return status["State"] != "CANCELLED" or bool(status.get("Timeline", {}).get("StartDateTime"))


# What a step's command needs installed on the cluster (RunJobFlow's Applications).
STEP_APPLICATIONS = {"spark-submit": "Spark", "hive-script": "Hive"}


def check_applications(cluster: dict[str, Any], cluster_id: str, steps: list[dict[str, Any]]) -> None:
    """BadInput, before anything is uploaded or added, when the cluster lacks an application our
    steps run (its node would answer "command not found"). A cluster that lists none is not judged."""
    names = sorted(str(a["Name"]) for a in cluster.get("Applications", []) if a.get("Name"))
    need = {STEP_APPLICATIONS[a[0]] for s in steps if (a := s["HadoopJarStep"].get("Args", [])) and a[0] in STEP_APPLICATIONS}
    missing = sorted(n for n in need if n.lower() not in {x.lower() for x in names})
    if names and missing:
        raise BadInput(
            f"cluster {cluster_id} has no {' and no '.join(missing)} (its applications: {', '.join(names)}), which the "
            f"export's steps run; use a cluster that installs {' and '.join(sorted(need))}, or leave out --cluster for a new one"
        )


def check_accepting(hook: EmrHook, cluster_id: str) -> dict[str, Any]:
    cluster = hook.describe_cluster(cluster_id)
    state = cluster["Status"]["State"]
    if state not in ACCEPTING_STATES:
        raise BadInput(f"cluster {cluster_id} is {state}: steps can be added only to a cluster that is {', '.join(ACCEPTING_STATES)}")
    return cluster
