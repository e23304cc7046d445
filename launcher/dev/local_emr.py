"""A local Amazon EMR: moto's EMR API plus a step executor that does with each cluster what EMR does
with the requests our runner sends, so `--runner emr` runs end to end on this machine.

moto accepts RunJobFlow and AddJobFlowSteps but never runs anything, and it has no API to move a
step. So moto runs in-process here (ThreadedMotoServer, EMR requests only; S3 and the rest stay on
the stack's own servers) and the executor changes the backend's cluster and step objects directly:

    RunJobFlow      STARTING -> BOOTSTRAPPING (each bootstrap action: the script fetched from S3,
                    run with bash in the cluster's node folder) -> RUNNING
    each step       PENDING -> RUNNING -> COMPLETED | FAILED, run as command-runner.jar would:
                    `spark-submit` with the step's own arguments (s3:// scripts, --py-files and
                    --jars fetched from S3; EMR's connector path mapped to the local connector jars;
                    Python 3.9 for the driver and the workers, as on EMR 7), stdout and stderr
                    archived gzipped at <LogUri>/<cluster>/steps/<step>/ as EMR does (while the
                    step runs too: every ARCHIVE_SECONDS here, every ~5 minutes there), and a failed
                    step's FailureDetails pointing at its stderr
                    (any other command-runner.jar command runs as given on the primary node)
    last step done  TERMINATING -> TERMINATED (ALL_STEPS_COMPLETED) unless KeepJobFlowAliveWhenNoSteps
    a step fails    by its ActionOnFailure: TERMINATE_CLUSTER cancels the steps not started and the
                    cluster goes TERMINATING -> TERMINATED_WITH_ERRORS (STEP_FAILURE, "Shut down as
                    step failed"); CANCEL_AND_WAIT cancels the pending steps and the cluster waits
                    (WAITING, or ends as above without KeepJobFlowAliveWhenNoSteps); CONTINUE runs on
    a bootstrap action fails   its steps CANCELLED, TERMINATING -> TERMINATED_WITH_ERRORS
                    (BOOTSTRAP_FAILURE, "On the master instance (i-...), bootstrap action 1 returned
                    a non-zero return code"), the action's output archived under <LogUri>/<cluster>/node/
    AddJobFlowSteps  refused (ValidationException) once the cluster is TERMINATING or has ended
    TerminateJobFlows  TERMINATING (USER_REQUEST) -> TERMINATED, whatever state it came in (a cluster
                    not yet started never starts); kills the running step's process group (the step
                    ends INTERRUPTED)

EMR Serverless job runs are served the same way (moto's emr-serverless API in the same server, the
same executor code): a job run goes SUBMITTED -> SCHEDULED -> RUNNING (its application STARTED, as
autoStart does) -> SUCCESS | FAILED, running `spark-submit` with the run's sparkSubmitParameters and
entry point (artifacts fetched from S3 as for a step) under the job runtime role's credentials; the
driver's stdout and stderr go gzipped to <logUri>/applications/<app>/jobs/<run>/SPARK_DRIVER/ as
EMR Serverless writes them; CancelJobRun and executionTimeoutMinutes kill the run (CANCELLING ->
CANCELLED, stateDetails saying which). A minute of executionTimeoutMinutes lasts
DDB_S3_LOCAL_MINUTE_SECONDS seconds here (60 unless set), so a test can see a timeout.

Glue job runs too (moto's Glue in the same server; moto's state manager holds a run's state still,
the executor moves it): STARTING -> RUNNING -> SUCCEEDED | FAILED (ErrorMessage) | TIMEOUT (the
run's Timeout, in the same minutes) | STOPPED (BatchStopJobRun, which moto lacks and gets here, as
UpdateJob does): `spark-submit` of the job's ScriptLocation with --extra-jars and --extra-py-files
as --jars and --py-files, Python 3.11 (Glue 5's: this process's own), the job role's credentials,
and the run's arguments after the script as Glue passes them; the driver's stderr and stdout go to
CloudWatch Logs (/aws-glue/jobs/error and /output, a stream per run id) on this server.

Bootstrap actions never write into the host: `sudo` is a shim that runs its command unprivileged,
and our scripts honour DDB_S3_NODE_ROOT (their absolute paths land under the node folder) and
DDB_S3_PYTHON (pip installs go into the node's Python 3.9 environment).

    python -m launcher.dev.local_emr --port P --work DIR    # the stack starts it like its other servers
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from launcher.core.procs import die_with_parent
from launcher.core.s3uri import S3Uri
from launcher.dev.connectors import SDK_V2_DIR, connector_jar, emr_spark_defaults, sdk_v2_jar, yarn_container_classpath
from launcher.dev.spark_cluster import StandaloneCluster
from launcher.dev.yarn_cluster import YarnCluster

POLL_S = 0.2
# The conventions this emulator keeps are the services' documented ones, written here from AWS's
# documentation and never imported from the runner it tests (a runner that got one wrong must fail):
# - the connector on EMR nodes (EMR Release Guide, "DynamoDB connector": /usr/share/aws/emr/ddb/lib);
EMR_DDB_CONNECTOR = "/usr/share/aws/emr/ddb/lib/emr-ddb-hadoop.jar"
_EXCEPTION = re.compile(r"[\w$.]*(?:Exception|Error)(?::|$)")


def emr_step_log(log_uri: str, cluster_id: str, step_id: str, name: str) -> str:
    """EMR Management Guide, "View log files archived to Amazon S3": a step's logs are archived gzipped
    under <LogUri>/<cluster-id>/steps/<step-id>/ (controller, syslog, stderr, stdout)."""
    return f"{log_uri.rstrip('/')}/{cluster_id}/steps/{step_id}/{name}.gz"


def emr_container_log(log_uri: str, cluster_id: str, application: str, container: str, name: str) -> str:
    """EMR Management Guide, "View log files archived to Amazon S3": YARN's container logs (a Spark
    application's executors) are archived under <LogUri>/<cluster-id>/containers/<application-id>/
    <container-id>/ (stderr.gz, stdout.gz)."""
    return f"{log_uri.rstrip('/')}/{cluster_id}/containers/{application}/{container}/{name}.gz"


def yarn_ids(cluster_started_ms: int, spark_app: str, executor: str) -> tuple[str, str]:
    """YARN's names (Hadoop's ApplicationId and ContainerId formats) for a standalone application
    app-<time>-<n> and its executor k: application_<cluster start ms>_<n+1, 4 digits> and
    container_<cluster start ms>_<n+1>_01_<k+2, 6 digits> (container 1 is the application master)."""
    seq = int(spark_app.rsplit("-", 1)[-1]) + 1
    return f"application_{cluster_started_ms}_{seq:04d}", f"container_{cluster_started_ms}_{seq:04d}_01_{int(executor) + 2:06d}"


def serverless_driver_log(log_uri: str, application_id: str, job_run_id: str, name: str) -> str:
    """EMR Serverless User Guide, "Storing logs" (Amazon S3 buckets): a job run's driver logs go to
    <logUri>/applications/<application-id>/jobs/<job-run-id>/SPARK_DRIVER/stdout.gz and stderr.gz."""
    return f"{log_uri.rstrip('/')}/applications/{application_id}/jobs/{job_run_id}/SPARK_DRIVER/{name}.gz"


def last_exception(lines: list[str]) -> str:
    """What the services put in a failure's text: EMR's step FailureDetails gives the root cause it
    found in the step's logs (EMR Management Guide, "Troubleshoot a failed step"), EMR Serverless's
    stateDetails and Glue's ErrorMessage "Last few exceptions". Here: the last exception line of the
    log (a stack frame is not one), else its last non-blank line."""
    for line in reversed(lines):
        if _EXCEPTION.search(line) and not line.strip().startswith("at "):
            return line.strip()[:500]
    return next((line.strip()[:500] for line in reversed(lines) if line.strip()), "no output")


ARCHIVE_SECONDS = 3.0  # a running step's logs to LogUri: EMR does it every ~5 minutes; short here for the tests
SHUTDOWN = "SHUTDOWN"  # a node folder's marker: `shutdown` ran on it
# EMR (Spark's own default, which EMR keeps: Release Guide, "Spark" configuration): a task is tried 4 times.
TASK_MAX_FAILURES = "4"
CORE_NODES = 2  # at most this many core nodes get a folder and a Worker: two cores on this machine
JOB_WORKERS = 2  # the Workers an EMR Serverless or Glue job run gets here
START_SECONDS = 120.0  # a cluster's Spark daemons must be up within this
# EMR Management Guide, "Create bootstrap actions to install additional software" (its conditional example).
INSTANCE_INFO = "/mnt/var/lib/info/instance.json"
# Where an executor's working folder is, seen from its node folder: <node>/spark/work/<app id>/<executor id>.
EXECUTOR_NODE_ROOT = Path("../../../..")
EMR_PYTHON_ENV = "DDB_S3_EMR_PYTHON"  # the Python 3.9 that plays EMR 7's python3 (make py39)
# What the EC2 instance profile gives the nodes: credentials of their own (fake, like the stack's), never
# the launcher's, so every call a node makes (bootstrap actions, artifacts, the steps, log archiving)
# signs as the instance role and a recording proxy can tell it from the launcher's (tests/iam).
INSTANCE_PROFILE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "ASIALOCALEMRINSTANCE", "AWS_SECRET_ACCESS_KEY": "local-emr-instance-profile"}
# What an EMR Serverless job run gets from its job runtime role (executionRoleArn), told apart the same way.
JOB_ROLE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "ASIALOCALSERVERLESSJOB", "AWS_SECRET_ACCESS_KEY": "local-emr-serverless-job-role"}
GLUE_ROLE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "ASIALOCALGLUEJOBROLE", "AWS_SECRET_ACCESS_KEY": "local-glue-job-role"}
GLUE_DONE_STATES = ("SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR", "EXPIRED")
APP_CREATING_SECONDS_ENV = "DDB_S3_LOCAL_APP_CREATING_SECONDS"  # how long a new EMR Serverless application is CREATING
MINUTE_SECONDS_ENV = "DDB_S3_LOCAL_MINUTE_SECONDS"  # seconds a minute of executionTimeoutMinutes lasts here
TERMINATING_SECONDS_ENV = "DDB_S3_LOCAL_TERMINATING_SECONDS"  # the least time a cluster shutting itself down is TERMINATING
JOB_DONE_STATES = ("SUCCESS", "FAILED", "CANCELLED")


def core_nodes(cluster: Any) -> int:
    """How many core nodes get a folder: the request's core instance count, at most CORE_NODES."""
    groups = cluster.instance_groups
    return min(CORE_NODES, sum(int(g.num_instances) for g in groups if g.role == "CORE"))


def application_names(cluster: Any) -> list[str]:
    return [str(app.name).lower() for app in cluster.applications if app.name]  # moto lists one nameless entry for none


def has_spark(cluster: Any) -> bool:
    """Whether the cluster gets Spark: RunJobFlow's Applications name it, or name nothing."""
    names = application_names(cluster)
    return not names or "spark" in names


def has_hive(cluster: Any) -> bool:
    """Whether the cluster gets Hive, and the YARN it runs on: RunJobFlow's Applications name it."""
    return "hive" in application_names(cluster)


def instance_id(cluster: Any, index: int) -> str:
    """The EC2 instance id of node `index` (0: the primary node, then the core nodes), as moto lists them."""
    role = "MASTER" if index == 0 else "CORE"
    ids = [i.ec2_instance_id for i in cluster.ec2_instances if i.instance_group.role == role]
    at = 0 if index == 0 else index - 1
    return ids[at] if at < len(ids) else f"i-local{cluster.id[2:].lower()}{index}"


def cancel_pending(cluster: Any) -> None:
    for step in cluster.steps:
        if step.state == "PENDING":
            step.state = "CANCELLED"


STATE_LOCK = threading.Lock()  # a cluster's state: the API's TerminateJobFlows against the executor's threads


def end_steps(cluster: Any) -> None:
    """As EMR when a cluster ends: steps not started are CANCELLED, a running one INTERRUPTED, before
    anyone can see the cluster ended (the executor kills the step's processes right after)."""
    cancel_pending(cluster)
    for step in cluster.steps:
        if step.state == "RUNNING":
            step.state = "INTERRUPTED"


def _now() -> datetime:
    return datetime.now(UTC)


def patch_moto() -> None:
    """Leave the cluster and step lifecycle to the executor: moto moves a new cluster straight to
    WAITING (or TERMINATED), starts its first step and never reports FailureDetails."""
    from moto.emr import models as moto_models
    from moto.emr.exceptions import ValidationException

    models: Any = moto_models  # patched at run time: its classes are not ours to type

    def start_cluster(self: Any) -> None:
        self.state = "STARTING"
        self.start_datetime = _now()

    def add_steps(self: Any, steps: list[dict[str, Any]]) -> list[Any]:
        # EMR API Reference, AddJobFlowSteps: "You can only add steps to a cluster that is in one of the
        # following states: STARTING, BOOTSTRAPPING, RUNNING, or WAITING." Elsewhere EMR answers a
        # ValidationException with this message (RunJobFlow adds its steps while STARTING).
        if getattr(self, "state", None) in ("TERMINATING", "TERMINATED", "TERMINATED_WITH_ERRORS"):  # unset in RunJobFlow
            raise ValidationException("A job flow that is shutting down, terminated, or finished may not be modified.")
        added = [models.Step(state="PENDING", **step) for step in steps]
        self.steps.extend(added)
        return added

    def terminate(self: Any) -> None:
        # EMR API Reference, ClusterStatus: TerminateJobFlows starts a shutdown, TERMINATING while the
        # nodes go, then TERMINATED (reason USER_REQUEST); the executor's watch on the cluster ends the
        # nodes and finishes it (Executor.watch_shutdown). A cluster already shutting down or ended
        # stays as it is.
        with STATE_LOCK:
            if self.state not in ("TERMINATING", "TERMINATED", "TERMINATED_WITH_ERRORS"):
                end_steps(self)
                self.state = "TERMINATING"
                self.last_state_change_reason = getattr(self, "reason_message", None) or "Terminated by user request"
                self.reason_code = getattr(self, "reason_code", None) or "USER_REQUEST"
                self.local_emr_final_state = "TERMINATED"

    step_status = models.Step.status.fget
    cluster_status = models.Cluster.status.fget
    cluster_init = models.Cluster.__init__

    def init_then_ready(self: Any, *args: Any, **kwargs: Any) -> None:
        cluster_init(self, *args, **kwargs)
        self.local_emr_ready = True  # the backend lists a cluster before its steps are added

    def step_status_with_failure(self: Any) -> dict[str, Any]:
        status = step_status(self)
        if getattr(self, "failure_details", None):
            status["FailureDetails"] = self.failure_details
        return status

    def cluster_status_with_code(self: Any) -> dict[str, Any]:
        status = cluster_status(self)
        if getattr(self, "reason_code", None):
            status["StateChangeReason"]["Code"] = self.reason_code
        return status

    patch_moto_serverless()
    patch_moto_glue()
    models.Cluster.__init__ = init_then_ready
    models.Cluster.start_cluster = start_cluster
    models.Cluster.run_bootstrap_actions = lambda self: None
    models.Cluster.add_steps = add_steps
    models.Cluster.terminate = terminate
    models.Step.start = lambda self: None
    models.Step.status = property(step_status_with_failure)
    models.Cluster.status = property(cluster_status_with_code)


def patch_moto_serverless() -> None:
    """EMR Serverless as the service behaves: a new application is CREATING for a while, then CREATED
    (moto: STARTED at once), and StartJobRun is refused while it is CREATING, STOPPING or TERMINATED;
    a job run starts SUBMITTED (moto: SUCCESS at once) and the executor moves it; CancelJobRun asks
    for CANCELLING and the executor ends the run CANCELLED; a run already done cannot be cancelled.

    The application states, from the EMR Serverless User Guide, "Application states": CREATING "the
    application is being prepared and isn't ready to use yet"; CREATED "ready to accept jobs"
    (submitting one starts it); STARTED "ready to accept jobs"; STOPPING; STOPPED (a job submitted
    auto-starts it); TERMINATED."""
    from moto.emrserverless import models as moto_models
    from moto.emrserverless.exceptions import ValidationException

    models: Any = moto_models
    app_init, run_init, start_run = models.Application.__init__, models.JobRun.__init__, models.EMRServerlessBackend.start_job_run
    creating = float(os.environ.get(APP_CREATING_SECONDS_ENV) or 2.0)

    def app_created(self: Any, *args: Any, **kwargs: Any) -> None:
        app_init(self, *args, **kwargs)
        self.state, self.creating_until = "CREATING", time.monotonic() + creating

    def app_state(self: Any) -> str:
        if self._state == "CREATING" and time.monotonic() >= self.creating_until:
            self._state = "CREATED"
        return str(self._state)

    def set_app_state(self: Any, value: str) -> None:
        self._state = value

    def start_job_run(self: Any, application_id: str, *args: Any, **kwargs: Any) -> Any:
        state = self.get_application(application_id).state
        if state in ("CREATING", "STOPPING", "TERMINATED"):
            raise ValidationException(
                f"Application {application_id} is in {state} state. Job runs can be submitted only when the "
                "application is in CREATED, STARTED or STOPPED state."
            )
        return start_run(self, application_id, *args, **kwargs)

    models.Application.state = property(app_state, set_app_state)
    models.EMRServerlessBackend.start_job_run = start_job_run

    def run_submitted(self: Any, *args: Any, **kwargs: Any) -> None:
        run_init(self, *args, **kwargs)
        self.state = "SUBMITTED"
        self.local_emr_ready = True

    def cancel(self: Any, application_id: str, job_run_id: str) -> tuple[str, str]:
        run = self.get_job_run(application_id, job_run_id)
        if run.state in JOB_DONE_STATES:
            raise ValidationException(f"Job run {job_run_id} is {run.state} and cannot be cancelled")
        run.state = "CANCELLING"
        run.cancel_reason = "Job run cancelled by user request (CancelJobRun)"
        return application_id, job_run_id

    models.Application.__init__ = app_created
    models.JobRun.__init__ = run_submitted
    models.EMRServerlessBackend.cancel_job_run = cancel


def patch_moto_glue() -> None:
    """Glue job runs stay where the executor puts them (moto's state manager: a manual transition
    that never fires), report their ErrorMessage, execution time and Glue version; UpdateJob (which
    replaces the whole definition) and BatchStopJobRun, which moto lacks, are added (a stop asks for
    STOPPING; the executor ends it)."""
    from moto.core.responses import ActionResult
    from moto.glue import models as moto_models
    from moto.glue import responses as moto_responses
    from moto.moto_api import state_manager

    models: Any = moto_models
    responses: Any = moto_responses
    state_manager.set_transition(model_name="glue::job_run", transition={"progression": "manual", "times": 2**62})
    run_init, run_dict = models.FakeJobRun.__init__, models.FakeJobRun.as_dict

    def run_ready(self: Any, *args: Any, **kwargs: Any) -> None:
        run_init(self, *args, **kwargs)
        self.local_emr_ready = True

    def run_as_dict(self: Any) -> dict[str, Any]:
        out = run_dict(self)
        out["ExecutionTime"] = getattr(self, "execution_seconds", 0)
        out["LogGroupName"] = "/aws-glue/jobs"
        out["GlueVersion"] = getattr(self, "glue_version", None) or out["GlueVersion"]
        if getattr(self, "error_message", None):
            out["ErrorMessage"] = self.error_message
        return out

    def update_job(self: Any) -> Any:
        """Glue API Reference, UpdateJob: "The previous job definition is completely overwritten by this
        information", and its JobUpdate: "Unspecified configuration is removed or reset to default
        values." So the job becomes what CreateJob makes of the same definition (its defaults for what
        is not given), keeping only what a JobUpdate cannot carry: name, creation time, tags, runs."""
        name = self._get_param("JobName")
        job = self.glue_backend.get_job(name)
        update = self._get_param("JobUpdate") or {}
        fresh = models.FakeJob(
            name=name, tags={}, backend=self.glue_backend, **{attr: update.get(key) for key, attr in GLUE_JOB_FIELDS.items()}
        )
        for attr in GLUE_JOB_FIELDS.values():
            setattr(job, attr, getattr(fresh, attr))
        job.last_modified_on = _now()
        return ActionResult({"JobName": name})

    def batch_stop_job_run(self: Any) -> Any:
        name = self._get_param("JobName")
        job = self.glue_backend.get_job(name)
        done, errors = [], []
        for run_id in self._get_param("JobRunIds") or []:
            run = next((r for r in job.job_runs if r.job_run_id == run_id), None)
            if run is None or run.status in GLUE_DONE_STATES:
                detail = {"ErrorCode": "InvalidInputException", "ErrorMessage": f"Job run {run_id} is not running"}
                errors.append({"JobName": name, "JobRunId": run_id, "ErrorDetail": detail})
                continue
            run.status = "STOPPING"
            done.append({"JobName": name, "JobRunId": run_id})
        return ActionResult({"SuccessfulSubmissions": done, "Errors": errors})

    models.FakeJobRun.__init__ = run_ready
    models.FakeJobRun.as_dict = run_as_dict
    responses.GlueResponse.update_job = update_job
    responses.GlueResponse.batch_stop_job_run = batch_stop_job_run


# The job definition's members (Glue API Reference, JobUpdate) and what moto's job calls them.
GLUE_JOB_FIELDS = {
    "Description": "description",
    "LogUri": "log_uri",
    "Role": "role",
    "ExecutionProperty": "execution_property",
    "Command": "command",
    "DefaultArguments": "default_arguments",
    "NonOverridableArguments": "non_overridable_arguments",
    "Connections": "connections",
    "MaxRetries": "max_retries",
    "AllocatedCapacity": "allocated_capacity",
    "Timeout": "timeout",
    "MaxCapacity": "max_capacity",
    "SecurityConfiguration": "security_configuration",
    "NotificationProperty": "notification_property",
    "GlueVersion": "glue_version",
    "NumberOfWorkers": "number_of_workers",
    "WorkerType": "worker_type",
    "CodeGenConfigurationNodes": "code_gen_configuration_nodes",
    "ExecutionClass": "execution_class",
    "SourceControlDetails": "source_control_details",
}
_SEAM = threading.Lock()


class StepFailed(Exception):
    pass


class BootstrapFailed(Exception):
    """A bootstrap action failed on a node: the message is EMR's StateChangeReason for it."""


class Executor:
    """Runs every cluster moto holds, one thread a cluster."""

    def __init__(self, work: Path, env: dict[str, str]) -> None:
        self.work = work
        self.env = env  # what a step's processes see: endpoints, region, credentials chain, Python
        self.seen: set[str] = set()
        self.node_groups: dict[str, list[int]] = {}  # cluster id -> process groups of its bootstrap actions
        self.spark: dict[str, StandaloneCluster] = {}  # cluster id -> its Spark standalone cluster, while it runs
        self.yarn: dict[str, YarnCluster] = {}  # cluster id -> its YARN (Hive's MapReduce jobs), while it runs
        self.archived_apps: dict[str, set[str]] = {}  # cluster id -> its Spark applications whose executors' logs are archived
        self.stop = threading.Event()
        self.s3 = self.s3_client(INSTANCE_PROFILE_CREDENTIALS)  # the nodes' S3: artifacts, bootstrap scripts, step logs
        self.job_s3 = self.s3_client(JOB_ROLE_CREDENTIALS)  # an EMR Serverless job run's S3
        self.glue_s3 = self.s3_client(GLUE_ROLE_CREDENTIALS)  # a Glue job run's S3
        self.minute_seconds = float(env.get(MINUTE_SECONDS_ENV) or 60)
        self.terminating_seconds = float(env.get(TERMINATING_SECONDS_ENV) or 0)

    def s3_client(self, credentials: dict[str, str]) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.env.get("AWS_ENDPOINT_URL_S3"),
            region_name=self.env.get("AWS_DEFAULT_REGION"),
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            config=Config(retries={"mode": "standard", "max_attempts": 5}),
        )

    def clusters(self) -> Iterator[Any]:
        from moto.emr.models import emr_backends

        for account in list(emr_backends.keys()):
            for region in list(emr_backends[account].keys()):
                yield from list(emr_backends[account][region].clusters.values())

    def job_runs(self) -> Iterator[tuple[Any, Any]]:
        """(application, job run) of every EMR Serverless job run moto holds."""
        from moto.emrserverless.models import emrserverless_backends

        for account in list(emrserverless_backends.keys()):
            for region in list(emrserverless_backends[account].keys()):
                backend = emrserverless_backends[account][region]
                for app_id, runs in list(backend.job_runs.items()):
                    yield from ((backend.applications[app_id], run) for run in list(runs))

    def glue_runs(self) -> Iterator[tuple[Any, Any]]:
        """(job, job run) of every Glue job run moto holds."""
        from moto.glue.models import glue_backends

        for account in list(glue_backends.keys()):
            for region in list(glue_backends[account].keys()):
                for job in list(glue_backends[account][region].jobs.values()):
                    yield from ((job, run) for run in list(job.job_runs))

    def serve(self) -> None:
        while not self.stop.is_set():
            for cluster in self.clusters():
                if cluster.id not in self.seen and getattr(cluster, "local_emr_ready", False):
                    self.seen.add(cluster.id)
                    threading.Thread(target=self.run_cluster, args=(cluster,), daemon=True, name=cluster.id).start()
            for app, run in self.job_runs():
                if run.id not in self.seen and getattr(run, "local_emr_ready", False):
                    self.seen.add(run.id)
                    threading.Thread(target=self.run_job_run, args=(app, run), daemon=True, name=run.id).start()
            for job, run in self.glue_runs():
                if run.job_run_id not in self.seen and getattr(run, "local_emr_ready", False):
                    self.seen.add(run.job_run_id)
                    threading.Thread(target=self.run_glue_job_run, args=(job, run), daemon=True, name=run.job_run_id).start()
            time.sleep(POLL_S)

    # --- a cluster -----------------------------------------------------------------------

    def run_cluster(self, cluster: Any) -> None:
        """A cluster's life. Its nodes are folders under <work>/<cluster id>/: `primary`, and a folder
        per core node (at most CORE_NODES; none for a single-node cluster, whose primary node runs the
        executors, as EMR's does); together they are a Spark standalone cluster (StandaloneCluster),
        started as the cluster starts and stopped when it ends."""
        primary = self.work / cluster.id / "primary"
        cores = [self.work / cluster.id / f"core-{n}" for n in range(1, core_nodes(cluster) + 1)]
        for node in (primary, *cores):
            self.prepare_node(cluster, node, is_master=node == primary)
        # EMR installs the applications the request names (RunJobFlow's Applications): Spark's daemons
        # only where Spark is one of them (or none is named, as this emulator has always done).
        spark = StandaloneCluster(spark_home(), cluster.id, self.work / cluster.id) if has_spark(cluster) else None
        if spark is not None:
            self.spark[cluster.id] = spark
        # Hive runs its MapReduce jobs on YARN: a ResourceManager on the primary node, a NodeManager on
        # each core node. Started here only for clusters that install Hive (EMR runs YARN on every
        # cluster; the Spark steps here run on the standalone cluster, and YARN costs ~3 JVMs).
        yarn = YarnCluster(cluster.id) if has_hive(cluster) else None
        if yarn is not None:
            self.yarn[cluster.id] = yarn
        self.watch_shutdown(cluster, primary)
        if self.ended(cluster):  # terminated before it started: the watch ends it
            return
        try:
            # EMR starts its applications after the bootstrap actions; the Master's JVM starts while
            # they run here (it reads nothing they install), the Workers once it listens.
            if spark is not None:
                spark.start_master(self.node_env(primary))
            if yarn is not None:
                yarn.start_resource_manager(primary, self.node_env(primary))
            self.advance(cluster, "BOOTSTRAPPING")
            for i, node in enumerate((primary, *cores)):  # EMR Management Guide, "Create bootstrap actions": on every node
                for n, action in enumerate(cluster.bootstrap_actions, 1):
                    if self.ended(cluster):
                        return
                    self.bootstrap(cluster, node, i, n, action)
            if spark is not None:
                spark.wait_master(START_SECONDS)
                for node in cores or [primary]:
                    spark.start_worker(node, self.node_env(node))
                spark.wait_workers(START_SECONDS)
            if yarn is not None:
                yarn.wait_resource_manager(START_SECONDS)
                for node in cores or [primary]:
                    yarn.start_node_manager(node, self.node_env(node))
                yarn.wait_nodes(START_SECONDS)
            self.advance(cluster, "RUNNING")
            cluster.ready_datetime = _now()
            while not self.ended(cluster):
                step = next((s for s in cluster.steps if s.state == "PENDING"), None)
                if step is None:
                    if cluster.keep_job_flow_alive_when_no_steps:
                        self.advance(cluster, "WAITING")
                        time.sleep(POLL_S)
                        continue
                    self.shut_down(cluster, "ALL_STEPS_COMPLETED", "Steps completed", final="TERMINATED")
                    return
                self.advance(cluster, "RUNNING")
                ok = self.run_step(cluster, primary, step)
                # EMR API Reference, StepConfig ActionOnFailure: TERMINATE_CLUSTER (TERMINATE_JOB_FLOW,
                # its older name) "Shuts down the cluster"; CANCEL_AND_WAIT "Cancels any pending steps
                # and returns the cluster to the WAITING state"; CONTINUE "Continues to the next step".
                if not ok and step.state == "FAILED" and step.action_on_failure in ("TERMINATE_CLUSTER", "TERMINATE_JOB_FLOW"):
                    self.shut_down(cluster, "STEP_FAILURE", "Shut down as step failed")
                    return
                if not ok and step.state == "FAILED" and step.action_on_failure == "CANCEL_AND_WAIT":
                    cancel_pending(cluster)
        except BootstrapFailed as e:
            self.shut_down(cluster, "BOOTSTRAP_FAILURE", str(e))
        except Exception as e:  # noqa: BLE001 - the executor itself broke: say so on the cluster
            self.end(cluster, "TERMINATED_WITH_ERRORS", "INTERNAL_ERROR", f"local EMR: {type(e).__name__}: {e}")
        finally:
            self.stop_applications(cluster)
            self.spark.pop(cluster.id, None)
            self.yarn.pop(cluster.id, None)

    def stop_applications(self, cluster: Any) -> None:
        """The nodes go: their Spark and YARN daemons, with the executors and containers they started."""
        for daemons in (self.spark.get(cluster.id), self.yarn.get(cluster.id)):
            if daemons is not None:
                daemons.stop()

    def prepare_node(self, cluster: Any, node: Path, is_master: bool) -> None:
        """A node folder: `sudo` and `shutdown` shims, the instance's info file and the release's
        connector at EMR's path."""
        (node / "bin").mkdir(parents=True, exist_ok=True)
        sudo = node / "bin" / "sudo"
        sudo.write_text('#!/bin/sh\n# local EMR: no privileges, and the node folder instead of /\nexec "$@"\n')
        # The primary node shutting down ends the cluster (bootstrap/max-runtime.sh relies on it).
        shutdown = node / "bin" / "shutdown"
        shutdown.write_text(f'#!/bin/sh\n# local EMR: this node shuts down\ntouch "{node / SHUTDOWN}"\n')
        for script in (sudo, shutdown):
            script.chmod(0o755)
        # EMR Management Guide, "Create bootstrap actions to install additional software": a bootstrap
        # action tells the primary node by /mnt/var/lib/info/instance.json's "isMaster".
        info = node / INSTANCE_INFO.lstrip("/")
        info.parent.mkdir(parents=True, exist_ok=True)
        info.write_text(json.dumps({"isMaster": is_master, "isRunningResourceManager": is_master}) + "\n")
        # EMR Release Guide, emr-ddb: the release's connector on every node; and the SDK v2 bundle an
        # EMR 7 node has on Spark's class path (launcher/dev/connectors.py says where each comes from).
        with _SEAM:  # the seam makes its jars once, in a shared folder: one cluster thread at a time
            connector, sdk = connector_jar(cluster.release_label or ""), sdk_v2_jar()
        for source, at in ((connector, EMR_DDB_CONNECTOR), (sdk, f"{SDK_V2_DIR}/{sdk.name}")):
            jar = node / at.lstrip("/")
            jar.parent.mkdir(parents=True, exist_ok=True)
            if not jar.exists():
                try:
                    os.link(source, jar)
                except OSError:
                    shutil.copyfile(source, jar)

    def watch_shutdown(self, cluster: Any, node: Path) -> None:
        """A thread that ends the cluster when its primary node shuts down, as EMR does, and then
        stops what the node left running in the background (the bootstrap actions' processes)."""

        def watch() -> None:
            while not self.ended(cluster):
                if (node / SHUTDOWN).exists():
                    self.end(cluster, "TERMINATED_WITH_ERRORS", "INSTANCE_FAILURE", "The master node was shut down")
                    break
                time.sleep(POLL_S)
            for pgid in self.node_groups.pop(cluster.id, []):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pgid, signal.SIGKILL)
            self.stop_applications(cluster)
            final = getattr(cluster, "local_emr_final_state", None)
            if final and cluster.state == "TERMINATING":  # TerminateJobFlows: the nodes are gone, the cluster ends
                until = time.monotonic() + self.terminating_seconds
                while time.monotonic() < until and not self.stop.is_set():
                    time.sleep(POLL_S)
                cluster.end_datetime = _now()
                cluster.state = final

        threading.Thread(target=watch, daemon=True, name=f"{cluster.id}-shutdown").start()

    @staticmethod
    def ended(cluster: Any) -> bool:
        return cluster.state in ("TERMINATING", "TERMINATED", "TERMINATED_WITH_ERRORS")

    def advance(self, cluster: Any, state: str) -> None:
        """A live cluster's next state; one shutting down or ended (TerminateJobFlows may come at any
        moment, even before the executor picked the cluster up) is never brought back."""
        with STATE_LOCK:
            if not self.ended(cluster):
                cluster.state = state

    def end(self, cluster: Any, state: str, code: str, message: str) -> None:
        if not self.ended(cluster):
            end_steps(cluster)
            cluster.reason_code, cluster.reason_message = code, message
            cluster.last_state_change_reason = message
            cluster.state = state
            cluster.end_datetime = _now()

    def shut_down(self, cluster: Any, code: str, message: str, final: str = "TERMINATED_WITH_ERRORS") -> None:
        """The cluster shuts itself down, as EMR does after its last step (ALL_STEPS_COMPLETED, ending
        TERMINATED), a step failed with TERMINATE_CLUSTER or a bootstrap action failed (ending
        TERMINATED_WITH_ERRORS): TERMINATING with the reason (steps not started CANCELLED) while its
        nodes go, then `final` with the same reason. TERMINATING lasts at least
        DDB_S3_LOCAL_TERMINATING_SECONDS (0 unless set; minutes on EMR)."""
        with STATE_LOCK:
            if self.ended(cluster):
                return
            end_steps(cluster)
            cluster.reason_code, cluster.reason_message = code, message
            cluster.last_state_change_reason = message
            cluster.state = "TERMINATING"
        until = time.monotonic() + self.terminating_seconds
        self.stop_applications(cluster)
        for pgid in self.node_groups.get(cluster.id, []):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
        while time.monotonic() < until and not self.stop.is_set():
            time.sleep(POLL_S)
        cluster.end_datetime = _now()
        cluster.state = final

    def node_env(self, node: Path, credentials: dict[str, str] = INSTANCE_PROFILE_CREDENTIALS) -> dict[str, str]:
        env = dict(self.env, DDB_S3_NODE_ROOT=str(node), HOME=str(node), **credentials)
        env.pop("PYTHONPATH", None)  # a node has none of this checkout: the job gets what spark-submit ships
        env["SPARK_LOCAL_IP"] = "127.0.0.1"  # every node of a local cluster is this machine's loopback
        env["PATH"] = f"{node / 'bin'}{os.pathsep}{env.get('PATH', os.defpath)}"
        python = env.get(EMR_PYTHON_ENV)
        if python:
            env["DDB_S3_PYTHON"] = env["PYSPARK_PYTHON"] = env["PYSPARK_DRIVER_PYTHON"] = python
        env["SPARK_HOME"] = spark_home()  # spark-submit would look for it with the node's Python
        return env

    def fetch(self, uri: str, folder: Path, s3: Any = None) -> Path:
        loc = S3Uri.parse(uri, "artifact")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / loc.key.rsplit("/", 1)[-1]
        (s3 or self.s3).download_file(loc.bucket, loc.key, str(path))
        return path

    def bootstrap(self, cluster: Any, node: Path, index: int, n: int, action: Any) -> None:
        """Bootstrap action `n` on the node `index` (0: the primary node), its output archived as EMR
        does; a failure is a BootstrapFailed with the StateChangeReason EMR gives for it."""
        instance = instance_id(cluster, index)
        where = f"On the master instance ({instance})" if index == 0 else f"On 1 slave instance (including {instance})"
        folder = node / "bootstrap" / str(n)
        try:
            script = self.fetch(action.script_path, folder)
        except Exception as e:  # any reason the script cannot be had: a missing object, a denied GetObject
            who = "Master instance" if index == 0 else "Slave instance"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "stderr").write_text(f"local EMR: {type(e).__name__}: {e}\n")
            raise BootstrapFailed(f"{who} ({instance}) failed attempting to download bootstrap action {n} file from S3") from e
        with open(folder / "stdout", "wb") as out, open(folder / "stderr", "wb") as err:
            # Its own process group, ended with the cluster: a bootstrap action may leave processes behind.
            proc = subprocess.Popen(
                ["bash", str(script), *action.args],
                cwd=node,
                env=self.node_env(node),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                preexec_fn=die_with_parent,  # noqa: PLW1509 - only prctl(PR_SET_PDEATHSIG)
            )
            self.node_groups.setdefault(cluster.id, []).append(proc.pid)
            proc.wait(timeout=600)
        self.archive_bootstrap(cluster, instance, n, folder)
        if proc.returncode != 0:
            # The reason EMR gives (the ClusterStatus StateChangeReason of a cluster whose bootstrap
            # action failed, as EMR users report it): the node, the action's number, no more. What the
            # script said is in its stderr, archived with the node's logs.
            raise BootstrapFailed(f"{where}, bootstrap action {n} returned a non-zero return code")

    def archive_bootstrap(self, cluster: Any, instance: str, n: int, folder: Path) -> None:
        """EMR Management Guide, "View log files": a node's bootstrap action logs are archived under
        <LogUri>/<cluster-id>/node/<instance-id>/bootstrap-actions/<n>/ (stdout.gz, stderr.gz)."""
        if not cluster.log_uri:
            return
        for name in ("stdout", "stderr"):
            uri = f"{cluster.log_uri.rstrip('/')}/{cluster.id}/node/{instance}/bootstrap-actions/{n}/{name}.gz"
            loc = S3Uri.parse(uri, "log")
            data = (folder / name).read_bytes() if (folder / name).exists() else b""
            self.s3.put_object(Bucket=loc.bucket, Key=loc.key, Body=gzip.compress(data))

    # --- a step ------------------------------------------------------------------------------

    def run_step(self, cluster: Any, node: Path, step: Any) -> bool:
        step.state = "RUNNING"
        step.start_date_time = _now()
        folder = node / "steps" / step.id
        folder.mkdir(parents=True, exist_ok=True)
        stdout, stderr = folder / "stdout", folder / "stderr"
        try:
            cmd = self.command(cluster, step, node, folder)
        except StepFailed as e:
            stderr.write_text(str(e) + "\n")
            stdout.write_text("")
            return self.finish(cluster, step, folder, 1)
        try:
            code = self.run_process(
                cmd, folder, self.node_env(node), stopped=lambda: self.ended(cluster), archive=lambda: self.archive(cluster, step, folder)
            )
        except FileNotFoundError as e:  # the command is not on the node: as a shell says it, exit 127
            stderr.write_text(f"{cmd[0]}: command not found ({e})\n")
            return self.finish(cluster, step, folder, 127)
        if code is None:  # TerminateJobFlows mid-step: the step died with the cluster
            step.state = "INTERRUPTED"
            step.end_date_time = _now()
            self.archive(cluster, step, folder)
            self.archive_containers(cluster)
            return False
        self.archive_containers(cluster)  # YARN aggregates a container's logs once its application ends
        return self.finish(cluster, step, folder, code)

    def run_process(
        self, cmd: list[str], folder: Path, env: dict[str, str], stopped: Callable[[], bool], archive: Callable[[], object]
    ) -> int | None:
        """Run a step's or a job run's command in `folder` (stdout and stderr files there), archiving
        its logs every ARCHIVE_SECONDS; kill its process group and return None once `stopped()`."""
        with open(folder / "stdout", "wb") as out, open(folder / "stderr", "wb") as err:
            proc = subprocess.Popen(
                cmd,
                cwd=folder,
                env=env,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=die_with_parent,  # noqa: PLW1509 - only prctl(PR_SET_PDEATHSIG): the step dies with us
            )
            archived = time.monotonic()
            while proc.poll() is None:
                if time.monotonic() - archived >= ARCHIVE_SECONDS:  # as EMR does every ~5 minutes
                    archive()
                    archived = time.monotonic()
                if stopped():
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    return None
                time.sleep(POLL_S)
        return proc.returncode

    def finish(self, cluster: Any, step: Any, folder: Path, code: int) -> bool:
        stderr_uri = self.archive(cluster, step, folder)
        step.end_date_time = _now()
        if step.state == "INTERRUPTED":  # the cluster ended as the step did: it stays interrupted
            return False
        if code == 0:
            step.state = "COMPLETED"
            return True
        lines = (folder / "stderr").read_text(errors="replace").splitlines()
        details = {"Reason": "Unknown Error", "Message": last_exception(lines)}
        if stderr_uri:
            details["LogFile"] = stderr_uri
        step.failure_details = details
        step.state = "FAILED"
        return False

    def archive(self, cluster: Any, step: Any, folder: Path) -> str | None:
        """stdout.gz and stderr.gz under <LogUri>/<cluster>/steps/<step>/, as EMR archives them."""
        if not cluster.log_uri:
            return None
        for name in ("stdout", "stderr"):
            loc = S3Uri.parse(emr_step_log(cluster.log_uri, cluster.id, step.id, name), "log")
            data = (folder / name).read_bytes() if (folder / name).exists() else b""
            self.s3.put_object(Bucket=loc.bucket, Key=loc.key, Body=gzip.compress(data))
        return emr_step_log(cluster.log_uri, cluster.id, step.id, "stderr")

    def archive_containers(self, cluster: Any) -> None:
        """What YARN aggregates under <LogUri>/<cluster>/containers/ once an application ends: the Spark
        executors' logs and the YARN containers' (Hive's jobs); each application once."""
        if cluster.log_uri:
            self.archive_executor_logs(cluster)
            self.archive_yarn_container_logs(cluster)

    def put_log(self, cluster: Any, application: str, container: str, name: str, data: bytes) -> None:
        loc = S3Uri.parse(emr_container_log(cluster.log_uri, cluster.id, application, container, name), "log")
        self.s3.put_object(Bucket=loc.bucket, Key=loc.key, Body=gzip.compress(data))

    def archive_executor_logs(self, cluster: Any) -> None:
        """Each Spark executor's stderr and stdout (a Worker's work/<app>/<executor>/), named as YARN
        would name its container."""
        started_ms = int(cluster.creation_datetime.replace(tzinfo=UTC).timestamp() * 1000)
        done = self.archived_apps.setdefault(cluster.id, set())
        for app in sorted((self.work / cluster.id).glob("*/spark/work/app-*")):
            if app.name in done:
                continue
            for executor in sorted(p for p in app.iterdir() if p.is_dir() and p.name.isdigit()):
                application, container = yarn_ids(started_ms, app.name, executor.name)
                for name in ("stderr", "stdout"):
                    self.put_log(
                        cluster, application, container, name, (executor / name).read_bytes() if (executor / name).exists() else b""
                    )
            done.add(app.name)

    def archive_yarn_container_logs(self, cluster: Any) -> None:
        """Each YARN container's stderr, stdout and syslog (a NodeManager's yarn/logs/<application>/
        <container>/), under the names YARN gave them."""
        done = self.archived_apps.setdefault(cluster.id, set())
        for app in sorted((self.work / cluster.id).glob("*/yarn/logs/application_*")):
            key = str(app.relative_to(self.work / cluster.id))  # <node>/yarn/logs/<application>: a node's part of it
            if key in done:
                continue
            for container in sorted(p for p in app.iterdir() if p.is_dir()):
                for log in sorted(p for p in container.iterdir() if p.name in ("stderr", "stdout", "syslog")):
                    self.put_log(cluster, app.name, container.name, log.name, log.read_bytes())
            done.add(key)

    def command(self, cluster: Any, step: Any, node: Path, folder: Path) -> list[str]:
        """What command-runner.jar would run, with EMR's paths and s3:// artifacts made local."""
        args = list(step.args)
        if step.jar != "command-runner.jar" or not args:
            raise StepFailed(f"local EMR runs command-runner.jar steps only, not {step.jar!r}")
        if args[0] == "spark-submit":
            return self.emr_spark_submit(cluster, args[1:], node, folder)
        if args[0] == "hive-script":
            return self.hive_script(cluster, args, node, folder)
        # EMR Management Guide, "Run commands and scripts on an Amazon EMR cluster": command-runner.jar
        # runs any command on the primary node (e.g. `bash -c "..."`), with the node's PATH.
        return args

    def hive_script(self, cluster: Any, args: list[str], node: Path, folder: Path) -> list[str]:
        """`hive-script --run-hive-script --args -f s3://.../x.hql`: the script fetched, then the Hive
        CLI (launcher/export/run/hive_local.py) as the primary node's Hive, its MapReduce jobs on the
        cluster's YARN."""
        from launcher.export.run.hive_local import HiveSession, hive_local_command

        if cluster.id not in self.yarn:
            raise StepFailed("hive-script: command not found (Hive is not among the cluster's Applications)")
        hive_args = list(args)
        if "-f" in hive_args and hive_args.index("-f") + 1 < len(hive_args):
            at = hive_args.index("-f") + 1
            if hive_args[at].startswith("s3://"):
                hive_args[at] = str(self.fetch(hive_args[at], folder / "artifacts"))
        session = HiveSession(
            self.env.get("AWS_DEFAULT_REGION", "us-east-1"),
            {"dynamodb": self.env.get("AWS_ENDPOINT_URL_DYNAMODB"), "s3": self.env.get("AWS_ENDPOINT_URL_S3")},
        )
        return hive_local_command(hive_args, session, hadoop_conf=node / "etc" / "hadoop")

    def emr_spark_submit(self, cluster: Any, args: list[str], node: Path, folder: Path) -> list[str]:
        """The step's spark-submit on the primary node, against the cluster's Spark standalone Master.

        The driver runs here, in client mode, whatever the step's --deploy-mode: command-runner.jar
        runs spark-submit on the primary node, where `--deploy-mode client` (EMR's default) runs the
        driver, and `--deploy-mode cluster` means YARN cluster mode (EMR Release Guide, "Add a Spark
        step"; Spark's "Running on YARN"), which a standalone Master has no equivalent for (it has
        no Python cluster mode). The release's spark-defaults come as --conf before the step's own
        options, which win as on EMR; an executor's entries are paths on its own node, seen from its
        working folder."""
        spark = self.spark.get(cluster.id)
        if spark is None:
            raise StepFailed("spark-submit: command not found (Spark is not among the cluster's Applications)")
        label = cluster.release_label or ""
        driver_defaults = emr_spark_defaults(label, node)
        executor_defaults = emr_spark_defaults(label, EXECUTOR_NODE_ROOT)
        confs = {**spark.submit_confs(), "spark.task.maxFailures": TASK_MAX_FAILURES}
        for key, value in driver_defaults.items():
            confs[key] = executor_defaults.get(key, value) if key.startswith("spark.executor.") else value
        # YARN gives its containers, the executors, the node's `hadoop classpath`, the connector on it
        # (dev/connectors.py yarn_container_classpath); the standalone Worker's executors get it here.
        yarn = os.pathsep.join(yarn_container_classpath(label, EXECUTOR_NODE_ROOT))
        cp = confs.get("spark.executor.extraClassPath")
        confs["spark.executor.extraClassPath"] = f"{cp}{os.pathsep}{yarn}" if cp else yarn
        assert spark.url is not None
        connector = node / EMR_DDB_CONNECTOR.lstrip("/")
        cmd = self.spark_submit(args, node, folder, master=spark.url, confs=confs, connector=connector, fit=spark.fit_confs())
        return [*cmd[:1], "--deploy-mode", "client", *cmd[1:]]

    def spark_submit(
        self,
        args: list[str],
        node: Path,
        folder: Path,
        s3: Any = None,
        *,
        master: str,
        confs: dict[str, str],
        connector: Path | None = None,
        fit: dict[str, str] | None = None,
    ) -> list[str]:
        """spark-submit to `master` with `confs`, then the step's own arguments, its s3:// artifacts
        fetched into `folder`, EMR's connector path mapped to `connector` (else to the local connector
        build)."""
        from launcher.export.run.jars import connector_classpath
        from launcher.export.run.local import spark_submit_path

        out: list[str] = []
        i = 0
        while i < len(args):
            arg = args[i]
            if arg == "--deploy-mode":  # YARN's cluster mode has no local meaning: the driver runs here
                i += 2
                continue
            if fit and arg in _SIZING_FLAGS:  # a flag would win over `fit`'s --conf: the Workers' sizes win
                i += 2
                continue
            if arg in ("--jars", "--py-files", "--files") and i + 1 < len(args):
                local: list[str] = []
                for item in args[i + 1].split(","):
                    if item == EMR_DDB_CONNECTOR and connector is not None:  # the node's copy: spark-submit ships it
                        local.append(str(connector))
                    elif item == EMR_DDB_CONNECTOR:  # the release's connector: the local connector build
                        local += [str(p) for p in connector_classpath() if not p.name.startswith("ddb-s3-spark-helpers")]
                    elif item.startswith("s3://"):
                        local.append(str(self.fetch(item, folder / "artifacts", s3)))
                    elif item.startswith("/") and not Path(item).exists() and (node / item.lstrip("/")).exists():
                        local.append(str(node / item.lstrip("/")))  # installed by a bootstrap action
                    else:
                        local.append(item)
                out += [arg, ",".join(local)]
                i += 2
                continue
            if not arg.startswith("--") and (i == 0 or not args[i - 1].startswith("--") or args[i - 1] in _FLAGS):
                # the application and its arguments
                app = str(self.fetch(arg, folder / "artifacts", s3)) if arg.startswith("s3://") else arg
                out += [a for key, value in (fit or {}).items() for a in ("--conf", f"{key}={value}")]  # after theirs: they win
                out += [app, *args[i + 1 :]]
                break
            out.append(arg)
            i += 1
        conf_args = [a for key, value in confs.items() for a in ("--conf", f"{key}={value}")]
        return [spark_submit_path(), "--master", master, "--driver-memory", "1g", *conf_args, *out]

    # --- a job run's own Spark cluster (EMR Serverless, Glue) ---------------------------------

    def job_cluster(self, name: str, folder: Path, env: Callable[[Path], dict[str, str]]) -> StandaloneCluster:
        """The workers a job run gets (EMR Serverless and Glue give each run its own, and run its driver
        apart from them): a Spark standalone cluster whose Master sits in the run's folder and whose
        JOB_WORKERS Workers each have a folder of their own below it (`env(folder)` their environment).
        Started from the run's thread, stopped when the run ends (`self.spark[name]`)."""
        spark = self.spark[name] = StandaloneCluster(spark_home(), name, folder)
        spark.start_master(env(folder))
        spark.wait_master(START_SECONDS)
        for n in range(1, JOB_WORKERS + 1):
            spark.start_worker(folder / f"worker-{n}", env(folder / f"worker-{n}"))
        spark.wait_workers(START_SECONDS)
        return spark

    def end_job_cluster(self, name: str) -> None:
        spark = self.spark.pop(name, None)
        if spark is not None:
            spark.stop()

    @staticmethod
    def job_confs(spark: StandaloneCluster) -> dict[str, str]:
        return {**spark.submit_confs(), "spark.task.maxFailures": TASK_MAX_FAILURES}

    # --- an EMR Serverless job run -----------------------------------------------------------

    def run_job_run(self, app: Any, run: Any) -> None:
        """A job run as EMR Serverless runs it: the application started (autoStart), the driver's
        spark-submit with the run's own parameters, the run's timeout, its logs to the S3 logUri."""
        folder = self.work / "serverless" / app.id / run.id
        (folder / "bin").mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        try:
            if run.state == "CANCELLING":  # cancelled before it was scheduled
                self.end_run(run, "CANCELLED", run.cancel_reason, started)
                return
            if app.state in ("CREATED", "STOPPED", "STOPPING"):
                app.state = "STARTED"
            run.state = "SCHEDULED"
            try:
                driver = run.job_driver["sparkSubmit"]
                args = [*str(driver.get("sparkSubmitParameters", "")).split(), driver["entryPoint"], *driver.get("entryPointArguments", [])]
                spark = self.job_cluster(run.id, folder, lambda node: self.node_env(node, JOB_ROLE_CREDENTIALS))
                cmd = self.spark_submit(
                    args, folder, folder, self.job_s3, master=spark.url or "", confs=self.job_confs(spark), fit=spark.fit_confs()
                )
            except (KeyError, TypeError, StepFailed) as e:
                (folder / "stderr").write_text(f"local EMR Serverless: cannot run this job driver: {e}\n")
                self.archive_run(run, folder)
                self.end_run(run, "FAILED", f"Job failed: {e}", started)
                return
            run.state = "RUNNING"
            timeout = run.execution_timeout_minutes * self.minute_seconds
            code = self.run_process(
                cmd,
                folder,
                self.node_env(folder, JOB_ROLE_CREDENTIALS),
                stopped=lambda: run.state == "CANCELLING" or time.monotonic() - started > timeout,
                archive=lambda: self.archive_run(run, folder),
            )
            self.archive_run(run, folder)
            if code is None:
                reason = getattr(run, "cancel_reason", None) if run.state == "CANCELLING" else None
                reason = reason or f"Job run timed out after {run.execution_timeout_minutes} minutes (executionTimeoutMinutes)"
                self.end_run(run, "CANCELLED", reason, started)
            elif code == 0:
                self.end_run(run, "SUCCESS", "", started)
            else:
                cause = last_exception((folder / "stderr").read_text(errors="replace").splitlines())
                self.end_run(
                    run,
                    "FAILED",
                    f"Job failed, please check complete logs in configured logging destination. ExitCode: {code}. Last few exceptions: {cause}",
                    started,
                )
        except Exception as e:  # noqa: BLE001 - the executor itself broke: say so on the run
            self.end_run(run, "FAILED", f"local EMR Serverless: {type(e).__name__}: {e}", started)
        finally:
            self.end_job_cluster(run.id)

    @staticmethod
    def end_run(run: Any, state: str, details: str, started: float) -> None:
        run.state_details = details or None
        run.total_execution_duration_seconds = int(time.monotonic() - started)
        run.updated_at = _now()
        run.state = state

    def archive_run(self, run: Any, folder: Path) -> None:
        """The driver's stdout.gz and stderr.gz under <logUri>/applications/<app>/jobs/<run>/SPARK_DRIVER/."""
        monitoring = (run.configuration_overrides or {}).get("monitoringConfiguration", {})
        log_uri = monitoring.get("s3MonitoringConfiguration", {}).get("logUri")
        if not log_uri:
            return
        for name in ("stdout", "stderr"):
            loc = S3Uri.parse(serverless_driver_log(log_uri, run.application_id, run.id, name), "log")
            data = (folder / name).read_bytes() if (folder / name).exists() else b""
            self.job_s3.put_object(Bucket=loc.bucket, Key=loc.key, Body=gzip.compress(data))

    # --- a Glue job run ---------------------------------------------------------------------------

    def run_glue_job_run(self, job: Any, run: Any) -> None:
        """A Glue 5 job run: the job's script with its --extra-jars and --extra-py-files, Python 3.11,
        the run's timeout, the driver's output to CloudWatch Logs."""
        folder = self.work / "glue" / run.job_run_id
        (folder / "bin").mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        run.glue_version = job.glue_version
        try:
            if run.status == "STOPPING":
                self.end_glue_run(run, "STOPPED", None, started)
                return
            args = dict(run.arguments or {})
            options: list[str] = []
            if args.get("--extra-jars"):
                options += ["--jars", args["--extra-jars"]]
            if args.get("--extra-py-files"):
                options += ["--py-files", args["--extra-py-files"]]
            script_args = ["--JOB_NAME", job.name, "--JOB_RUN_ID", run.job_run_id]
            for key, value in args.items():
                script_args += [key, str(value)]
            try:
                spark = self.job_cluster(run.job_run_id, folder, self.glue_env)
                cmd = self.spark_submit(
                    [*options, job.command["ScriptLocation"], *script_args],
                    folder,
                    folder,
                    self.glue_s3,
                    master=spark.url or "",
                    confs={**self.job_confs(spark), **glue_classpath()},
                    fit=spark.fit_confs(),
                )
            except (KeyError, TypeError, StepFailed) as e:
                (folder / "stderr").write_text(f"local Glue: cannot run this job: {e}\n")
                (folder / "stdout").write_text("")
                self.glue_logs(run, folder)
                self.end_glue_run(run, "FAILED", f"local Glue: cannot run this job: {e}", started)
                return
            run.status = "RUNNING"
            timeout = (run.timeout or job.timeout or 2880) * self.minute_seconds
            code = self.run_process(
                cmd,
                folder,
                self.glue_env(folder),
                stopped=lambda: run.status == "STOPPING" or time.monotonic() - started > timeout,
                archive=lambda: None,
            )
            self.glue_logs(run, folder)
            if code is None and run.status == "STOPPING":
                self.end_glue_run(run, "STOPPED", None, started)
            elif code is None:
                self.end_glue_run(run, "TIMEOUT", f"Job run timed out after {run.timeout or job.timeout} minutes (Timeout)", started)
            elif code == 0:
                self.end_glue_run(run, "SUCCEEDED", None, started)
            else:
                cause = last_exception((folder / "stderr").read_text(errors="replace").splitlines())
                self.end_glue_run(run, "FAILED", cause, started)
        except Exception as e:  # noqa: BLE001 - the executor itself broke: say so on the run
            self.end_glue_run(run, "ERROR", f"local Glue: {type(e).__name__}: {e}", started)
        finally:
            self.end_job_cluster(run.job_run_id)

    def glue_env(self, node: Path) -> dict[str, str]:
        env = self.node_env(node, GLUE_ROLE_CREDENTIALS)
        env["PYSPARK_PYTHON"] = env["PYSPARK_DRIVER_PYTHON"] = env["DDB_S3_PYTHON"] = sys.executable  # Glue 5: Python 3.11
        return env

    @staticmethod
    def end_glue_run(run: Any, state: str, message: str | None, started: float) -> None:
        run.error_message = message
        run.execution_seconds = int(time.monotonic() - started)
        run.completed_on = run.modified_on = _now()
        run.status = state

    def glue_logs(self, run: Any, folder: Path) -> None:
        """The driver's stderr and stdout as CloudWatch Logs events, a stream per run, as Glue writes them."""
        logs = boto3.client(
            "logs",
            endpoint_url=self.env.get("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"),
            region_name=self.env.get("AWS_DEFAULT_REGION"),
            aws_access_key_id=GLUE_ROLE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=GLUE_ROLE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        for name, group in (("stderr", "/aws-glue/jobs/error"), ("stdout", "/aws-glue/jobs/output")):
            with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
                logs.create_log_group(logGroupName=group)
            with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
                logs.create_log_stream(logGroupName=group, logStreamName=run.job_run_id)
            lines = (folder / name).read_text(errors="replace").splitlines() if (folder / name).exists() else []
            now = int(time.time() * 1000)
            events = [{"timestamp": now, "message": line or " "} for line in lines[-5000:]]
            for at in range(0, len(events), 1000):
                logs.put_log_events(logGroupName=group, logStreamName=run.job_run_id, logEvents=events[at : at + 1000])


_FLAGS = {"--verbose", "--supervise"}  # spark-submit options that take no value
_SIZING_FLAGS = {"--executor-cores", "--executor-memory", "--driver-memory"}


def glue_classpath() -> dict[str, str]:
    """The jars Glue 5 itself puts on its driver's and workers' class path that our job relies on: the
    AWS SDK for Java 2.x (AWS Glue Developer Guide, "AWS Glue versions": Glue 5.0's components list
    it), here the SDK v2 classes of the local connector build (dev/connectors.py sdk_v2_jar). Jars
    given with --extra-jars come on top of these (--user-jars-first: ahead of them)."""
    with _SEAM:
        sdk = str(sdk_v2_jar())
    return {"spark.driver.extraClassPath": sdk, "spark.executor.extraClassPath": sdk}


def spark_home() -> str:
    import pyspark

    return str(Path(pyspark.__file__).resolve().parent)


def serve(port: int, work: Path, host: str = "127.0.0.1") -> None:
    from moto.server import ThreadedMotoServer

    patch_moto()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    executor = Executor(work, dict(os.environ))
    signal.signal(signal.SIGTERM, lambda *_: executor.stop.set())
    print(f"local EMR on http://{host}:{port}, nodes in {work}", flush=True)
    try:
        executor.serve()
    except KeyboardInterrupt:
        pass
    finally:
        clusters: list[StandaloneCluster | YarnCluster] = [*executor.spark.values(), *executor.yarn.values()]
        for daemons in clusters:  # no cluster's JVMs outlive the server
            daemons.stop()
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m launcher.dev.local_emr", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--work", type=Path, required=True, help="folder for the clusters' node folders")
    ns = parser.parse_args(argv)
    ns.work.mkdir(parents=True, exist_ok=True)
    serve(ns.port, ns.work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
