"""`ddb-s3 export` and `ddb-s3 render`: the export flow from the command line."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from launcher.cli.base import aws_error, build, cli, failure, options, out, say, setup_error
from launcher.cli.progress import read_display
from launcher.core.errors import BadInput, DdbS3Error
from launcher.core.paths import runs_dir
from launcher.core.words import count
from launcher.export.estimate import duration, keep_up_advice
from launcher.export.plan import Engine, ExportPlan, Reader, RunnerName
from launcher.options import ExportRequest, Options, defaulted

if TYPE_CHECKING:
    from launcher.export.render.base import Rendered

# `export --help` in sections instead of one flat list of 40 options.
HELP_SECTIONS = {
    "What to read": ["table", "engine", "reader", "read_percent", "consistent_read", "segments", "on_demand_read_units",
                     "hive_columns", "export_from", "export_to"],
    "The table at one moment (docs/as-of.md)": ["as_of", "incremental_since", "stream_wait_seconds"],
    "Where to write": ["to", "max_items_per_file", "sse", "sse_kms_key_id", "expected_bucket_owner", "region"],
    "Where to run": ["runner", "cluster", "dry_run", "work_dir", "poll_seconds", "max_wait_seconds"],
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


# --------------------------------------------------------------------------- several tables

GLOB_CHARS = "*?["  # never in a DynamoDB table name ([a-zA-Z0-9_.-]), so a --table value with one is a glob

TABLES_HELP = (
    "DynamoDB table name; repeat it (--table A --table B) or give a shell-style glob, quoted ('orders-*', "
    "matched against ListTables) to export several tables one after the other, each to its own export id "
    "under --to (runner emr: each in a transient cluster of its own, or each as steps on --cluster j-... in turn)"
)


def is_glob(value: str) -> bool:
    return any(c in value for c in GLOB_CHARS)


def expand_tables(values: Sequence[str], listed: Iterable[str] = (), region: str | None = None) -> list[str]:
    """The tables that --table values name, in their order: a name as given, a glob as the names of
    `listed` it matches (case-sensitive, as DynamoDB's names are), sorted; each table once, where it
    first appears. A glob that matches nothing is bad input (a typo must not export nothing quietly)."""
    names = sorted(set(listed))
    tables: dict[str, None] = {}
    for value in values:
        if not is_glob(value):
            tables.setdefault(value)
            continue
        matched = [n for n in names if fnmatch.fnmatchcase(n, value)]
        if not matched:
            where = f" in {region}" if region else ""
            raise BadInput(f"--table {value!r} matches none of the {len(names)} tables{where}: check the pattern and --region")
        for name in matched:
            tables.setdefault(name)
    return list(tables)


@dataclass
class TableResult:
    table: str
    doc: dict[str, Any] | None = None  # the table's --json document
    uri: str | None = None  # where its export is (or would be, for --dry-run)
    error: str | None = None
    exit_code: int = 0

    def json(self) -> dict[str, Any]:
        """Its entry in the --json list: the table's own document, or its error and exit code."""
        if self.error is not None:
            return {"table": self.table, "error": self.error, "exitCode": self.exit_code}
        return {"table": self.table, **(self.doc or {})}


class TablesFailed(DdbS3Error):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# --------------------------------------------------------------------------- the commands


@cli.command(cls=SectionedCommand)
@options(ExportRequest, multiple={"table": TABLES_HELP})
@click.option("--dry-run", is_flag=True, help="print the plan and every rendered artifact; start nothing")
@click.option(
    "--work-dir",
    type=click.Path(path_type=Path),
    default=None,
    help=defaulted("local runner's folder for artifacts and logs", "$DDB_S3_WORK_DIR or ~/.cache/ddb-s3/runs"),
)
def export(dry_run: bool, as_json: bool, work_dir: Path | None, table: tuple[str, ...], **kw: Any) -> None:
    """Export a table to s3://bucket/prefix/AWSDynamoDB/<export-id>/ (several tables: one export each)."""
    if len(table) <= 1 and not any(is_glob(t) for t in table):  # one table (or the config's): as it always was
        export_table(build(ExportRequest, dict(kw, table=table[0] if table else None)), dry_run, as_json, work_dir)
        return
    export_tables(table, kw, dry_run, as_json, work_dir)


def export_table(request: ExportRequest, dry_run: bool, as_json: bool, work_dir: Path | None, *, many: bool = False) -> TableResult:
    """Plan one table's export, then render it (--dry-run) or run and verify it. Prints its plan and
    result; with `many` the result on stdout is left to the caller's summary."""
    from launcher.aws.session import Aws
    from launcher.export.flow import interrupted_line, make_runner, plan_export, run_and_verify
    from launcher.export.render import Target, cloud_target, render_export

    aws = Aws(request.region)
    plan = plan_export(request, aws)
    show_plan(plan)
    if dry_run:
        if plan.runner == RunnerName.LOCAL:
            target = Target(str((work_dir or runs_dir()) / plan.export_id), ["<local connector jars>"])
        else:
            target = cloud_target(plan)
        rendered = render_export(plan, target)
        doc = dry_run_doc(plan, rendered)
        if not as_json:
            if many:
                out.rule(f"table {plan.table.name}")
            print_rendered(rendered)
        elif not many:  # one document for scripts: the plan (estimate inside) and every artifact
            out.print(json.dumps(doc), markup=False)
        return TableResult(request.table, doc, plan.export_uri)
    try:
        with read_display() as counts:  # a live display on a terminal; else a line every few seconds
            done = run_and_verify(plan, make_runner(plan, aws, say, work_dir=work_dir, counts=counts), aws)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: say what the export is now, then unwind (exit 130)
        say(interrupted_line(plan, aws))
        raise
    doc = done.doc()
    if not as_json:
        assert done.report is not None
        say(final_line(done.report.item_count, len(done.report.files), done.report.summary.get("billedSizeBytes"), done.run.seconds))
    if not many:
        out.print(json.dumps(doc) if as_json else done.export_uri, markup=False)
    return TableResult(request.table, doc, done.export_uri)


def export_tables(values: tuple[str, ...], kw: dict[str, Any], dry_run: bool, as_json: bool, work_dir: Path | None) -> None:
    """Several tables: one export each, one after the other; a table that fails does not stop the
    others (Ctrl-C does). Then a summary line per table (--json: one list), and the first failing
    table's exit code."""
    if any(is_glob(v) for v in values):
        from launcher.aws.dynamodb import list_tables
        from launcher.aws.session import Aws

        shared = build(Options, {k: kw.get(k) for k in ("region", "config_path", "config_profile", "aws_profile")})
        aws = Aws(shared.region)
        tables = expand_tables(values, list_tables(aws), aws.region_name)
    else:
        tables = expand_tables(values)
    requests = [build(ExportRequest, dict(kw, table=t)) for t in tables]  # every bad flag before any export
    results: list[TableResult] = []
    for i, request in enumerate(requests, 1):
        say(f"table {i} of {len(requests)}: {request.table}")
        try:
            results.append(export_table(request, dry_run, as_json, work_dir, many=True))
        except KeyboardInterrupt:  # Ctrl-C (or SIGTERM) stops the command: say what is done, then unwind
            say(f"ddb-s3: stopped at table {request.table}; {len(requests) - i} more not started")
            for line in summary_lines(results, dry_run):
                say(line)
            raise
        except Exception as e:
            if setup_error(e) or not (isinstance(e, DdbS3Error) or aws_error(e)):
                raise  # no region or credentials: the same for every table, the command's own one line
            code, message = failure(e)
            say(f"ddb-s3: {request.table}: {message}")
            results.append(TableResult(request.table, error=message, exit_code=code))
    if as_json:
        out.print(json.dumps([r.json() for r in results]), markup=False)
    else:
        for line in summary_lines(results, dry_run):
            out.print(line, markup=False)
    failed = [r for r in results if r.error is not None]
    if failed:
        names = ", ".join(r.table for r in failed)
        raise TablesFailed(
            f"{len(failed)} of {len(results)} tables failed: {names} (exit code {failed[0].exit_code}, {failed[0].table}'s)",
            failed[0].exit_code,
        )


def summary_lines(results: list[TableResult], dry_run: bool) -> list[str]:
    """A line per table: its export URI (--dry-run: where it would go), or why it failed."""
    width = max((len(r.table) for r in results), default=0)
    return [
        f"{r.table:<{width}}  " + (f"failed: {r.error}" if r.error is not None else f"{r.uri}{' (dry run)' if dry_run else ''}")
        for r in results
    ]


def final_line(items: int, files: int, read_bytes: int | None, seconds: float) -> str:
    """The export's last line on stderr: what it holds, that it was verified, how long it took."""
    from launcher.backup.catalog import size_text

    size = f", {size_text(read_bytes)} read" if read_bytes else ""
    return f"exported and verified {count(items, 'item')}{size} in {count(files, 'data file')} in {seconds:.1f}s"


def budget_source(plan: ExportPlan) -> str:
    """Where the read budget comes from, and its rounding when the fraction asked for less than a unit."""
    t = plan.table
    unit = "RCU" if t.billing_mode == "PROVISIONED" else "on-demand units (--on-demand-read-units)"
    if t.billing_mode != "PROVISIONED" and plan.read_capacity == t.max_read_request_units:
        unit = "units/s, the table's MaxReadRequestUnits (--on-demand-read-units overrides)"
    elif t.billing_mode != "PROVISIONED" and plan.read_capacity == t.warm_read_units:
        unit = "units/s, the table's warm throughput (DescribeTable WarmThroughput; --on-demand-read-units overrides)"
    asked = plan.read_capacity * plan.read_percent
    text = f"--read-percent {plan.read_percent:g} = {plan.read_percent:.0%} of {plan.read_capacity:,g} {unit}"
    if plan.read_units_per_second > asked:
        text += f"; {asked:g} rounded up to the least a read takes"
    return text


def show_plan(plan: ExportPlan) -> None:
    t = plan.table
    if t.size_sampled:
        size = f"~{t.item_count:,} items, ~{t.size_bytes:,} bytes from a sample: DescribeTable has not counted it yet"
    elif t.item_count:
        size = f"{t.item_count:,} items, {t.size_bytes:,} bytes"
    else:
        size = "size unknown: DescribeTable counts a table about every 6 hours"
    say(f"plan: export {t.name} ({size}, {t.billing_mode}) with engine {plan.engine} ({plan.engine_reason})")
    if plan.engine in (Engine.SPARK, Engine.PYTHON):
        say(
            f"plan: reader {plan.reader}, {count(plan.segments, 'segment')} in {count(len(plan.segment_groups), 'task')}, "
            f"read budget {plan.read_units_per_second:g} units/s ({budget_source(plan)})"
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
    if plan.transient:  # a cluster the user gave is sized already: no advice on its nodes
        c = plan.cluster
        if advice := keep_up_advice(
            plan.read_units_per_second,
            plan.average_item_size,
            plan.consistent_read,
            plan.reader.value,
            c.instance_type,
            c.core_nodes,
            plan.table.item_count,
        ):
            say(f"plan: {advice}")
    if plan.transient:
        say(f"plan: the cluster shuts itself down after {duration(plan.cluster.max_runtime_seconds)} whatever runs (--max-hours)")
    if line := role_path_note(plan):
        say(f"plan: {line}")
    if line := as_of_line(plan):
        say(f"plan: {line}")
    say(f"plan: destination {plan.export_uri}")


def as_of_line(plan: ExportPlan) -> str | None:
    """What --as-of / --incremental-since will give, and what it reads besides the Scan."""
    spec = plan.as_of
    if spec is None:
        return None
    at = "this export's start (the second after its Scan begins)" if spec.time is None else layout_iso(spec.time)
    if spec.since_export:
        what = f"the changes from {layout_iso(spec.since_time or 0)} ({spec.since_export}) to {at}, from the stream alone (no Scan)"
    else:
        what = f"the table exactly as of {at}: the Scan, then the stream's records around it, merged by key"
    return f"{what}; stream {spec.stream_arn}, each shard read until it passes the window or closes (at most {duration(spec.wait_seconds)})"


def layout_iso(epoch: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def role_path_note(plan: ExportPlan) -> str | None:
    """A role given by name where the request needs its ARN (EMR Serverless's executionRoleArn, Glue's
    Role) is taken at the path "/": a console-made role under /service-role/ would not be found."""
    flag, role = {
        RunnerName.EMR_SERVERLESS: ("--execution-role", plan.serverless.execution_role),
        RunnerName.GLUE: ("--glue-role", plan.glue.role),
    }.get(plan.runner, ("", "arn:"))
    if role.startswith("arn:"):
        return None
    return (
        f"{flag} {role} is a name: taken at the path / (role/{role}); give its ARN if it lives under a path"
        " such as /service-role/ (`ddb-s3 doctor` checks)"
    )


def dry_run_doc(plan: ExportPlan, rendered: Rendered) -> dict[str, Any]:
    return {
        "plan": (doc := plan.document()),
        "estimate": doc["estimate"] | {"text": plan.estimate_text},
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
@options(
    ExportRequest,
    json_flag=False,
    multiple={"table": "DynamoDB table name (one: render writes one table's artifacts)"},
    narrowed={"runner": ("emr|emr-serverless|glue", defaulted("the cloud runner whose artifacts and requests to write", "emr"))},
)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="folder to write the artifacts to")
def render(out_dir: Path, table: tuple[str, ...], **kw: Any) -> None:
    """Write what a cloud run sends, as it would send it: the job script, steps, bootstrap actions, the
    helper jar, and the runner's requests (EMR's RunJobFlow by default; --runner emr-serverless or glue
    for theirs)."""
    import shutil

    from launcher.export.flow import plan_export
    from launcher.export.render import cloud_target, render_export
    from launcher.export.render.base import HELPERS_JAR, uses_helper_jar
    from launcher.export.run.jars import helper_jar_path
    from launcher.export.run.local import write_artifacts

    if len(table) > 1 or any(is_glob(t) for t in table):
        raise BadInput(f"render writes one table's artifacts: give one --table name, not {' '.join(repr(t) for t in table)}")
    request = build(ExportRequest, dict(kw, table=table[0] if table else None))
    if request.runner in ("local", "auto"):
        if "runner" in request.model_fields_set:
            raise BadInput(f"render writes a cloud runner's artifacts, not --runner {request.runner}'s: `export --dry-run` shows those")
        request = request.model_copy(update={"runner": "emr"})  # what render is for, by default
    plan = plan_export(request)
    rendered = render_export(plan, cloud_target(plan))
    write_artifacts(rendered, out_dir)
    if uses_helper_jar(rendered.steps):  # the steps name it: it goes up beside the rendered files
        shutil.copyfile(helper_jar_path(), out_dir / HELPERS_JAR)
    (out_dir / "plan.json").write_text(json.dumps(plan.document(), indent=2) + "\n")
    files = sorted(p.name for p in out_dir.iterdir() if p.is_file())
    say(f"rendered {', '.join(files)} into {out_dir} for --runner {plan.runner}; upload the artifacts to {plan.artifacts_uri}/")
