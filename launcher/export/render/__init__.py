"""Render: a pure function of the plan. Jinja2 (StrictUndefined) turns the plan into the job
script, the bootstrap actions, the EMR step list and the RunJobFlow request; `ddb-s3 render`
writes them out and `--dry-run` prints them.

    base.py         the template environment, the render target, the job zip, step builders
    spark.py        the Spark engine: export_job.py and its spark-submit step
    hive.py         the Hive engine: export.hql (DynamoDBStorageHandler) and the convert step
    emr_cluster.py  bootstrap actions, tags and the RunJobFlow request of a transient cluster
    serverless.py   the EMR Serverless CreateApplication and StartJobRun requests, from the same step
    glue.py         the Glue job (CreateJob / UpdateJob) and StartJobRun, from the same step
"""

from __future__ import annotations

from dataclasses import replace

from launcher.core.versions import EMR_CONNECTOR_JAR
from launcher.export.plan import Engine, ExportPlan, RunnerName
from launcher.export.render import emr_cluster, glue, serverless
from launcher.export.render.base import Rendered, Target, template_dirs
from launcher.export.render.hive import render_hive
from launcher.export.render.spark import render_spark

__all__ = ["Rendered", "Target", "cloud_target", "render_export"]


def cloud_target(plan: ExportPlan) -> Target:
    """Where the plan's step runs on its cloud runner: Glue's classpath for --runner glue, EMR's for
    the others (`render` shows a local request's EMR steps)."""
    return glue.target(plan.artifacts_uri) if plan.runner == RunnerName.GLUE else Target.emr(plan.artifacts_uri)


def render_export(plan: ExportPlan, target: Target) -> Rendered:
    """Every artifact and request of the plan's run on `target`: the job files and steps, and for a
    cloud target its runner's requests (Glue's CreateJob/UpdateJob and StartJobRun, EMR
    Serverless's CreateApplication and StartJobRun, or EMR's bootstrap files and RunJobFlow)."""
    out = Rendered()
    emr = target.cloud
    if emr and plan.cluster.connector_version:
        # the jar bootstrap/install-connector.sh installs
        jar = emr_cluster.connector_jar(plan.cluster.connector_version)
        target = replace(target, jars=[jar if j == EMR_CONNECTOR_JAR else j for j in target.jars])
    if plan.engine == Engine.SPARK:
        render_spark(plan, target, out)
    elif plan.engine == Engine.HIVE:
        render_hive(plan, target, out)
    if emr and plan.runner == RunnerName.GLUE and out.steps:
        step = out.steps[0]
        out.glue_job = glue.create_job_request(plan, step) if plan.glue.created else glue.update_job_request(plan, step)
        out.start_job_run = glue.start_job_run_request(plan)
        return out
    if emr and plan.runner == RunnerName.EMR_SERVERLESS and out.steps:
        spec = plan.serverless
        out.create_application = serverless.create_application_request(plan) if spec.created else None
        app = spec.application_id or "<created for the run>"
        out.start_job_run = serverless.start_job_run_request(
            plan, out.steps[0], app, serverless.role_arn(spec.execution_role, serverless.UNKNOWN_ACCOUNT)
        )
        return out
    if emr:
        out.files.update(emr_cluster.bootstrap_files(plan, template_dirs()[0]))
        if plan.transient:
            out.run_job_flow = emr_cluster.run_job_flow_request(plan, target.artifacts_root, out.steps)
    return out
