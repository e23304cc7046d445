"""EmrServerlessRunner: runs the rendered export step as an EMR Serverless job run.

    upload artifacts -> CreateApplication (or the user's --application-id) -> StartJobRun (the
    request rendered from the same step EMR runs) -> wait with progress -> on failure: the run's
    stateDetails + the tail of the driver's stderr from the S3 log location
    -> teardown on every exit path: a run still going is cancelled (Ctrl-C, SIGTERM, an error), an
       application this runner created is stopped and deleted; one it did not create never is.

All AWS calls go through EmrServerlessHook; the requests come from render/serverless.py (pure)."""

from __future__ import annotations

from typing import Any

from launcher.aws.emr_serverless_hook import EmrServerlessHook, account_of, partition_of
from launcher.aws.session import Aws
from launcher.core.errors import BadInput, DdbS3Error
from launcher.core.result_line import last_counters
from launcher.export.plan import ExportPlan
from launcher.export.render import render_export, serverless
from launcher.export.render.base import HELPERS_JAR, Target
from launcher.export.run import JobRunRunner, Progress, RunResult
from launcher.export.run.emr import _duration, counters_text, helper_jar_path
from launcher.export.run.signals import sigterm_raises
from launcher.export.run.step_logs import cause_from_stderr, driver_log_key

DONE_STATES = ("SUCCESS", "FAILED", "CANCELLED")
# Application states in which a job run can be started (a STOPPED or CREATED one auto-starts).
USABLE_APP_STATES = ("CREATED", "STARTING", "STARTED", "STOPPING", "STOPPED")
DELETABLE_APP_STATES = ("CREATED", "STOPPED")


class EmrServerlessRunner(JobRunRunner):
    hook: EmrServerlessHook | None

    def __init__(self, progress: Progress = print, **settings: Any) -> None:
        super().__init__(progress, **settings)
        self._logs_seen: set[str] = set()

    def make_hook(self, plan: ExportPlan) -> EmrServerlessHook:
        return self.hook or EmrServerlessHook(Aws(plan.region), settings=plan.s3)

    def run(self, plan: ExportPlan) -> RunResult:
        start = self.clock()
        with sigterm_raises(self.install_signal_handlers), self:
            hook = self.hook = self.make_hook(plan)
            root = plan.artifacts_uri
            rendered = render_export(plan, Target.emr(root))
            if not rendered.steps:
                raise DdbS3Error(f"engine {plan.engine} has no job to run on EMR Serverless")
            spec = plan.serverless
            if spec.application_id:
                app = hook.get_application(spec.application_id)
                if app["state"] not in USABLE_APP_STATES:
                    raise BadInput(f"EMR Serverless application {spec.application_id} is {app['state']}: it cannot run jobs")
                if app.get("type", "").upper() != "SPARK":
                    raise BadInput(f"EMR Serverless application {spec.application_id} is a {app.get('type')} application, not Spark")
            step = rendered.steps[0]
            local = (
                {HELPERS_JAR: self.helper_jar or helper_jar_path()} if any(HELPERS_JAR in a for a in step["HadoopJarStep"]["Args"]) else {}
            )
            uploaded = hook.upload_artifacts(root, rendered.files, local)
            self.progress(f"uploaded {len(uploaded)} artifacts to {root}/")
            if spec.application_id:
                app_id, app_arn = spec.application_id, app["arn"]
                self.progress(f"running on application {app_id} ({app.get('releaseLabel')}, {app['state']})")
            else:
                app_id, app_arn = self.create_application(hook, plan)
            role = serverless.role_arn(spec.execution_role, account_of(app_arn), partition_of(app_arn))
            request = serverless.start_job_run_request(plan, step, app_id, role)
            run_id = self.start_job_run(hook, app_id, request)
            final = self.wait(hook, plan, app_id, run_id, start)
            problem = self.failure(hook, plan, app_id, final)
            if problem:
                raise DdbS3Error(problem)
            logs = [driver_log_key(spec.log_uri, app_id, run_id, "")] if spec.log_uri else []
            return RunResult(plan.export_uri, {}, self.clock() - start, cluster_id=f"{app_id}/{run_id}", logs=logs)

    # --- what the run creates, and its teardown ---------------------------------------------

    def create_application(self, hook: EmrServerlessHook, plan: ExportPlan) -> tuple[str, str]:
        request = serverless.create_application_request(plan)
        launching = [True]
        # Interrupted inside CreateApplication, the id is unknown: find it by its name (the export id's).
        self.on_exit(lambda why: self._delete_launched(hook, request["name"], why) if launching[0] else None)
        created = hook.create_application(request)
        launching[0] = False
        app_id = created["applicationId"]
        self.on_exit(lambda why: self._delete_application(hook, app_id, why))
        spec = plan.serverless
        self.progress(
            f"created EMR Serverless application {app_id} ({spec.release_label}, Spark, up to {spec.workers} workers "
            f"and a driver of {serverless.SERVERLESS_WORKER_VCPUS} vCPU each)"
        )
        return app_id, str(created["arn"])

    def start_job_run(self, hook: EmrServerlessHook, app_id: str, request: dict[str, Any]) -> str:
        run_id = hook.start_job_run(request)
        self.on_exit(lambda why: self._cancel(hook, app_id, run_id, why))
        self.progress(f"started job run {run_id} on {app_id} (timeout {request['executionTimeoutMinutes']} minutes)")
        return run_id

    def _cancel(self, hook: EmrServerlessHook, app_id: str, run_id: str, why: str) -> None:
        try:
            state = hook.get_job_run(app_id, run_id)["state"]
            if state in DONE_STATES:
                return
            hook.cancel_job_run(app_id, run_id)
            self.progress(f"cancelling job run {run_id} ({why})")
            deadline = self.clock() + self.settle_seconds
            while state not in DONE_STATES and self.clock() < deadline:
                self.sleep(min(self.poll_seconds, 2.0))
                state = hook.get_job_run(app_id, run_id)["state"]
        except Exception as e:  # noqa: BLE001 - report, and keep the original error
            self.progress(f"could not cancel job run {run_id} on {app_id}: {e}; cancel it in the EMR Serverless console")
            return
        self.progress(f"job run {run_id} {state} ({why})")

    def _delete_application(self, hook: EmrServerlessHook, app_id: str, why: str) -> None:
        """Stop (a started application cannot be deleted), wait until it is, then delete."""
        try:
            state = hook.get_application(app_id)["state"]
            if state not in DELETABLE_APP_STATES:
                hook.stop_application(app_id)
                deadline = self.clock() + self.settle_seconds
                while state not in DELETABLE_APP_STATES and self.clock() < deadline:
                    self.sleep(min(self.poll_seconds, 2.0))
                    state = hook.get_application(app_id)["state"]
            hook.delete_application(app_id)
        except Exception as e:  # noqa: BLE001 - report, and keep the original error
            self.progress(f"could not delete EMR Serverless application {app_id}: {e}; stop and delete it yourself")
            return
        self.progress(f"deleted EMR Serverless application {app_id} ({why})")

    def _delete_launched(self, hook: EmrServerlessHook, name: str, why: str) -> None:
        for app in hook.applications_named(name):
            self.progress(f"deleting EMR Serverless application {app['id']} ({why}; created while interrupted)")
            self._delete_application(hook, app["id"], why)

    # --- the wait ---------------------------------------------------------------------------

    def wait(self, hook: EmrServerlessHook, plan: ExportPlan, app_id: str, run_id: str, start: float) -> dict[str, Any]:
        """Poll GetJobRun until SUCCESS, FAILED or CANCELLED; a line when the state changes (with the
        job's counters from the driver's stdout while it runs) and at least every 5 minutes."""
        last_line, last_report = "", self.clock()
        while True:
            job = hook.get_job_run(app_id, run_id)
            state = job["state"]
            line = f"job run {run_id} {state}{self.counters(hook, plan, app_id, run_id, state)}"
            now = self.clock()
            if line != last_line or now - last_report >= 300:
                self.progress(f"{line}; {_duration(now - start)} elapsed")
                last_line, last_report = line, now
            if state in DONE_STATES:
                return job
            self.sleep(self.poll_seconds)

    def counters(self, hook: EmrServerlessHook, plan: ExportPlan, app_id: str, run_id: str, state: str) -> str:
        """The job's counters from the driver's stdout under the logUri, once it is there (a listing
        first: a GetObject of a key not there yet is refused under the printed policy, not a 404)."""
        if not plan.serverless.log_uri or state != "RUNNING":
            return ""
        uri = driver_log_key(plan.serverless.log_uri, app_id, run_id, "stdout.gz")
        if uri not in self._logs_seen:
            if not hook.log_exists(uri):
                return ""
            self._logs_seen.add(uri)
        found = last_counters(hook.read_log(uri) or "")
        return f" ({counters_text(found)})" if found else ""

    # --- failure ----------------------------------------------------------------------------

    def failure(self, hook: EmrServerlessHook, plan: ExportPlan, app_id: str, job: dict[str, Any]) -> str | None:
        """None on SUCCESS; else one line: the run, its state and stateDetails, and a probable cause
        from the driver's stderr (its tail shown as progress lines)."""
        state = job["state"]
        if state == "SUCCESS":
            return None
        run_id = job["jobRunId"]
        parts = [f"job run {run_id} on {app_id} {state}"]
        if job.get("stateDetails"):
            parts.append(str(job["stateDetails"]))
        log_uri = plan.serverless.log_uri
        if not log_uri:
            parts.append("no --log-uri, so the driver's stderr was not kept")
            return parts[0] + ": " + "; ".join(parts[1:])
        uri = driver_log_key(log_uri, app_id, run_id)
        text = self.wait_for_log(hook, uri)
        if text is None:
            parts.append(f"driver stderr not found at {uri}")
        else:
            parts.append(cause_from_stderr(text.rstrip("\n").splitlines(), f"stderr: {uri}", self.progress))
        return parts[0] + ": " + "; ".join(parts[1:])

    def wait_for_log(self, hook: EmrServerlessHook, uri: str) -> str | None:
        deadline = self.clock() + self.log_wait_seconds
        while True:
            text = hook.read_log(uri) if hook.log_exists(uri) else None
            if text is not None or self.clock() >= deadline:
                return text
            self.progress(f"waiting for the driver's stderr at {uri}")
            self.sleep(self.log_poll_seconds)
