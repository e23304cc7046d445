"""`ddb-s3 verify | download | restore | convert`: what happens to an export after it is written."""
from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import click

from launcher.cli.base import cli, err, location_options, out, say
from launcher.core.errors import DdbS3Error


@cli.command()
@click.argument("where")
@location_options
def verify(where: str, region: str | None, expected_bucket_owner: str | None, as_json: bool) -> None:
    """Check an export (s3://... or a local folder): summary manifest, every file's MD5 and item count."""
    from launcher.aws.session import Aws
    from launcher.core.s3args import S3WriteSettings
    from launcher.backup.verify import verify_export

    report = verify_export(where, Aws(region), S3WriteSettings(expected_bucket_owner))
    if as_json:
        out.print(json.dumps({"location": report.location, "ok": report.ok, "itemCount": report.item_count,
                              "files": len(report.files), "problems": report.problems}), markup=False)
    if not report.ok:
        raise DdbS3Error(f"{report.location}: {len(report.problems)} problem(s): " + "; ".join(report.problems[:5]))
    if not as_json:
        say(f"ok: {report.location}: {report.item_count} items in {len(report.files)} files, all checksums match")


@contextmanager
def _bar(label: str, unit_bytes: bool) -> Iterator[tuple | None]:
    """A rich progress bar on a terminal; None (plain lines instead) in logs and CI."""
    if not err.is_terminal:
        yield None
        return
    from rich.progress import (BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeRemainingColumn, TransferSpeedColumn)

    cols = [TextColumn(label), BarColumn()]
    cols += [DownloadColumn(), TransferSpeedColumn()] if unit_bytes else [MofNCompleteColumn()]
    with Progress(*cols, TimeRemainingColumn(), console=err, transient=False) as progress:
        task = progress.add_task(label, total=None)
        yield (lambda total: progress.update(task, total=total),
               lambda n: progress.advance(task, n),
               lambda done: progress.update(task, completed=done))


def _aws(region: str | None, owner: str | None):
    from launcher.aws.session import Aws
    from launcher.core.s3args import S3WriteSettings

    return Aws(region), S3WriteSettings(owner)


@cli.command()
@click.argument("source")
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--concurrency", type=int, default=8, show_default=True, help="parallel transfers (s3transfer threads)")
@location_options
def download(source: str, dest: Path, concurrency: int, region: str | None, expected_bucket_owner: str | None, as_json: bool) -> None:
    """Copy an export (s3://.../AWSDynamoDB/<export-id>/) to a local folder; every file is checked
    against its manifest; files already present with the right MD5 are kept (resumable)."""
    from launcher.backup.download import download as run

    aws, settings = _aws(region, expected_bucket_owner)
    with _bar("download", unit_bytes=True) as bar:
        result = run(source, dest, aws, settings, progress=say, concurrency=concurrency,
                     byte_progress=(bar[0], bar[1]) if bar else None)
    if as_json:
        out.print(json.dumps({"folder": str(result.folder), "kind": result.kind, "files": result.files,
                              "fetched": result.fetched, "kept": result.skipped, "items": result.items,
                              "bytes": result.bytes}), markup=False)


@cli.command()
@click.argument("source")
@click.option("--table", required=True, help="table to write into")
@click.option("--overwrite", is_flag=True, help="overwrite existing items (BatchWriteItem); default: never overwrite")
@click.option("--write-percent", type=float, default=0.5, show_default=True,
              help="fraction of the table's write capacity to use (on-demand: of --on-demand-write-units)")
@click.option("--on-demand-write-units", type=int, default=40000, show_default=True,
              help="write units assumed for an on-demand table (the connector's convention)")
@click.option("--create-table", is_flag=True, help="create the table from the export's recorded schema if it does not exist")
@click.option("--skipped-keys-file", type=click.Path(path_type=Path), default=None,
              help="write the keys not restored because they exist with other values here (JSON lines)")
@click.option("--checkpoint", type=click.Path(path_type=Path), default=None,
              help="progress file: run again with the same path to resume an interrupted restore")
@click.option("--concurrency", type=int, default=8, show_default=True, help="writer threads")
@click.option("--force", is_flag=True, help="restore into a non-empty table other than the one exported")
@click.option("--fail-on-skip", is_flag=True, help="exit 4 when keys were skipped (default: exit 0 and report the count)")
@click.option("--no-verify", is_flag=True, help="do not verify checksums and counts before writing")
@location_options
def restore(source: str, table: str, overwrite: bool, write_percent: float, on_demand_write_units: int,
            create_table: bool, skipped_keys_file: Path | None, checkpoint: Path | None, concurrency: int,
            force: bool, fail_on_skip: bool, no_verify: bool, region: str | None, expected_bucket_owner: str | None,
            as_json: bool) -> None:
    """Write an export (ours, native full or incremental, Data Pipeline; s3:// or a folder) into a
    table. Never overwrites unless --overwrite."""
    from launcher.backup.restore import RestoreOptions, SkippedKeys
    from launcher.backup.restore import restore as run

    if on_demand_write_units < 1:
        from launcher.core.errors import BadInput

        raise BadInput("--on-demand-write-units must be at least 1")
    aws, settings = _aws(region, expected_bucket_owner)
    opts = RestoreOptions(table=table, overwrite=overwrite, write_percent=write_percent, create_table=create_table,
                          skipped_keys_file=skipped_keys_file, checkpoint=checkpoint, force=force,
                          concurrency=concurrency, on_demand_write_units=on_demand_write_units,
                          verify_first=not no_verify, fail_on_skip=fail_on_skip)
    last = [0.0]

    with _bar("restore", unit_bytes=False) as bar:
        import time

        def on_progress(c) -> None:  # noqa: ANN001
            if bar:
                bar[2](c.done)
            elif time.monotonic() - last[0] > 5:
                last[0] = time.monotonic()
                say(f"restore: {c.done:,} items done ({c.written:,} written, {c.skipped:,} skipped)")

        result = run(source, opts, aws, settings, say=say, on_progress=on_progress)
    c = result.counts
    if as_json:
        out.print(json.dumps({"table": result.table, "kind": result.kind, "mode": result.mode, "written": c.written,
                              "skipped": c.skipped, "identical": c.identical, "deleted": c.deleted,
                              "consumedWriteUnits": round(c.consumed_wcu, 1), "retries": c.retries, "expectedItems": result.expected_items,
                              "skippedKeysFile": result.skipped_keys_file, "seconds": round(result.seconds, 1)}), markup=False)
    else:
        say(result.line())
    if c.skipped and fail_on_skip:
        raise SkippedKeys(f"{c.skipped} key(s) existed with other values and were not restored"
                          + (f" (listed in {result.skipped_keys_file})" if result.skipped_keys_file else ""))


@cli.command()
@click.argument("source")
@click.option("--to", "fmt", type=click.Choice(["jsonl", "csv", "parquet"]), required=True)
@click.option("--out", "out_path", required=True, help="output file (local path, or s3://bucket/key)")
@click.option("--columns", default=None, help="comma-separated attribute names (default: the union of all)")
@click.option("--glue-database", default=None, help="register the Parquet output in this Glue database (needs an s3:// --out)")
@click.option("--glue-table", default=None, help="Glue table name for --glue-database")
@location_options
def convert(source: str, fmt: str, out_path: str, columns: str | None, glue_database: str | None, glue_table: str | None,
            region: str | None, expected_bucket_owner: str | None, as_json: bool) -> None:
    """Convert an export to plain values: JSON lines, CSV or Parquet (numbers never become floats)."""
    from launcher.backup.convert import convert as run

    aws, settings = _aws(region, expected_bucket_owner)
    result = run(source, fmt, out_path, columns.split(",") if columns is not None else None, aws, settings,
                 glue_database, glue_table, say)
    if as_json:
        out.print(json.dumps({"out": result.out, "format": result.fmt, "items": result.items, "columns": result.columns,
                              "columnTypes": result.column_types, "glueTable": result.glue_table}), markup=False)
    else:
        say(f"wrote {result.items:,} items ({len(result.columns)} columns) to {result.out}"
            + (f"; Glue table {result.glue_table}" if result.glue_table else ""))
