"""The Spark engine's render: the export job script (spark/export_job.py.j2) and its one step."""

from __future__ import annotations

from launcher.core.quoting import python_json
from launcher.export.plan import ExportPlan
from launcher.export.render.base import JOB_SCRIPT, JOB_ZIP, Rendered, Target, command_step, environment, job_zip, plan_json, spark_submit


def render_spark(plan: ExportPlan, target: Target, out: Rendered) -> None:
    out.files[JOB_SCRIPT] = (
        environment()
        .get_template("spark/export_job.py.j2")
        .render(
            export_id=plan.export_id,
            plan_json=python_json(plan_json(plan)),
        )
    )
    out.files[JOB_ZIP] = job_zip()
    args = spark_submit(
        target, f"ddb-s3-export-{plan.export_id}", JOB_SCRIPT, target.jars, ("spark.speculation=false", "spark.task.maxFailures=4")
    )
    out.steps.append(command_step(plan, f"ddb-s3 export {plan.table.name} ({plan.export_id})", args))
