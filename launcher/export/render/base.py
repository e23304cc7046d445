"""Render: a pure function of the plan. Jinja2 (StrictUndefined) turns the plan into the job
script, the bootstrap actions, the EMR step list and the RunJobFlow request; `ddb-s3 render`
writes them out and `--dry-run` prints them."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from launcher.core.quoting import python_json
from launcher.core.versions import EMR_CONNECTOR_JAR
from launcher.export.plan import ExportPlan

PACKAGE_DIR = Path(__file__).resolve().parents[2]  # the launcher package
HELPERS_JAR = "ddb-s3-spark-helpers.jar"
JOB_ZIP = "ddbs3_job.zip"
JOB_SCRIPT = "export_job.py"
# What the Spark job imports from this package, shipped whole: core/ and job/ (stdlib + boto3 only).
JOB_PACKAGES = ("core", "job")


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
    cloud: bool = False  # the step runs on a cloud runner (the artifacts are uploaded to artifacts_root)

    @classmethod
    def emr(cls, artifacts_root: str) -> Target:
        return cls(artifacts_root.rstrip("/"), [EMR_CONNECTOR_JAR, artifacts_root.rstrip("/") + "/" + HELPERS_JAR], cloud=True)

    def path(self, name: str) -> str:
        return f"{self.artifacts_root}/{name}"


@dataclass
class Rendered:
    files: dict[str, str | bytes] = field(default_factory=dict)  # artifact name -> content
    steps: list[dict[str, Any]] = field(default_factory=list)  # EMR StepConfig dicts
    run_job_flow: dict[str, Any] | None = None
    create_application: dict[str, Any] | None = None  # runner emr-serverless, when it creates the application
    start_job_run: dict[str, Any] | None = None  # runner emr-serverless (application id and role ARN as far as known), glue
    glue_job: dict[str, Any] | None = None  # runner glue: CreateJob, or UpdateJob of --glue-job


REQUEST_FILES = {  # Rendered's requests, each written by `render --out` as <name>.json
    "run_job_flow": "run-job-flow.json",
    "create_application": "create-application.json",
    "start_job_run": "start-job-run.json",
    "glue_job": "glue-job.json",
}


def uses_helper_jar(steps: list[dict[str, Any]]) -> bool:
    """Whether a step puts our helper jar on its class path (then it is uploaded beside the files)."""
    return any(HELPERS_JAR in a for s in steps for a in s["HadoopJarStep"].get("Args", []))


def plan_json(plan: ExportPlan) -> dict[str, Any]:
    return json.loads(plan.model_dump_json())


def on_failure(plan: ExportPlan) -> str:
    """A transient cluster ends when a step fails; a cluster the user owns goes on."""
    return "TERMINATE_CLUSTER" if plan.transient else "CONTINUE"


def command_step(plan: ExportPlan, name: str, args: list[str]) -> dict[str, Any]:
    """An EMR StepConfig that command-runner.jar runs (the local runner runs the same args)."""
    # EMR refuses a step name longer than 256 characters.
    return {"Name": name[:256], "ActionOnFailure": on_failure(plan), "HadoopJarStep": {"Jar": "command-runner.jar", "Args": args}}


def spark_submit(
    target: Target, app_name: str, script: str, jars: list[str] | None = None, confs: tuple[str, ...] = ("spark.speculation=false",)
) -> list[str]:
    """spark-submit args of a job step: our zip on --py-files, the script last."""
    args = ["spark-submit", "--deploy-mode", target.deploy_mode, "--name", app_name]
    for conf in confs:
        args += ["--conf", conf]
    if jars:
        args += ["--jars", ",".join(jars)]
    return [*args, "--py-files", target.path(JOB_ZIP), target.path(script)]


def job_zip() -> bytes:
    """launcher/__init__.py, core/ and job/, zipped for --py-files. Fixed timestamps and sorted
    names keep it reproducible."""
    files = [PACKAGE_DIR / "__init__.py"]
    for package in JOB_PACKAGES:
        files += sorted((PACKAGE_DIR / package).rglob("*.py"))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            info = zipfile.ZipInfo("launcher/" + path.relative_to(PACKAGE_DIR).as_posix(), date_time=(2020, 1, 1, 0, 0, 0))
            zf.writestr(info, path.read_bytes())
    return buf.getvalue()


def emr_target(plan: ExportPlan) -> Target:
    """Where an EMR step (or EMR Serverless's job, rendered from it) runs: the release's connector."""
    return Target.emr(plan.artifacts_uri)
