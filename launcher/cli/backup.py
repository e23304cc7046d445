"""`ddb-s3 verify | download | restore | convert`: what happens to an export after it is written."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from launcher.cli.base import build, cli, options, out, say
from launcher.cli.progress import progress_bar
from launcher.core.errors import IncompleteExport
from launcher.core.s3args import S3WriteSettings
from launcher.core.words import count
from launcher.options import ConvertOptions, DownloadOptions, ExportSourceOptions, Options, RestoreOptions, VerifyOptions

if TYPE_CHECKING:
    from launcher.aws.session import Aws


def _aws(opts: Options) -> tuple[Aws, S3WriteSettings]:
    from launcher.aws.session import Aws

    return Aws(opts.region), S3WriteSettings(opts.expected_bucket_owner)


def _export_at(where: str, opts: ExportSourceOptions, aws: Aws, settings: S3WriteSettings) -> str:
    """`where` with s3://.../latest resolved to one export's folder (of --source-table), said once."""
    from launcher.backup.catalog import resolve_export_uri

    resolved = resolve_export_uri(where, aws, settings, opts.source_table)
    if resolved != where:
        say(f"latest: {resolved}")
    return resolved


@cli.command()
@click.argument("where")
@options(VerifyOptions)
def verify(where: str, as_json: bool, **kw: Any) -> None:
    """Check an export (s3://... or a local folder): summary manifest, every file's MD5 and item count."""
    from launcher.backup.formats import checks_for
    from launcher.backup.verify import verify_export

    opts = build(VerifyOptions, kw)
    aws, settings = _aws(opts)
    report = verify_export(_export_at(where, opts, aws, settings), aws, settings, deep=opts.deep)
    checks = checks_for(report.kind, report.summary)
    # what was compared: S3's stored checksums, every file read back, or what a format without checksums allows
    checked = report.checked if checks.checksums else f"({checks.label}); checked: {checks.checked}; not checkable: {checks.unchecked}"
    if as_json:
        out.print(
            json.dumps(
                {
                    "location": report.location,
                    "ok": report.ok,
                    "itemCount": report.item_count,
                    "files": len(report.files),
                    "deep": report.deep,
                    "checked": checked,
                    "read": report.read_window,
                    "problems": report.problems,
                }
            ),
            markup=False,
        )
    if not report.ok:
        raise IncompleteExport(f"{report.location}: {len(report.problems)} problem(s): " + "; ".join(report.problems[:5]))
    if not as_json:
        say(
            f"ok: {report.location}: {count(report.item_count, 'item')} in {count(len(report.files), 'file')}"
            + ("; " if checks.checksums else " ")
            + checked
            + (f"; {report.read_window}" if report.read_window else "")
        )


@cli.command()
@click.argument("source")
@click.argument("dest", type=click.Path(path_type=Path))
@options(DownloadOptions)
def download(source: str, dest: Path, as_json: bool, **kw: Any) -> None:
    """Copy an export (s3://.../AWSDynamoDB/<export-id>/) to a local folder; every file is checked
    against its manifest; files already present with the right MD5 are kept (resumable)."""
    from launcher.backup.download import download as run

    opts = build(DownloadOptions, kw)
    aws, settings = _aws(opts)
    source = _export_at(source, opts, aws, settings)
    with progress_bar("download", unit_bytes=True) as bar:
        result = run(
            source, dest, aws, settings, progress=say, concurrency=opts.concurrency, byte_progress=(bar[0], bar[1]) if bar else None
        )
    if as_json:
        out.print(
            json.dumps(
                {
                    "folder": str(result.folder),
                    "kind": result.kind,
                    "files": result.files,
                    "fetched": result.fetched,
                    "kept": result.skipped,
                    "items": result.items,
                    "bytes": result.bytes,
                }
            ),
            markup=False,
        )


@cli.command()
@click.argument("source")
@options(RestoreOptions)
def restore(source: str, as_json: bool, **kw: Any) -> None:
    """Write an export (ours, native full or incremental, Data Pipeline; s3:// or a folder) into a
    table. Never overwrites unless --overwrite."""
    from launcher.backup.restore import Counts, SkippedKeys
    from launcher.backup.restore import restore as run

    opts = build(RestoreOptions, kw)
    aws, settings = _aws(opts)
    aws.region_name  # noqa: B018 - the table's region is needed: say so before reading the export
    source = _export_at(source, opts, aws, settings)
    last = [time.monotonic()]  # the first plain progress line after 5 s, not at the first batch

    with progress_bar("restore", unit_bytes=False) as bar:

        def on_progress(c: Counts) -> None:
            if bar:
                bar[2](c.done)
            elif time.monotonic() - last[0] > 5:
                last[0] = time.monotonic()
                say(f"restore: {c.done:,} item{'' if c.done == 1 else 's'} done ({c.written:,} written, {c.skipped:,} skipped)")

        result = run(source, opts, aws, settings, say=say, on_progress=on_progress)
    c = result.counts
    if as_json:
        out.print(
            json.dumps(
                {
                    "table": result.table,
                    "kind": result.kind,
                    "mode": result.mode,
                    "written": c.written,
                    "skipped": c.skipped,
                    "identical": c.identical,
                    "deleted": c.deleted,
                    "consumedWriteUnits": round(c.consumed_wcu, 1),
                    "retries": c.retries,
                    "expectedItems": result.expected_items,
                    "skippedKeysFile": result.skipped_keys_file,
                    "seconds": round(result.seconds, 1),
                }
            ),
            markup=False,
        )
    else:
        say(result.line())
    if c.skipped and opts.fail_on_skip:
        raise SkippedKeys(
            f"{c.skipped} key(s) existed with other values and were not restored"
            + (f" (listed in {result.skipped_keys_file})" if result.skipped_keys_file else "")
        )


@cli.command()
@click.argument("source")
@options(ConvertOptions)
def convert(source: str, as_json: bool, **kw: Any) -> None:
    """Convert an export to plain values: JSON lines, CSV or Parquet (numbers never become floats)."""
    from launcher.backup.convert import convert as run

    opts = build(ConvertOptions, kw)
    aws, settings = _aws(opts)
    source = _export_at(source, opts, aws, settings)
    result = run(
        source,
        opts.format,
        opts.out,
        opts.columns.split(",") if opts.columns is not None else None,
        aws,
        settings,
        opts.glue_database,
        opts.glue_table,
        say,
    )
    if as_json:
        out.print(
            json.dumps(
                {
                    "out": result.out,
                    "format": result.fmt,
                    "items": result.items,
                    "columns": result.columns,
                    "columnTypes": result.column_types,
                    "glueTable": result.glue_table,
                }
            ),
            markup=False,
        )
    else:
        say(
            f"wrote {result.items:,} item{'' if result.items == 1 else 's'} "
            f"({len(result.columns)} {'attributes' if result.fmt == 'jsonl' else 'columns'}) to {result.out}"
            + (f"; Glue table {result.glue_table}" if result.glue_table else "")
        )
