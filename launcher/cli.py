"""The `ddb-s3` command. Export options come from one table, ExportRequest's fields, so flags,
config file keys and DDB_S3_* variables always agree. Failures print one line and exit non-zero."""
from __future__ import annotations

import json
import sys
import typing
from pathlib import Path
from typing import Any, Callable

import click
from rich.console import Console

from .errors import DdbS3Error
from .request import ExportRequest, build_request

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def request_options(fn: Callable) -> Callable:
    """One click option per ExportRequest field, all defaulting to None so that lower layers
    (config file, environment, model defaults) show through."""
    for name, field in reversed(list(ExportRequest.model_fields.items())):
        ann = field.annotation
        if ann is bool:
            opt = click.option(f"{_flag(name)}/--no-{name.replace('_', '-')}", name, default=None, help=field.description)
        else:
            base = [a for a in typing.get_args(ann) if a is not type(None)] or [ann]
            kind = {int: int, float: float}.get(base[0], str)
            # Values are validated by the model (one clear line), not by click.
            opt = click.option(_flag(name), name, type=kind, default=None, help=field.description)
        fn = opt(fn)
    fn = click.option("--config", "config_path", type=click.Path(path_type=Path), default=None,
                      help="config file (default ./ddb-s3.toml or $DDB_S3_CONFIG)")(fn)
    fn = click.option("--profile", default=None, help="profile section of the config file")(fn)
    return fn


def _request(kw: dict[str, Any]) -> ExportRequest:
    config_path = kw.pop("config_path", None)
    profile = kw.pop("profile", None)
    return build_request(kw, config_path=config_path, profile=profile)


def location_options(fn: Callable) -> Callable:
    """The options of every command that reads an export: where it is, who owns the bucket, --json."""
    fn = click.option("--json", "as_json", is_flag=True, help="print the result as JSON")(fn)
    fn = click.option("--expected-bucket-owner", default=None, help="account id that must own the bucket")(fn)
    return click.option("--region", default=None, help="AWS region (default: the standard boto3 chain)")(fn)


def say(msg: str) -> None:
    err.print(msg, markup=False)


@click.group()
@click.version_option(package_name="ddb-s3")
def cli() -> None:
    """Back a DynamoDB table up to S3 (Spark or Hive on EMR, or the native export), then verify,
    download and restore it."""


@cli.command()
@request_options
@click.option("--dry-run", is_flag=True, help="print the plan and every rendered artifact; start nothing")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
@click.option("--work-dir", type=click.Path(path_type=Path), default=Path(".cache/runs"), help="local runner's folder for artifacts and logs")
def export(dry_run: bool, as_json: bool, work_dir: Path, **kw: Any) -> None:
    """Export a table to s3://bucket/prefix/AWSDynamoDB/<export-id>/."""
    from .emr_request import artifacts_root
    from .export import plan_export, run_export, verify_export

    request = _request(kw)
    plan = plan_export(request)
    show_plan(plan)
    if dry_run:
        from .render import Target, render_export

        target = Target.emr(artifacts_root(plan)) if request.runner == "emr" else Target(str(work_dir / plan.export_id), ["<local connector jars>"])
        print_rendered(render_export(plan, target))
        return
    result = run_export(plan, progress=say, work_dir=work_dir)
    # The native engine's export id is chosen by DynamoDB, so the runner's URI is the one to check.
    from .aws import Aws, S3WriteSettings

    report = verify_export(result.export_uri, Aws(request.region),
                           S3WriteSettings(request.expected_bucket_owner, request.sse, request.sse_kms_key_id))
    if not report.ok:
        raise DdbS3Error(f"export {result.export_uri} failed verification: {report.problems[0]}")
    export_id = result.result.get("exportId", plan.export_id)
    doc = {"exportUri": result.export_uri, "exportId": export_id, "itemCount": report.item_count,
           "dataFiles": len(report.files), "seconds": round(result.seconds, 1), "clusterId": result.cluster_id}
    if as_json:
        out.print(json.dumps(doc), markup=False)
    else:
        say(f"exported {report.item_count} items in {len(report.files)} files in {result.seconds:.1f}s")
        out.print(result.export_uri, markup=False)


def show_plan(plan) -> None:
    t = plan.table
    size = (f"{t['item_count']:,} items, {t['size_bytes']:,} bytes" if t["item_count"]
            else "size not yet counted: DescribeTable updates it about every 6 hours")
    say(f"plan: export {t['name']} ({size}, {t['billing_mode']}) with engine {plan.engine} ({plan.engine_reason})")
    if plan.engine == "spark":
        say(f"plan: reader {plan.reader}, {plan.segments} segments in {len(plan.segment_groups)} tasks, "
            f"read budget {plan.read_units_per_second:g} units/s"
            + (", consistent reads" if plan.request.consistent_read else ""))
    say(f"plan: runner {plan.request.runner}, estimate {plan.estimate_text}")
    say(f"plan: destination {plan.export_uri}")


def print_rendered(rendered) -> None:
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


@cli.command()
@request_options
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="folder to write the artifacts to")
def render(out_dir: Path, **kw: Any) -> None:
    """Write the job script, steps, bootstrap actions and RunJobFlow request for EMR."""
    from .emr_request import artifacts_root
    from .export import plan_export
    from .render import Target, render_export
    from .runners.local import write_artifacts

    plan = plan_export(_request(kw))
    rendered = render_export(plan, Target.emr(artifacts_root(plan)))
    write_artifacts(rendered, out_dir)
    (out_dir / "plan.json").write_text(plan.model_dump_json(indent=2) + "\n")
    say(f"rendered {len(rendered.files)} files and {len(rendered.steps)} steps into {out_dir}; "
        f"upload the files to {artifacts_root(plan)}/")


@cli.command()
@click.argument("where")
@location_options
def verify(where: str, region: str | None, expected_bucket_owner: str | None, as_json: bool) -> None:
    """Check an export (s3://... or a local folder): summary manifest, every file's MD5 and item count."""
    from .aws import Aws, S3WriteSettings
    from .export import verify_export

    report = verify_export(where, Aws(region), S3WriteSettings(expected_bucket_owner))
    if as_json:
        out.print(json.dumps({"location": report.location, "ok": report.ok, "itemCount": report.item_count,
                              "files": len(report.files), "problems": report.problems}), markup=False)
    if not report.ok:
        raise DdbS3Error(f"{report.location}: {len(report.problems)} problem(s): " + "; ".join(report.problems[:5]))
    if not as_json:
        say(f"ok: {report.location}: {report.item_count} items in {len(report.files)} files, all checksums match")


def _register_command_modules() -> None:
    """Commands of other areas live beside their code; each module adds itself to `cli`."""
    import importlib

    for name in ("cli_backup", "cli_emr", "cli_iam"):
        try:
            importlib.import_module(f"launcher.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"launcher.{name}":
                raise


def main(argv: list[str] | None = None) -> None:
    _register_command_modules()
    try:
        cli.main(args=argv, prog_name="ddb-s3", standalone_mode=False)
    except click.exceptions.Abort:
        say("ddb-s3: interrupted")
        sys.exit(130)
    except click.UsageError as e:
        say(f"ddb-s3: {e.format_message()}")
        sys.exit(2)
    except DdbS3Error as e:
        say(f"ddb-s3: {e}")
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        say("ddb-s3: interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
