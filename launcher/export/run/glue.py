"""GlueRunner: runs the rendered export step as an AWS Glue 5 job run.

    upload artifacts (script, job zip, the connector jars, the helper jar) -> CreateJob (or, for
    --glue-job: GetJob, then UpdateJob with the job as it is and ours on top) -> StartJobRun -> wait
    with progress -> on failure: the run's ErrorMessage + the tail of the driver's stderr from
    CloudWatch Logs (/aws-glue/jobs/error, the run's stream)
    -> teardown on every exit path: a run still going is stopped (BatchStopJobRun), a job this run
       created is deleted unless --keep; a job it did not create is put back as GetJob gave it
       (UpdateJob), so its own runs do not start our per-export script.

All AWS calls go through GlueJobHook; the requests come from render/glue.py (pure)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from launcher.aws.glue_job_hook import GlueJobHook
from launcher.core.errors import DdbS3Error
from launcher.export.plan import ExportPlan
from launcher.export.render import glue
from launcher.export.render.base import HELPERS_JAR
from launcher.export.run import Handle, Runner, Status
from launcher.export.run.jars import connector_classpath, helper_jar_path
from launcher.export.run.step_logs import cause_from_stderr


def local_jars(helper_jar: Path | None = None) -> dict[str, Path]:
    """The jars the job's --extra-jars name, from the connector build (make jars) or the wheel."""
    found = {p.name: p for p in connector_classpath()}
    missing = [j for j in glue.CONNECTOR_JARS if j not in found]
    if missing:
        raise DdbS3Error(f"the connector jars {', '.join(missing)} are missing: run `make jars`")
    return {**{j: found[j] for j in glue.CONNECTOR_JARS}, HELPERS_JAR: helper_jar or helper_jar_path()}


class GlueRunner(Runner):
    """The Handle: the Glue job's name, the job run id, and whether the job is ours to delete."""

    name = "glue"
    hook: GlueJobHook | None

    hook_type = GlueJobHook

    def submit(self, plan: ExportPlan) -> Handle:
        hook = self.make_hook(plan)
        rendered = self.render(plan)
        spec = plan.glue
        job_request, run_request = rendered.glue_job or {}, rendered.start_job_run or {}
        before: dict[str, Any] = {}
        if not spec.created:  # it must exist: a typo is bad input, before anything is uploaded
            current = hook.get_job(spec.job_name)
            before = glue.as_job_update(current)
            job_request = {"JobName": spec.job_name, "JobUpdate": glue.job_update(current, job_request["JobUpdate"])}
        self.upload(plan, hook.artifacts, rendered, local_jars(self.helper_jar))
        if spec.created:
            if spec.keep:
                hook.create_job(job_request)
            else:  # the name is known before the call: interrupted inside it, the job is deleted by name
                delete = lambda why: self._delete(hook, spec.job_name, why)  # noqa: E731
                self.create(lambda: hook.create_job(job_request), lambda _, why: delete(why), if_interrupted=delete)
            self.progress(f"created Glue job {spec.job_name}" + (" (kept after the run: --keep)" if spec.keep else ""))
        else:
            self._update(hook, job_request, before)
            self.progress(f"updated Glue job {spec.job_name} to run this export (its own settings kept; put back as it was after the run)")
        run_id = self.create(lambda: hook.start_job_run(run_request), lambda rid, why: self._stop(hook, spec.job_name, rid, why))
        self.progress(
            f"started job run {run_id} of {spec.job_name} (Glue {glue.GLUE_VERSION}, {spec.workers} x {spec.worker_type}, "
            f"timeout {spec.timeout_minutes} minutes)"
        )
        return Handle(spec.job_name, (run_id,), created=spec.created and not spec.keep)

    def poll(self, plan: ExportPlan, handle: Handle) -> Status:
        (run_id,) = handle.runs
        run = self.make_hook(plan).get_job_run(handle.resource, run_id)
        state = run["JobRunState"]
        return Status(state in glue.DONE_STATES, f"job run {run_id} {state}", run)

    def diagnose(self, plan: ExportPlan, handle: Handle, status: Status) -> str | None:
        """None on SUCCEEDED; else the run's ErrorMessage and a probable cause from the driver's
        stderr in CloudWatch Logs (/aws-glue/jobs/error, the run's stream)."""
        run = status.detail
        state = run["JobRunState"]
        if state == "SUCCEEDED":
            return None
        run_id = run["Id"]
        parts = [f"job run {run_id} of Glue job {handle.resource} {state}"]
        if run.get("ErrorMessage"):
            parts.append(str(run["ErrorMessage"]))
        group = glue.ERROR_LOG_GROUP
        where = f"CloudWatch Logs {group}, stream {run_id}"
        hook = self.make_hook(plan)
        # CloudWatch Logs answers an empty stream until the driver's lines are delivered: wait for lines.
        lines = self.wait_for_log(lambda: hook.log_lines(group, run_id), f"the driver's stderr in {group}, stream {run_id}", bool)
        if lines is None:
            parts.append(f"no driver stderr in {where}")
        else:
            parts.append(cause_from_stderr(lines, where, self.progress))
        return parts[0] + ": " + "; ".join(parts[1:])

    def release(self, plan: ExportPlan, handle: Handle, why: str) -> None:
        hook = self.make_hook(plan)
        for run_id in handle.runs:
            self._stop(hook, handle.resource, run_id, why)
        if handle.created:
            self._delete(hook, handle.resource, why)
        elif not plan.glue.created:  # adopted (Airflow's deferred task): GetJob's answer stayed in the submitting process
            self.progress(
                f"Glue job {handle.resource} still holds this export's definition (its script under {plan.artifacts_uri}/): the one "
                "it had before the run stayed with the process that submitted it; set it back yourself (docs/glue.md)"
            )

    # --- the user's job (--glue-job) -----------------------------------------------------------

    def _update(self, hook: GlueJobHook, request: dict[str, Any], before: dict[str, Any]) -> None:
        """UpdateJob of the user's job, its restore registered before the call: it runs on every way out
        (an interruption inside the call, or a connection lost, included), unless Glue answered the
        UpdateJob with an error (a ClientError: DdbS3Error here), which changed nothing."""
        refused = [False]
        name = str(request["JobName"])

        def restore(why: str) -> None:
            if not refused[0]:
                self._restore(hook, name, before, why)

        self.on_exit(restore)
        try:
            hook.update_job(request)
        except DdbS3Error:
            refused[0] = True
            raise

    def _restore(self, hook: GlueJobHook, name: str, before: dict[str, Any], why: str) -> None:
        try:
            hook.update_job({"JobName": name, "JobUpdate": before})
        except Exception as e:  # noqa: BLE001 - report, and keep the original error
            self.progress(
                f"could not put Glue job {name} back as it was: {e}; it still runs this export's script. Its definition before "
                f"the run (aws glue update-job --job-name {name} --job-update '<this JSON>'): {json.dumps(before, sort_keys=True)}"
            )
            return
        self.progress(f"put Glue job {name} back as it was before the run ({why})")

    # --- teardown -------------------------------------------------------------------------------

    def _stop(self, hook: GlueJobHook, name: str, run_id: str, why: str) -> None:
        try:
            state = hook.get_job_run(name, run_id)["JobRunState"]
            if state in glue.DONE_STATES:
                return
            hook.stop_job_run(name, run_id)
            self.progress(f"stopping job run {run_id} ({why})")
            state = self.settle(
                lambda: hook.get_job_run(name, run_id)["JobRunState"], lambda st: st in glue.DONE_STATES, f"stop of {run_id}"
            )
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
