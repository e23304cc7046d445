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
from launcher.core.errors import BadInput, DdbS3Error
from launcher.core.wait import WaitTimeout, poll_until
from launcher.export.plan import ExportPlan
from launcher.export.render import serverless
from launcher.export.run import Handle, Runner, RunResult, Status
from launcher.export.run.step_logs import cause_from_stderr, driver_log_key

DONE_STATES = ("SUCCESS", "FAILED", "CANCELLED")
# Application states (EMR Serverless User Guide, "Application states"): a job run is accepted in
# CREATED, STARTED or STOPPED (a CREATED or STOPPED one auto-starts); CREATING, STARTING and STOPPING
# pass by themselves, so the runner waits them out; TERMINATED never runs anything again.
READY_APP_STATES = ("CREATED", "STARTED", "STOPPED")
PASSING_APP_STATES = ("CREATING", "STARTING", "STOPPING")
DELETABLE_APP_STATES = ("CREATED", "STOPPED")


class EmrServerlessRunner(Runner):
    """The Handle: the application id, the job run id, and whether this run created the application."""

    name = "emr-serverless"
    hook: EmrServerlessHook | None

    hook_type = EmrServerlessHook

    def submit(self, plan: ExportPlan) -> Handle:
        hook = self.make_hook(plan)
        rendered = self.render(plan)
        spec = plan.serverless
        if spec.application_id:
            app = hook.get_application(spec.application_id)
            if app["state"] not in (*READY_APP_STATES, *PASSING_APP_STATES):
                raise BadInput(f"EMR Serverless application {spec.application_id} is {app['state']}: it cannot run jobs")
            if app.get("type", "").upper() != "SPARK":
                raise BadInput(f"EMR Serverless application {spec.application_id} is a {app.get('type')} application, not Spark")
        self.upload(plan, hook.artifacts, rendered)
        if spec.application_id:
            app_id, app_arn = spec.application_id, app["arn"]
            self.progress(f"running on application {app_id} ({app.get('releaseLabel')}, {app['state']})")
        else:
            assert rendered.create_application is not None  # rendered when the run creates its application
            app_id, app_arn = self.create_application(hook, plan, rendered.create_application)
        self.ready(hook, app_id)
        # The rendered request, on the application and with the role ARN known only now.
        role = serverless.role_arn(spec.execution_role, account_of(app_arn), partition_of(app_arn))
        request = {**(rendered.start_job_run or {}), "applicationId": app_id, "executionRoleArn": role}
        run_id = self.create(lambda: hook.start_job_run(request), lambda rid, why: self._cancel(hook, app_id, rid, why))
        self.progress(f"started job run {run_id} on {app_id} (timeout {request['executionTimeoutMinutes']} minutes)")
        return Handle(app_id, (run_id,), created=not spec.application_id)

    def create_application(self, hook: EmrServerlessHook, plan: ExportPlan, request: dict[str, Any]) -> tuple[str, str]:
        created = self.create(
            lambda: hook.create_application(request),
            lambda app, why: self._delete_application(hook, app["applicationId"], why),
            # Interrupted inside CreateApplication, the id is unknown: find it by its name (the export id's).
            if_interrupted=lambda why: self._delete_launched(hook, request["name"], why),
        )
        app_id = created["applicationId"]
        spec = plan.serverless
        self.progress(
            f"created EMR Serverless application {app_id} ({spec.release_label}, Spark, up to {spec.workers} workers "
            f"and a driver of {serverless.SERVERLESS_WORKER_VCPUS} vCPU each)"
        )
        return app_id, str(created["arn"])

    def ready(self, hook: EmrServerlessHook, app_id: str) -> None:
        """Wait (bounded by settle_seconds) while the application is CREATING, STARTING or STOPPING:
        StartJobRun is refused then."""
        try:
            app = poll_until(
                lambda: hook.get_application(app_id),
                lambda a: a["state"] not in PASSING_APP_STATES,
                every=min(self.poll_seconds, 2.0),
                clock=self.clock,
                timeout=self.settle_seconds,
                what=f"EMR Serverless application {app_id} becoming ready for a job run",
                describe=lambda a: f"application {app_id} {a['state']}",
                say=self.progress,
            )
        except WaitTimeout as e:
            raise DdbS3Error(str(e)) from None
        if app["state"] not in READY_APP_STATES:
            raise DdbS3Error(f"EMR Serverless application {app_id} is {app['state']}: it cannot run jobs")

    def poll(self, plan: ExportPlan, handle: Handle) -> Status:
        """GetJobRun; while it runs, the line carries the job's counters from the driver's stdout."""
        (run_id,) = handle.runs
        job = self.make_hook(plan).get_job_run(handle.resource, run_id)
        state = job["state"]
        counters = ""
        if plan.serverless.log_uri and state == "RUNNING":
            uri = driver_log_key(plan.serverless.log_uri, handle.resource, run_id, "stdout.gz")
            counters = self.counters_in_log(self.make_hook(plan).logs, uri)
        return Status(state in DONE_STATES, f"job run {run_id} {state}{counters}", job)

    def diagnose(self, plan: ExportPlan, handle: Handle, status: Status) -> str | None:
        """None on SUCCESS; else one line: the run, its state and stateDetails, and a probable cause
        from the driver's stderr (its tail shown as progress lines)."""
        job = status.detail
        state = job["state"]
        if state == "SUCCESS":
            return None
        app_id, run_id = handle.resource, job["jobRunId"]
        parts = [f"job run {run_id} on {app_id} {state}"]
        if job.get("stateDetails"):
            parts.append(str(job["stateDetails"]))
        log_uri = plan.serverless.log_uri
        if not log_uri:
            parts.append("no --log-uri, so the driver's stderr was not kept")
            return parts[0] + ": " + "; ".join(parts[1:])
        uri = driver_log_key(log_uri, app_id, run_id)
        logs = self.make_hook(plan).logs
        text = self.wait_for_log(lambda: logs.read(uri) if logs.exists(uri) else None, f"the driver's stderr at {uri}")
        if text is None:
            parts.append(f"driver stderr not found at {uri}")
        else:
            parts.append(cause_from_stderr(text.rstrip("\n").splitlines(), f"stderr: {uri}", self.progress))
        return parts[0] + ": " + "; ".join(parts[1:])

    def result(self, plan: ExportPlan, handle: Handle, status: Status, seconds: float) -> RunResult:
        (run_id,) = handle.runs
        log_uri = plan.serverless.log_uri
        logs = [driver_log_key(log_uri, handle.resource, run_id, "")] if log_uri else []
        return RunResult(plan.export_uri, {}, seconds, cluster_id=f"{handle.resource}/{run_id}", logs=logs)

    def release(self, plan: ExportPlan, handle: Handle, why: str) -> None:
        hook = self.make_hook(plan)
        for run_id in handle.runs:
            self._cancel(hook, handle.resource, run_id, why)
        if handle.created:
            self._delete_application(hook, handle.resource, why)

    # --- teardown -------------------------------------------------------------------------------

    def _cancel(self, hook: EmrServerlessHook, app_id: str, run_id: str, why: str) -> None:
        try:
            state = hook.get_job_run(app_id, run_id)["state"]
            if state in DONE_STATES:
                return
            hook.cancel_job_run(app_id, run_id)
            self.progress(f"cancelling job run {run_id} ({why})")
            state = self.settle(lambda: hook.get_job_run(app_id, run_id)["state"], lambda st: st in DONE_STATES, f"cancel of {run_id}")
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
                self.settle(lambda: hook.get_application(app_id)["state"], lambda st: st in DELETABLE_APP_STATES, f"stop of {app_id}")
            hook.delete_application(app_id)
        except Exception as e:  # noqa: BLE001 - report, and keep the original error
            self.progress(f"could not delete EMR Serverless application {app_id}: {e}; stop and delete it yourself")
            return
        self.progress(f"deleted EMR Serverless application {app_id} ({why})")

    def _delete_launched(self, hook: EmrServerlessHook, name: str, why: str) -> None:
        for app in hook.applications_named(name):
            self.progress(f"deleting EMR Serverless application {app['id']} ({why}; created while interrupted)")
            self._delete_application(hook, app["id"], why)
