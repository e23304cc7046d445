"""Render: a pure function of the plan. Jinja2 (StrictUndefined) turns the plan into the job
script, the bootstrap actions, the EMR step list and the RunJobFlow request; `ddb-s3 render`
writes them out and `--dry-run` prints them."""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import jinja2

from .plan import ExportPlan
from .quoting import python_json
from .versions import EMR_CONNECTOR_JAR

PACKAGE_DIR = Path(__file__).resolve().parent
HELPERS_JAR = "ddb-s3-spark-helpers.jar"
JOB_ZIP = "ddbs3_job.zip"
JOB_SCRIPT = "export_job.py"
# What the Spark job imports from this package: stdlib + boto3 only.
JOB_MODULES = ["__init__.py", "codec.py", "layout.py", "job/__init__.py", "job/commit.py", "job/s3io.py", "job/scan.py"]


def template_dirs() -> list[Path]:
    """Templates ship in the wheel under launcher/_templates; in a checkout they are the top-level
    hive/, spark/ and bootstrap/ folders."""
    installed = PACKAGE_DIR / "_templates"
    root = installed if installed.is_dir() else PACKAGE_DIR.parent
    return [root]


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in template_dirs()]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["python_json"] = python_json
    return env


@dataclass(frozen=True)
class Target:
    """Where the rendered step runs: the artifacts' root as the step sees it (an s3:// prefix on
    EMR, a folder here) and the connector jars on its classpath."""

    artifacts_root: str
    jars: list[str]
    deploy_mode: str = "client"

    @classmethod
    def emr(cls, artifacts_root: str) -> "Target":
        return cls(artifacts_root.rstrip("/"), [EMR_CONNECTOR_JAR, artifacts_root.rstrip("/") + "/" + HELPERS_JAR])

    def path(self, name: str) -> str:
        return f"{self.artifacts_root}/{name}"


@dataclass
class Rendered:
    files: dict[str, str | bytes] = field(default_factory=dict)  # artifact name -> content
    steps: list[dict[str, Any]] = field(default_factory=list)  # EMR StepConfig dicts
    run_job_flow: dict[str, Any] | None = None


def plan_json(plan: ExportPlan) -> dict[str, Any]:
    return json.loads(plan.model_dump_json())


def render_export(plan: ExportPlan, target: Target) -> Rendered:
    env = environment()
    out = Rendered()
    emr = target.artifacts_root.startswith("s3://")
    if emr and plan.request.connector_version:
        from .emr_request import connector_jar  # the jar bootstrap/install-connector.sh installs

        target = replace(target, jars=[connector_jar(plan.request.connector_version) if j == EMR_CONNECTOR_JAR else j
                                       for j in target.jars])
    if plan.engine == "spark":
        out.files[JOB_SCRIPT] = env.get_template("spark/export_job.py.j2").render(
            export_id=plan.export_id,
            plan_json=python_json(plan_json(plan)),
        )
        out.files[JOB_ZIP] = job_zip()
        out.steps.append(spark_step(plan, target))
    elif plan.engine == "hive":
        from .hive_render import render_hive  # the Hive engine's templates and steps

        render_hive(plan, target, out)
    if emr:
        from . import emr_request  # bootstrap actions and the RunJobFlow request (transient cluster)

        out.files.update(emr_request.bootstrap_files(plan, template_dirs()[0]))
        if plan.request.cluster == "transient":
            out.run_job_flow = emr_request.run_job_flow_request(plan, target.artifacts_root, out.steps)
    return out


def spark_step(plan: ExportPlan, target: Target) -> dict[str, Any]:
    args = [
        "spark-submit",
        "--deploy-mode", target.deploy_mode,
        "--name", f"ddb-s3-export-{plan.export_id}",
        "--conf", "spark.speculation=false",
        "--conf", "spark.task.maxFailures=4",
        "--jars", ",".join(target.jars),
        "--py-files", target.path(JOB_ZIP),
        target.path(JOB_SCRIPT),
    ]
    transient = plan.request.runner == "emr" and plan.request.cluster == "transient"
    return {
        "Name": f"ddb-s3 export {plan.table['name']} ({plan.export_id})",
        "ActionOnFailure": "TERMINATE_CLUSTER" if transient else "CONTINUE",
        "HadoopJarStep": {"Jar": "command-runner.jar", "Args": args},
    }


def job_zip(modules: list[str] = JOB_MODULES) -> bytes:
    """The Python the job imports, zipped for --py-files. Fixed timestamps keep it reproducible."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in modules:
            info = zipfile.ZipInfo("launcher/" + name, date_time=(2020, 1, 1, 0, 0, 0))
            zf.writestr(info, (PACKAGE_DIR / name).read_bytes())
    return buf.getvalue()
