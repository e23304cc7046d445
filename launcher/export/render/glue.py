"""Pure builders of what the Glue runner sends: the job definition (CreateJob, or UpdateJob's
JobUpdate for `--glue-job`) and StartJobRun, made from the same rendered spark-submit step that EMR
runs: its script becomes the job's ScriptLocation, its --py-files `--extra-py-files`, its --jars
`--extra-jars`. No AWS calls here (aws/glue_job_hook.py).

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
    """The job's settings (CreateJob without Name and Tags; UpdateJob's JobUpdate as it is)."""
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
    return {"JobName": plan.glue.job_name, "JobUpdate": job_definition(plan, step)}


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
