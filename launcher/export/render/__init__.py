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

from launcher.backends import BACKENDS, CLOUD, Backend
from launcher.core.versions import EMR_CONNECTOR_JAR
from launcher.export.plan import Engine, ExportPlan
from launcher.export.render import emr_cluster
from launcher.export.render.base import Rendered, Target
from launcher.export.render.hive import render_hive
from launcher.export.render.spark import render_spark

__all__ = ["Rendered", "Target", "cloud_target", "render_export"]


def backend_of(plan: ExportPlan) -> Backend:
    """The plan's cloud backend; EMR's for a local plan (`render` shows a local request's EMR steps)."""
    return BACKENDS[plan.runner] if plan.runner in CLOUD else BACKENDS["emr"]


def cloud_target(plan: ExportPlan) -> Target:
    """Where the plan's step runs on its cloud runner (the backend's target)."""
    backend = backend_of(plan)
    assert backend.target is not None
    target: Target = backend.load(backend.target)(plan)
    return target


def render_export(plan: ExportPlan, target: Target) -> Rendered:
    """Every artifact and request of the plan's run on `target`: the job files and steps, and for a
    cloud target its backend's requests (launcher/backends.py)."""
    out = Rendered()
    if target.cloud and plan.cluster.connector_version:
        # the jar bootstrap/install-connector.sh installs
        jar = emr_cluster.connector_jar(plan.cluster.connector_version)
        target = replace(target, jars=[jar if j == EMR_CONNECTOR_JAR else j for j in target.jars])
    if plan.engine == Engine.SPARK:
        render_spark(plan, target, out)
    elif plan.engine == Engine.HIVE:
        render_hive(plan, target, out)
    if target.cloud:
        backend = backend_of(plan)
        assert backend.requests is not None
        backend.load(backend.requests)(plan, out, target)
    return out
