"""Pure builders of what the EMR Serverless runner sends: the CreateApplication request and the
StartJobRun request, the latter made from the same rendered step that EMR runs with command-runner.jar
(the step's spark-submit arguments become `sparkSubmit`'s entry point and parameters), so the job,
its zip, its jars and its settings are one rendering for both. No AWS calls here (aws/emr_serverless_hook.py)."""

from __future__ import annotations

from typing import Any

from launcher.core.emr import EXPORT_ID_TAG, MANAGED_TAG, TABLE_TAG
from launcher.core.quoting import submit_parameters
from launcher.export.estimate import SERVERLESS_WORKER_MEMORY_GB, SERVERLESS_WORKER_VCPUS
from launcher.export.plan import ExportPlan
from launcher.export.render.base import Rendered, Target

AUTO_STOP_MINUTES = 15  # an application we create stops itself when idle, should our teardown never run
# spark-submit options that have no meaning on EMR Serverless: it runs the driver itself, and names
# the run from StartJobRun's `name`.
DROPPED_OPTIONS = ("--deploy-mode", "--name", "--master")
UNKNOWN_ACCOUNT = "<account>"


def tags(plan: ExportPlan) -> dict[str, str]:
    return {MANAGED_TAG: "true", EXPORT_ID_TAG: plan.export_id, TABLE_TAG: plan.table.name}


def name(plan: ExportPlan) -> str:
    """The job run's name (StartJobRun: 1-256 characters, some not blank)."""
    return f"ddb-s3 export {plan.table.name} {plan.export_id}"[:256]


def application_name(plan: ExportPlan) -> str:
    """The application's name (CreateApplication: [A-Za-z0-9._/#-]+, 1-64 characters, botocore's
    model): the export id whole, which makes it unique, and as much of the table name as fits
    (a table name's characters are all allowed)."""
    head = f"ddb-s3-{plan.table.name}"[: 64 - len(plan.export_id) - 1]
    return f"{head}-{plan.export_id}"


def role_arn(role: str, account: str, partition: str = "aws") -> str:
    """The job runtime role's ARN: as given (a role under a path, like the console's /service-role/
    ones, must be given so), or made from a role name and the account at the path "/" (`ddb-s3
    doctor` says when the role lives elsewhere)."""
    return role if role.startswith("arn:") else f"arn:{partition}:iam::{account}:role/{role}"


def create_application_request(plan: ExportPlan) -> dict[str, Any]:
    """A Spark application of the plan's release, for this run only: tagged as ours, started by the
    job run (autoStart), stopping itself when idle, and capped at the plan's workers and driver."""
    workers = plan.serverless.workers + 1  # the executors and the driver
    return {
        "name": application_name(plan),
        "releaseLabel": plan.serverless.release_label,
        "type": "SPARK",
        "clientToken": plan.export_id,
        "tags": tags(plan),
        "autoStartConfiguration": {"enabled": True},
        "autoStopConfiguration": {"enabled": True, "idleTimeoutMinutes": AUTO_STOP_MINUTES},
        "maximumCapacity": {
            "cpu": f"{workers * SERVERLESS_WORKER_VCPUS} vCPU",
            "memory": f"{workers * SERVERLESS_WORKER_MEMORY_GB} GB",
        },
    }


def split_spark_submit(args: list[str]) -> tuple[list[str], str, list[str]]:
    """A rendered step's `spark-submit <options> <app> <app args>` as (options, app, app args).
    Every option our render writes takes a value."""
    if not args or args[0] != "spark-submit":
        raise ValueError(f"not a spark-submit step: {args[:1]}")
    options: list[str] = []
    i = 1
    while i < len(args) and args[i].startswith("--"):
        if args[i] not in DROPPED_OPTIONS:
            options += args[i : i + 2]
        i += 2
    if i >= len(args):
        raise ValueError("spark-submit step without an application")
    return options, args[i], args[i + 1 :]


def worker_confs(plan: ExportPlan) -> list[str]:
    """The plan's parallelism as fixed executors: dynamic allocation off, so the read budget the plan
    split over its tasks is what runs."""
    memory = f"{SERVERLESS_WORKER_MEMORY_GB - 2}g"  # EMR Serverless adds the overhead up to the worker's size
    confs = {
        "spark.dynamicAllocation.enabled": "false",
        "spark.executor.instances": str(plan.serverless.workers),
        "spark.executor.cores": str(SERVERLESS_WORKER_VCPUS),
        "spark.executor.memory": memory,
        "spark.driver.cores": str(SERVERLESS_WORKER_VCPUS),
        "spark.driver.memory": memory,
    }
    out: list[str] = []
    for key, value in confs.items():
        out += ["--conf", f"{key}={value}"]
    return out


def start_job_run_request(plan: ExportPlan, step: dict[str, Any], application_id: str, execution_role_arn: str) -> dict[str, Any]:
    """StartJobRun of the rendered step on `application_id`: clientToken is the export id (a retried
    call cannot start a second run), the timeout is the plan's, the driver's logs go to --log-uri."""
    options, app, app_args = split_spark_submit(list(step["HadoopJarStep"]["Args"]))
    driver: dict[str, Any] = {"entryPoint": app, "sparkSubmitParameters": submit_parameters(options + worker_confs(plan))}
    if app_args:
        driver["entryPointArguments"] = app_args
    request: dict[str, Any] = {
        "applicationId": application_id,
        "clientToken": plan.export_id,
        "executionRoleArn": execution_role_arn,
        "name": name(plan),
        "jobDriver": {"sparkSubmit": driver},
        "tags": tags(plan),
        "executionTimeoutMinutes": plan.serverless.timeout_minutes,
    }
    if plan.serverless.log_uri:
        request["configurationOverrides"] = {"monitoringConfiguration": {"s3MonitoringConfiguration": {"logUri": plan.serverless.log_uri}}}
    return request


def add_requests(plan: ExportPlan, out: Rendered, target: Target) -> None:
    """CreateApplication (an application made for the run) and StartJobRun, on an application and
    with a role account the runner fills in once it knows them."""
    if out.steps:
        spec = plan.serverless
        out.create_application = create_application_request(plan) if spec.created else None
        app = spec.application_id or "<created for the run>"
        out.start_job_run = start_job_run_request(plan, out.steps[0], app, role_arn(spec.execution_role, UNKNOWN_ACCOUNT))
