"""`ddb-s3 export` and `ddb-s3 render`: the export flow from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from launcher.cli.base import build, cli, options, out, say
from launcher.core.paths import runs_dir
from launcher.export.estimate import duration
from launcher.export.plan import Engine, ExportPlan, Reader, RunnerName
from launcher.export.render.base import Rendered
from launcher.options import ExportRequest

# `export --help` in sections instead of one flat list of 40 options.
HELP_SECTIONS = {
    "What to read": ["table", "engine", "reader", "read_percent", "consistent_read", "segments", "on_demand_read_units",
                     "hive_columns", "export_from", "export_to"],
    "Where to write": ["to", "max_items_per_file", "sse", "sse_kms_key_id", "expected_bucket_owner", "region"],
    "Where to run": ["runner", "cluster", "dry_run", "work_dir", "poll_seconds"],
    "Cluster (runner emr)": ["release_label", "instance_type", "core_nodes", "spot", "log_uri", "service_role",
                             "instance_profile", "subnet_id", "artifacts_uri", "connector_version", "python_packages"],
    "EMR Serverless and Glue (runners emr-serverless, glue)": ["application_id", "execution_role", "workers", "worker_type",
                                                              "glue_job", "glue_role", "keep"],
    "Limits": ["max_hours", "idle_timeout"],
}  # fmt: skip


class SectionedCommand(click.Command):
    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = {p.name: p.get_help_record(ctx) for p in self.get_params(ctx)}
        placed: set[str | None] = set()
        for title, names in HELP_SECTIONS.items():
            with formatter.section(title):
                formatter.write_dl([r for n in names if (r := rows.get(n))])
            placed.update(names)
        with formatter.section("Other options"):
            formatter.write_dl([r for n, r in rows.items() if r and n not in placed])


@cli.command(cls=SectionedCommand)
@options(ExportRequest)
@click.option("--dry-run", is_flag=True, help="print the plan and every rendered artifact; start nothing")
@click.option(
    "--work-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="local runner's folder for artifacts and logs [default: $DDB_S3_WORK_DIR or ~/.cache/ddb-s3/runs]",
)
def export(dry_run: bool, as_json: bool, work_dir: Path | None, **kw: Any) -> None:
    """Export a table to s3://bucket/prefix/AWSDynamoDB/<export-id>/."""
    from launcher.export.flow import make_runner, plan_export, run_and_verify
    from launcher.export.render import Target, render_export

    plan = plan_export(build(ExportRequest, kw))
    show_plan(plan)
    if dry_run:
        if plan.runner == RunnerName.GLUE:
            from launcher.export.render import glue

            target = glue.target(plan.artifacts_uri)
        elif plan.runner in (RunnerName.EMR, RunnerName.EMR_SERVERLESS):
            target = Target.emr(plan.artifacts_uri)
        else:
            target = Target(str((work_dir or runs_dir()) / plan.export_id), ["<local connector jars>"])
        rendered = render_export(plan, target)
        if as_json:  # one document for scripts: the plan (estimate inside) and every artifact
            out.print(json.dumps(dry_run_doc(plan, rendered)), markup=False)
        else:
            print_rendered(rendered)
        return
    done = run_and_verify(plan, make_runner(plan, say, work_dir))
    if as_json:
        out.print(json.dumps(done.doc()), markup=False)
    else:
        assert done.report is not None
        say(f"exported {done.report.item_count} items in {len(done.report.files)} files in {done.run.seconds:.1f}s")
        out.print(done.export_uri, markup=False)


def show_plan(plan: ExportPlan) -> None:
    t = plan.table
    if t.size_sampled:
        size = f"~{t.item_count:,} items, ~{t.size_bytes:,} bytes from a sample: DescribeTable has not counted it yet"
    elif t.item_count:
        size = f"{t.item_count:,} items, {t.size_bytes:,} bytes"
    else:
        size = "size unknown: DescribeTable counts a table about every 6 hours"
    say(f"plan: export {t.name} ({size}, {t.billing_mode}) with engine {plan.engine} ({plan.engine_reason})")
    if plan.engine == Engine.SPARK:
        say(
            f"plan: reader {plan.reader}, {plan.segments} segments in {len(plan.segment_groups)} tasks, "
            f"read budget {plan.read_units_per_second:g} units/s"
            + (f" (the connector's tasks read at {plan.effective_read_units_per_second:g})" if plan.reader == Reader.CONNECTOR else "")
            + (", consistent reads" if plan.consistent_read else "")
        )
    say(f"plan: runner {plan.runner} ({plan.runner_reason}), estimate {plan.estimate_text}")
    if plan.runner == RunnerName.EMR_SERVERLESS:
        spec = plan.serverless
        where = f"application {spec.application_id}" if spec.application_id else "an application created for the run and deleted after it"
        say(
            f"plan: EMR Serverless {spec.release_label} on {where}; {spec.workers} workers; the job run times out after {spec.timeout_minutes} minutes"
        )
    if plan.runner == RunnerName.GLUE:
        g = plan.glue
        what = (
            f"Glue job {g.job_name} ({'created for the run' + (', kept' if g.keep else ', deleted after it') if g.created else 'updated'})"
        )
        say(f"plan: {what}; {g.workers} x {g.worker_type}; the job run times out after {g.timeout_minutes} minutes")
    if plan.transient:
        say(f"plan: the cluster shuts itself down after {duration(plan.cluster.max_runtime_seconds)} whatever runs (--max-hours)")
    say(f"plan: destination {plan.export_uri}")


def dry_run_doc(plan: ExportPlan, rendered: Rendered) -> dict[str, Any]:
    return {
        "plan": json.loads(plan.model_dump_json()),
        "estimate": plan.estimate | {"text": plan.estimate_text},
        "artifacts": {name: content if isinstance(content, str) else f"<{len(content)} bytes>" for name, content in rendered.files.items()},
        "steps": rendered.steps,
        "runJobFlow": rendered.run_job_flow,
        "createApplication": rendered.create_application,
        "startJobRun": rendered.start_job_run,
        "glueJob": rendered.glue_job,
    }


def print_rendered(rendered: Rendered) -> None:
    for name, content in rendered.files.items():
        out.rule(name)
        if isinstance(content, bytes):
            out.print(f"<{len(content)} bytes: the job's Python modules for --py-files>", markup=False)
        else:
            out.print(content, markup=False, end="")
    out.rule("steps")
    out.print(json.dumps(rendered.steps, indent=2), markup=False)
    if rendered.run_job_flow is not None:
        out.rule("RunJobFlow request")
        out.print(json.dumps(rendered.run_job_flow, indent=2), markup=False)
    if rendered.create_application is not None:
        out.rule("CreateApplication request")
        out.print(json.dumps(rendered.create_application, indent=2), markup=False)
    if rendered.glue_job is not None:
        out.rule("CreateJob request" if "Name" in rendered.glue_job else "UpdateJob request")
        out.print(json.dumps(rendered.glue_job, indent=2), markup=False)
    if rendered.start_job_run is not None:
        out.rule("StartJobRun request")
        out.print(json.dumps(rendered.start_job_run, indent=2), markup=False)


@cli.command()
@options(ExportRequest, json_flag=False)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="folder to write the artifacts to")
def render(out_dir: Path, **kw: Any) -> None:
    """Write the job script, steps, bootstrap actions and RunJobFlow request for EMR."""
    from launcher.export.flow import plan_export
    from launcher.export.render import Target, render_export
    from launcher.export.run.local import write_artifacts

    plan = plan_export(build(ExportRequest, kw))
    rendered = render_export(plan, Target.emr(plan.artifacts_uri))
    write_artifacts(rendered, out_dir)
    (out_dir / "plan.json").write_text(plan.model_dump_json(indent=2) + "\n")
    say(f"rendered {len(rendered.files)} files and {len(rendered.steps)} steps into {out_dir}; upload the files to {plan.artifacts_uri}/")
