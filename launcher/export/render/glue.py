"""Pure builders of what the Glue runner sends: the job definition (CreateJob; for `--glue-job`,
UpdateJob's JobUpdate: the user's job from GetJob with ours on top, and the restore after the run)
and StartJobRun, made from the same rendered spark-submit step that EMR runs: its script becomes the
job's ScriptLocation, its --py-files `--extra-py-files`, its --jars `--extra-jars`. No AWS calls here
(aws/glue_job_hook.py).

The connector (issue 23): Glue 5 has a DynamoDB source of its own (`connection_type="dynamodb"`,
a DynamicFrame through GlueContext), but we run our DynamoDBInputFormat path instead: the same
script and item codec on every runner (DynamoDB JSON from our JVM converter, no DynamicFrame type
mapping of sets, binary or numbers), the same read-budget split as on EMR
(dev.ddbs3.BudgetedDynamoDBInputFormat), no awsglue import (so it runs and is tested on local Spark).

Glue's "Job parameters" page: `--extra-jars` are "additional Java .jar files that AWS Glue adds to
the Java classpath before executing your script", and `--user-jars-first true` "prioritizes the
customer's extra JAR files in the classpath". So every class in an extra jar wins over Glue's copy.
That is wanted for the connector's own classes (org.apache.hadoop.dynamodb.*, whatever copy Glue's
DynamoDB source carries) and for ours (dev.ddbs3.*), and for nothing else: Central's 5.0.0 jar is a
fat jar (jackson-databind 2.6, commons-lang3 3.7, netty, httpclient, SDK v2 2.18.40, gson 2.8.9),
which ahead of Glue's jars is what breaks Spark's own start locally (NoSuchFieldError: JAVA_11). So
we upload `emr-dynamodb-hadoop-5.0.0-classes.jar` (spark/jvm/pom.xml: the connector's classes
alone) and the helper jar; SDK v2 (dynamodb, apache-client), gson and the rest come from Glue's own
class path. That Glue 5 has SDK v2's DynamoDB client on it is not stated on a page we could read:
docs/connector-versions.md names the job line that shows it. Both jars share the one class path, so
the connector finds our credentials provider (plan.py CUSTOM_PROVIDER_RUNNERS)."""

from __future__ import annotations

from typing import Any

from launcher.core.emr import EXPORT_ID_TAG, MANAGED_TAG, TABLE_TAG
from launcher.core.versions import LOCAL_CONNECTOR
from launcher.export.plan import ExportPlan
from launcher.export.render.base import HELPERS_JAR, Rendered, Target
from launcher.export.render.serverless import split_spark_submit

GLUE_VERSION = "5.0"  # Spark 3.5, Python 3.11
# The connector's classes alone (no bundled libraries), uploaded with the artifacts (spark/jvm/pom.xml).
CONNECTOR_JARS = (f"emr-dynamodb-hadoop-{LOCAL_CONNECTOR}-classes.jar",)
DONE_STATES = ("SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR", "EXPIRED")
ERROR_LOG_GROUP = "/aws-glue/jobs/error"  # the driver's stderr, a stream per job run id
OUTPUT_LOG_GROUP = "/aws-glue/jobs/output"  # its stdout


def target(artifacts_root: str) -> Target:
    """Where the Glue job's step runs: the artifacts on S3, the connector jars uploaded with them."""
    root = artifacts_root.rstrip("/")
    return Target(root, [f"{root}/{jar}" for jar in CONNECTOR_JARS] + [f"{root}/{HELPERS_JAR}"], cloud=True)


def tags(plan: ExportPlan) -> dict[str, str]:
    return {MANAGED_TAG: "true", EXPORT_ID_TAG: plan.export_id, TABLE_TAG: plan.table.name}


def job_definition(plan: ExportPlan, step: dict[str, Any]) -> dict[str, Any]:
    """The job's settings: CreateJob without Name and Tags; for --glue-job, the RUN_MEMBERS of it go on
    top of the user's job (job_update)."""
    options, script, _ = split_spark_submit(list(step["HadoopJarStep"]["Args"]))
    values = dict(zip(options[::2], options[1::2], strict=True))
    arguments = {
        "--job-language": "python",
        "--job-bookmark-option": "job-bookmark-disable",  # every run exports the whole table
        "--extra-py-files": values["--py-files"],
        "--user-jars-first": "true",  # our jars hold only the connector's and our classes (see above)
    }
    if values.get("--jars"):
        arguments["--extra-jars"] = values["--jars"]
    spec = plan.glue
    return {
        "Description": f"ddb-s3 export of {plan.table.name} ({plan.export_id})"[:2048],
        "Role": spec.role,
        "Command": {"Name": "glueetl", "ScriptLocation": script, "PythonVersion": "3"},
        "DefaultArguments": arguments,
        "ExecutionProperty": {"MaxConcurrentRuns": 1},
        "MaxRetries": 0,  # a failed export is reported, not run again on its own
        "Timeout": spec.timeout_minutes,
        "GlueVersion": GLUE_VERSION,
        "WorkerType": spec.worker_type,
        "NumberOfWorkers": spec.workers,
        "ExecutionClass": "STANDARD",
    }


def create_job_request(plan: ExportPlan, step: dict[str, Any]) -> dict[str, Any]:
    return {"Name": plan.glue.job_name, **job_definition(plan, step), "Tags": tags(plan)}


def update_job_request(plan: ExportPlan, step: dict[str, Any]) -> dict[str, Any]:
    """UpdateJob of `--glue-job` with what this run sets (`run_overrides`): what --dry-run shows. The
    request sent is `job_update(GetJob's job, this JobUpdate)`: the user's job with ours on top."""
    return {"JobName": plan.glue.job_name, "JobUpdate": run_overrides(job_definition(plan, step))}


# --- the user's own job (--glue-job) -------------------------------------------------------------
#
# Glue API Reference, UpdateJob: "The previous job definition is completely overwritten by this
# information"; JobUpdate: "Unspecified configuration is removed or reset to default values". So a
# JobUpdate holding only our fields wipes the user's Connections, SecurityConfiguration, their
# DefaultArguments (--TempDir, --enable-metrics, ...), NotificationProperty, MaxRetries, Timeout,
# etc. We send the job as GetJob returns it, every member a JobUpdate takes, with ours on top; and
# after the run the job as it was (run/glue.py).

# JobUpdate's members in botocore's Glue model (2017-03-31), in its order; a test checks the list
# against the model, so a member added there is decided on here, not dropped unseen.
JOB_UPDATE_MEMBERS = (
    "JobMode",
    "JobRunQueuingEnabled",
    "Description",
    "LogUri",
    "Role",
    "ExecutionProperty",
    "Command",
    "DefaultArguments",
    "NonOverridableArguments",
    "Connections",
    "MaxRetries",
    "AllocatedCapacity",
    "Timeout",
    "MaxCapacity",
    "WorkerType",
    "NumberOfWorkers",
    "SecurityConfiguration",
    "NotificationProperty",
    "GlueVersion",
    "CodeGenConfigurationNodes",
    "ExecutionClass",
    "SourceControlDetails",
    "MaintenanceWindow",
)
# What GetJob's Job has and JobUpdate does not take (read-only here): Name, CreatedOn,
# LastModifiedOn, ProfileName, AutoUpgradeMetadata. Dropped by taking JOB_UPDATE_MEMBERS only.

# What our run sets on the user's job, whatever it had (the rest of job_definition is theirs: their
# Description, and their Timeout, since StartJobRun's Timeout, ours, "overrides the timeout value
# set in the parent job"):
RUN_MEMBERS = (
    "Role",  # --glue-role: the role our policy (iam-policy --runner glue) is written for
    "Command",  # glueetl, our script (a Python shell or Ray command cannot run it)
    "DefaultArguments",  # merged: theirs, with ours winning on the same key (OWNED_ARGUMENTS)
    "GlueVersion",  # 5.0: the script's Spark 3.5 and Python 3.11
    "WorkerType",  # the plan's: the read's parallelism and the estimate are made from them
    "NumberOfWorkers",
    "ExecutionClass",  # STANDARD: the estimate's price, and FLEX runs may be delayed or preempted
    "MaxRetries",  # 0: a retry would be a second export into the same folder while we report the first
    "ExecutionProperty",  # MaxConcurrentRuns 1, and below no queuing: while the job holds our
    "JobRunQueuingEnabled",  # definition, a run started by anyone else (a trigger) is refused
)
# The DefaultArguments our run owns: theirs are dropped even where ours has none (an --extra-jars of
# theirs ahead of Glue's classpath, --user-jars-first, would be loaded into our job).
OWNED_ARGUMENTS = ("--job-language", "--job-bookmark-option", "--extra-py-files", "--extra-jars", "--user-jars-first")


def run_overrides(definition: dict[str, Any]) -> dict[str, Any]:
    """The members of our job definition that our run sets on a job of the user's (RUN_MEMBERS)."""
    out = {k: definition[k] for k in RUN_MEMBERS if k in definition}
    out["JobRunQueuingEnabled"] = False
    return out


def as_job_update(job: dict[str, Any]) -> dict[str, Any]:
    """GetJob's Job as a JobUpdate that leaves it as it is (the restore after our run): every member a
    JobUpdate takes, with three exceptions Glue itself makes necessary:

    - CodeGenConfigurationNodes (a Glue Studio visual job's graph) is left out. The Visual Job API page:
      in UpdateJob "a null value provided will be ignored and no update to the DAG would be
      performed", while a non-empty one has "the associated code being generated", written to the
      job's ScriptLocation. Left out, the graph stays as it is and no script is written.
    - MaxCapacity is left out when the job has WorkerType or NumberOfWorkers: GetJob reports the
      MaxCapacity Glue derives from the workers, and JobUpdate's MaxCapacity: "Do not set MaxCapacity
      if using WorkerType and NumberOfWorkers" (boto/boto3#2644: Glue refuses both).
    - AllocatedCapacity ("deprecated. Use MaxCapacity instead") is left out when MaxCapacity or the
      workers are there: GetJob reports it beside them.
    Members GetJob leaves out (None) stay out."""
    out = {k: job[k] for k in JOB_UPDATE_MEMBERS if job.get(k) is not None}
    out.pop("CodeGenConfigurationNodes", None)
    workers = "WorkerType" in out or "NumberOfWorkers" in out
    if workers:
        out.pop("MaxCapacity", None)
    if workers or "MaxCapacity" in out:
        out.pop("AllocatedCapacity", None)
    return out


def job_update(job: dict[str, Any], ours: dict[str, Any]) -> dict[str, Any]:
    """The JobUpdate that runs this export on the user's job (GetJob's `job`), keeping everything of
    theirs our run does not need (`ours`: run_overrides, update_job_request's JobUpdate): their
    Connections, SecurityConfiguration, NotificationProperty, Timeout, Description, LogUri,
    SourceControlDetails, MaintenanceWindow, JobMode, and DefaultArguments (--TempDir,
    --enable-metrics, ...) under ours. Their NonOverridableArguments lose the keys ours set (they
    would override ours in the run); MaxCapacity and AllocatedCapacity go (ours sets the workers)."""
    out = as_job_update(job)
    our_arguments = ours.get("DefaultArguments") or {}
    theirs = {k: v for k, v in (out.get("DefaultArguments") or {}).items() if k not in OWNED_ARGUMENTS}
    out.update(ours)
    out["DefaultArguments"] = {**theirs, **our_arguments}
    fixed = {k: v for k, v in (out.get("NonOverridableArguments") or {}).items() if k not in our_arguments and k not in OWNED_ARGUMENTS}
    if "NonOverridableArguments" in out:
        out["NonOverridableArguments"] = fixed
    if "WorkerType" in ours or "NumberOfWorkers" in ours:
        out.pop("MaxCapacity", None)
        out.pop("AllocatedCapacity", None)
    return {k: out[k] for k in JOB_UPDATE_MEMBERS if k in out}


def start_job_run_request(plan: ExportPlan) -> dict[str, Any]:
    spec = plan.glue
    return {
        "JobName": spec.job_name,
        "Timeout": spec.timeout_minutes,
        "WorkerType": spec.worker_type,
        "NumberOfWorkers": spec.workers,
    }


def target_of(plan: ExportPlan) -> Target:
    return target(plan.artifacts_uri)


def add_requests(plan: ExportPlan, out: Rendered, target: Target) -> None:
    """CreateJob (a job made for the run) or UpdateJob (--glue-job), and StartJobRun."""
    if out.steps:
        step = out.steps[0]
        out.glue_job = create_job_request(plan, step) if plan.glue.created else update_job_request(plan, step)
        out.start_job_run = start_job_run_request(plan)
