"""GlueRunner: runs the rendered export step as an AWS Glue 5 job run.

    upload artifacts (script, job zip, the connector jars, the helper jar) -> CreateJob (or UpdateJob
    of --glue-job) -> StartJobRun -> wait with progress -> on failure: the run's ErrorMessage + the
    tail of the driver's stderr from CloudWatch Logs (/aws-glue/jobs/error, the run's stream)
    -> teardown on every exit path: a run still going is stopped (BatchStopJobRun), a job this run
       created is deleted unless --keep; a job it did not create is left (updated) as it is.

All AWS calls go through GlueJobHook; the requests come from render/glue.py (pure)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from launcher.aws.glue_job_hook import GlueJobHook
from launcher.aws.session import Aws
from launcher.core.errors import DdbS3Error
from launcher.export.plan import ExportPlan
from launcher.export.render import glue, render_export
from launcher.export.render.base import HELPERS_JAR
from launcher.export.run import JobRunRunner, RunResult
from launcher.export.run.emr import _duration, helper_jar_path
from launcher.export.run.signals import sigterm_raises
from launcher.export.run.step_logs import cause_from_stderr


def local_jars(helper_jar: Path | None = None) -> dict[str, Path]:
    """The jars the job's --extra-jars name, from the connector build (make jars) or the wheel."""
    from launcher.export.run.jars import connector_classpath

    found = {p.name: p for p in connector_classpath()}
    missing = [j for j in glue.CONNECTOR_JARS if j not in found]
    if missing:
        raise DdbS3Error(f"the connector jars {', '.join(missing)} are missing: run `make jars`")
    return {**{j: found[j] for j in glue.CONNECTOR_JARS}, HELPERS_JAR: helper_jar or helper_jar_path()}


class GlueRunner(JobRunRunner):
    hook: GlueJobHook | None

    def make_hook(self, plan: ExportPlan) -> GlueJobHook:
        return self.hook or GlueJobHook(Aws(plan.region), settings=plan.s3)

    def run(self, plan: ExportPlan) -> RunResult:
        start = self.clock()
        with sigterm_raises(self.install_signal_handlers), self:
            hook = self.hook = self.make_hook(plan)
            rendered = render_export(plan, glue.target(plan.artifacts_uri))
            if not rendered.steps:
                raise DdbS3Error(f"engine {plan.engine} has no job to run on Glue")
            spec = plan.glue
            step = rendered.steps[0]
            if not spec.created:
                hook.get_job(spec.job_name)  # it must exist: a typo is bad input, before anything is uploaded
            uploaded = hook.upload_artifacts(plan.artifacts_uri, rendered.files, local_jars(self.helper_jar))
            self.progress(f"uploaded {len(uploaded)} artifacts to {plan.artifacts_uri}/")
            if spec.created:
                self.create_job(hook, plan, step)
            else:
                hook.update_job(glue.update_job_request(plan, step))
                self.progress(f"updated Glue job {spec.job_name} to run this export")
            run_id = hook.start_job_run(glue.start_job_run_request(plan))
            self.on_exit(lambda why: self._stop(hook, spec.job_name, run_id, why))
            self.progress(
                f"started job run {run_id} of {spec.job_name} (Glue {glue.GLUE_VERSION}, {spec.workers} x {spec.worker_type}, "
                f"timeout {spec.timeout_minutes} minutes)"
            )
            final = self.wait(hook, spec.job_name, run_id, start)
            problem = self.failure(hook, plan, final)
            if problem:
                raise DdbS3Error(problem)
            return RunResult(plan.export_uri, {}, self.clock() - start, cluster_id=f"{spec.job_name}/{run_id}")

    def create_job(self, hook: GlueJobHook, plan: ExportPlan, step: dict[str, Any]) -> None:
        spec = plan.glue
        if not spec.keep:  # registered first: interrupted inside CreateJob, the name is known anyway
            self.on_exit(lambda why: self._delete(hook, spec.job_name, why))
        hook.create_job(glue.create_job_request(plan, step))
        self.progress(f"created Glue job {spec.job_name}" + (" (kept after the run: --keep)" if spec.keep else ""))

    def _stop(self, hook: GlueJobHook, name: str, run_id: str, why: str) -> None:
        try:
            state = hook.get_job_run(name, run_id)["JobRunState"]
            if state in glue.DONE_STATES:
                return
            hook.stop_job_run(name, run_id)
            self.progress(f"stopping job run {run_id} ({why})")
            deadline = self.clock() + self.settle_seconds
            while state not in glue.DONE_STATES and self.clock() < deadline:
                self.sleep(min(self.poll_seconds, 2.0))
                state = hook.get_job_run(name, run_id)["JobRunState"]
        except Exception as e:  # noqa: BLE001 - report, and keep the original error
            self.progress(f"could not stop job run {run_id} of {name}: {e}; stop it in the Glue console")
            return
        self.progress(f"job run {run_id} {state} ({why})")

    def _delete(self, hook: GlueJobHook, name: str, why: str) -> None:
        try:
            hook.delete_job(name)
        except Exception as e:  # noqa: BLE001 - report, and keep the original error
            self.progress(f"could not delete Glue job {name}: {e}; delete it yourself")
            return
        self.progress(f"deleted Glue job {name} ({why})")

    def wait(self, hook: GlueJobHook, name: str, run_id: str, start: float) -> dict[str, Any]:
        last_line, last_report = "", self.clock()
        while True:
            run = hook.get_job_run(name, run_id)
            state = run["JobRunState"]
            line = f"job run {run_id} {state}"
            now = self.clock()
            if line != last_line or now - last_report >= 300:
                self.progress(f"{line}; {_duration(now - start)} elapsed")
                last_line, last_report = line, now
            if state in glue.DONE_STATES:
                return run
            self.sleep(self.poll_seconds)

    def failure(self, hook: GlueJobHook, plan: ExportPlan, run: dict[str, Any]) -> str | None:
        state = run["JobRunState"]
        if state == "SUCCEEDED":
            return None
        run_id = run["Id"]
        parts = [f"job run {run_id} of Glue job {plan.glue.job_name} {state}"]
        if run.get("ErrorMessage"):
            parts.append(str(run["ErrorMessage"]))
        group = glue.ERROR_LOG_GROUP
        where = f"CloudWatch Logs {group}, stream {run_id}"
        lines = self.wait_for_log(hook, group, run_id)
        if lines is None:
            parts.append(f"no driver stderr in {where}")
        else:
            parts.append(cause_from_stderr(lines, where, self.progress))
        return parts[0] + ": " + "; ".join(parts[1:])

    def wait_for_log(self, hook: GlueJobHook, group: str, stream: str) -> list[str] | None:
        deadline = self.clock() + self.log_wait_seconds
        while True:
            lines = hook.log_lines(group, stream)
            if lines or self.clock() >= deadline:
                return lines
            self.progress(f"waiting for the driver's stderr in {group}, stream {stream}")
            self.sleep(self.log_poll_seconds)
