"""`ddb-s3 exports list | show | prune`: the exports under one S3 prefix (issue 15)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

import click
from pydantic import Field, field_validator

from launcher.cli.base import build, cli, options, out, print_table
from launcher.core.errors import BadInput, DdbS3Error
from launcher.core.s3args import S3WriteSettings
from launcher.core.s3uri import S3Uri
from launcher.options import FLAG_ONLY, Options


def _duration(v: str | None) -> str | None:
    from launcher.backup.catalog import parse_duration

    if v is not None:
        try:
            parse_duration(v)
        except BadInput:
            raise ValueError("must be a duration like 30d, 24h, 30m or 0h") from None
    return v


class ExportsListOptions(Options):
    """`ddb-s3 exports list | show`: which table's exports."""

    table: str | None = Field(None, description="only this table's exports", json_schema_extra=FLAG_ONLY)


class PruneOptions(Options):
    """`ddb-s3 exports prune`: what goes is said on the command line only (no config file or variable)."""

    keep_last: int | None = Field(None, description="keep the N newest complete exports of each table", json_schema_extra=FLAG_ONLY)
    older_than: str | None = Field(
        None, description="delete complete exports older than this (30d, 12h), unless kept", json_schema_extra=FLAG_ONLY
    )
    grace: str = Field("24h", description="delete incomplete exports (killed runs) only once older than this")
    dry_run: bool = Field(False, description="print what would be deleted and stop", json_schema_extra=FLAG_ONLY)
    yes: bool = Field(False, description="delete without asking (on a terminal prune asks first)", json_schema_extra=FLAG_ONLY)
    table: str | None = Field(None, description="only this table's exports", json_schema_extra=FLAG_ONLY)

    @field_validator("keep_last")
    @classmethod
    def _keep_last(cls, v: int | None) -> int | None:
        if v is not None and v < 1:
            raise ValueError("must be at least 1 (the newest complete export is always kept)")
        return v

    @field_validator("older_than", "grace")
    @classmethod
    def _durations(cls, v: str | None) -> str | None:
        return _duration(v)


@cli.group()
def exports() -> None:
    """Find, inspect and prune the exports under an S3 prefix (s3://bucket/prefix)."""


def _setup(where: str, opts: Options) -> tuple[Any, S3Uri, S3WriteSettings]:
    from launcher.aws.session import Aws

    uri = S3Uri.parse(where, "exports location")
    return Aws(opts.region).client("s3"), uri, S3WriteSettings(opts.expected_bucket_owner)


def _when(ts: datetime | None) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if ts else "?"


def _print(line: str) -> None:
    out.print(line, markup=False)


@exports.command("list")
@click.argument("where")
@options(ExportsListOptions)
def list_(where: str, as_json: bool, **kw: Any) -> None:
    """Every export under s3://bucket/prefix, newest first: time, table, state, items, size, engine."""
    from launcher.backup.catalog import list_exports, size_text

    opts = build(ExportsListOptions, kw)
    s3, uri, settings = _setup(where, opts)
    entries = list_exports(s3, uri, settings, opts.table)
    if as_json:
        _print(json.dumps([e.as_json() for e in entries]))
        return
    if not entries:
        _print(f"no exports under {where}" + (f" for table {opts.table}" if opts.table else ""))
        return
    rows = [("time", "export id", "table", "state", "items", "size", "engine")]
    for e in entries:
        engine = (e.engine or "-") + (" incremental" if e.export_type == "INCREMENTAL_EXPORT" else "")
        items = f"{e.item_count:,}" if e.item_count is not None else "-"
        rows.append((_when(e.time), e.export_id, e.table or "-", e.state, items, size_text(e.data_bytes), engine))
    print_table(rows, right=(4, 5))


@exports.command()
@click.argument("where")
@click.argument("export_id", metavar="ID|latest")
@options(ExportsListOptions)
def show(where: str, export_id: str, as_json: bool, **kw: Any) -> None:
    """One export's details: by id (or a unique start of one), or `latest` (the newest complete one)."""
    from launcher.backup.catalog import exports_root, find_export, list_exports, read_export, size_text

    opts = build(ExportsListOptions, kw)
    s3, uri, settings = _setup(where, opts)
    root = exports_root(uri)
    if export_id == "latest" or len(export_id) < 23:  # a full id is 14 digits, '-', 8 hex: read that folder alone
        entry = find_export(list_exports(s3, uri, settings, opts.table), export_id, opts.table, f"s3://{uri.bucket}/{root}")
    else:
        entry = read_export(s3, uri.bucket, root, export_id.strip("/"), settings)
        if entry.objects == 0:
            raise BadInput(f"no export {export_id!r} under s3://{uri.bucket}/{root}")
    if as_json:
        _print(json.dumps({**entry.as_json(), "summary": entry.summary}))
        return
    fields = [
        ("export", entry.uri),
        ("id", entry.export_id),
        ("state", entry.state + (f" ({entry.problem})" if entry.problem else "")),
        ("time", _when(entry.time)),
        ("table", entry.table or "-"),
        ("items", f"{entry.item_count:,}" if entry.item_count is not None else "-"),
        ("data size", size_text(entry.data_bytes) + (" (in the shared AWSDynamoDB/data/)" if entry.data_bytes is None else "")),
        ("folder size", f"{size_text(entry.total_bytes)} in {entry.objects} objects"),
        ("engine", entry.engine or "-"),
        ("type", entry.export_type or "-"),
        ("written by", entry.tool or "-"),
    ]
    window = ((entry.summary or {}).get("ddbS3") or {}).get("readWindow") or {}
    if window.get("from"):
        fields.append(("items read", f"{window['from']} .. {window['to']}"))
    for name, value in fields:
        _print(f"{name + ':':13}{value}")


@exports.command()
@click.argument("where")
@options(PruneOptions)
def prune(where: str, as_json: bool, **kw: Any) -> None:
    """Delete whole exports: complete ones beyond --keep-last / older than --older-than (never the
    newest complete one of a table), incomplete ones older than --grace. Corrupt exports are only
    reported. The plan is printed first; --dry-run stops there."""
    from launcher.backup.catalog import delete_export, list_exports, parse_duration, plan_prune, size_text

    opts = build(PruneOptions, kw)
    s3, uri, settings = _setup(where, opts)
    entries = list_exports(s3, uri, settings)
    plan = plan_prune(
        entries,
        datetime.now(UTC),
        keep_last=opts.keep_last,
        older_than=parse_duration(opts.older_than, "--older-than") if opts.older_than else None,
        grace=parse_duration(opts.grace, "--grace"),
        table=opts.table,
    )
    doc: dict[str, Any] = {
        "dryRun": opts.dry_run,
        "delete": [{**d.entry.as_json(), "reason": d.reason} for d in plan.delete],
        "keep": [{**d.entry.as_json(), "reason": d.reason} for d in plan.keep],
        "corrupt": [{**d.entry.as_json(), "reason": d.reason} for d in plan.corrupt],
        "deleted": [],
        "deletedBytes": 0,
    }
    if not as_json:
        verb = "would delete" if opts.dry_run else "will delete"
        for d in plan.delete:
            _print(f"{verb}: {d.entry.uri} ({d.entry.table or '-'}, {_when(d.entry.time)}, {size_text(d.entry.total_bytes)}): {d.reason}")
        for d in plan.corrupt:
            _print(f"not deleting: {d.entry.uri}: {d.reason}")
        _print(
            f"plan: delete {len(plan.delete)} export(s), {size_text(plan.bytes)}; keep {len(plan.keep)}"
            + (f"; {len(plan.corrupt)} corrupt left alone" if plan.corrupt else "")
        )
    if opts.dry_run or not plan.delete:
        if as_json:
            _print(json.dumps(doc))
        return
    # On a terminal a person is there to say yes; a script (no terminal) said what to delete in its flags.
    if (
        not opts.yes
        and sys.stdin.isatty()
        and not click.confirm(f"delete {len(plan.delete)} export(s), {size_text(plan.bytes)}?", default=False, err=True)
    ):
        raise DdbS3Error("prune cancelled: nothing deleted (--yes deletes without asking)")
    objects = 0
    for d in plan.delete:
        n, size = delete_export(s3, d.entry, settings)
        objects += n
        doc["deletedBytes"] += size
        doc["deleted"].append(d.entry.uri)
        if not as_json:
            _print(f"deleted: {d.entry.uri} ({n} object{'' if n == 1 else 's'}, {size_text(size)})")
    if as_json:
        _print(json.dumps(doc))
    else:
        _print(f"deleted {len(doc['deleted'])} export(s): {objects} objects, {size_text(doc['deletedBytes'])}")
