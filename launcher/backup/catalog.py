"""The exports under one S3 prefix: find them, say which are whole, resolve `latest`, and plan and
carry out a prune (issue 15; docs/backup.md, "Finding and pruning exports").

Export folders are found with one delimited listing of `<prefix>/AWSDynamoDB/`; each folder is then
listed once (keys and sizes) and only its `manifest-summary.json` (and that file's `.md5` or
`.checksum`) is read: never a data file. The state of an export:

* ``complete``   -- the summary is there, is a JSON object, and matches its checksum file when present;
* ``incomplete`` -- no summary: a run that was killed or is still running (only `_started`, data);
* ``corrupt``    -- a summary that is not JSON, or does not match its checksum file.

Deciding what a prune deletes is pure (:func:`plan_prune` over the listed exports); the S3 side is
thin. Deleting removes every key under one export folder and nothing else: never the shared
`AWSDynamoDB/data/` of incremental exports.

This module imports neither launcher.backup.storage nor formats: storage.open_location calls
:func:`resolve_export_uri`, so every command that takes an export accepts `.../latest`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from launcher.aws.errors import s3_error
from launcher.aws.session import Aws
from launcher.core.errors import BadInput, DdbS3Error, IncompleteExport
from launcher.core.layout import ARTIFACTS_DIR, DATA_DIR, MANIFEST_SUMMARY, STARTED, SUMMARY_CHECKSUMS, ddb_s3_fields, md5_b64
from launcher.core.s3args import S3WriteSettings
from launcher.core.s3uri import S3Uri

ROOT = "AWSDynamoDB"
LATEST = "latest"
COMPLETE, INCOMPLETE, CORRUPT = "complete", "incomplete", "corrupt"
DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys
FOLDERS_IN_PARALLEL = 8  # export folders listed and read at once
_ID_TIME = re.compile(r"^(\d{14})-")  # layout.new_export_id, and DynamoDB's own ExportId
_DURATION = re.compile(r"^\s*(\d+)\s*([dhms])\s*$")


@dataclass(frozen=True)
class StoredObject:
    """One object of an export folder, its key relative to the folder."""

    key: str
    size: int
    modified: datetime | None = None


@dataclass
class ExportEntry:
    """One export folder as a listing and its summary show it."""

    export_id: str
    uri: str  # s3://bucket/<prefix>/AWSDynamoDB/<export-id>/
    state: str  # complete | incomplete | corrupt
    time: datetime | None  # from the id (epoch ms), else the summary's startTime, else _started
    table: str | None = None
    item_count: int | None = None
    data_bytes: int | None = None  # the folder's data/ objects; None for incremental exports (shared data/)
    total_bytes: int = 0  # every object in the folder: what deleting it frees
    objects: int = 0
    engine: str | None = None  # spark | hive | native | ...
    export_type: str | None = None  # FULL_EXPORT | INCREMENTAL_EXPORT
    tool: str | None = None  # ddb-s3 | dynamodb
    problem: str | None = None  # why corrupt or incomplete
    summary: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def group(self) -> tuple[str | None, str | None]:
        """Prune keeps exports per table and type: the newest full export is never the victim of a
        newer incremental one, which alone restores nothing."""
        return (self.table, self.export_type)

    def as_json(self) -> dict[str, Any]:
        return {
            "exportId": self.export_id,
            "uri": self.uri,
            "state": self.state,
            "time": _iso(self.time),
            "table": self.table,
            "itemCount": self.item_count,
            "dataBytes": self.data_bytes,
            "totalBytes": self.total_bytes,
            "objects": self.objects,
            "engine": self.engine,
            "exportType": self.export_type,
            "tool": self.tool,
            "problem": self.problem,
        }


def _iso(ts: datetime | None) -> str | None:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if ts else None


def parse_duration(text: str, what: str = "duration") -> timedelta:
    """'30d', '24h', '30m' or '90s' (whole days, hours, minutes or seconds)."""
    m = _DURATION.match(text or "")
    if not m:
        raise BadInput(f"{what} {text!r} is not a duration like 30d, 24h, 30m or 0h")
    unit = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}[m.group(2)]
    return timedelta(**{unit: int(m.group(1))})


def id_time(export_id: str) -> datetime | None:
    """The time an export id starts with: 14 digits of epoch milliseconds."""
    m = _ID_TIME.match(export_id)
    if not m:
        return None
    try:
        return datetime.fromtimestamp(int(m.group(1)) / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _summary_time(summary: dict[str, Any] | None) -> datetime | None:
    for key in ("startTime", "exportTime"):
        value = (summary or {}).get(key)
        if isinstance(value, str):
            try:
                ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            return ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    return None


def describe(
    export_id: str,
    uri: str,
    objects: Iterable[StoredObject],
    summary_raw: bytes | None,
    checksum_raw: bytes | None,
    uploads: Iterable[StoredObject] = (),
) -> ExportEntry:
    """An export's entry from its folder's listing, its summary's bytes (None: absent), the bytes
    of the summary's checksum file (None: absent) and the listing of its run's uploads
    (<prefix>/_ddb_s3_artifacts/<id>/, which prune deletes with it). Pure."""
    objects, uploads = list(objects), list(uploads)
    data = [o for o in objects if o.key.startswith(DATA_DIR + "/")]
    started = next((o.modified for o in objects if o.key == STARTED and o.modified), None)
    earliest = min((o.modified for o in objects if o.modified), default=None)
    entry = ExportEntry(
        export_id,
        uri,
        INCOMPLETE,
        id_time(export_id),
        data_bytes=sum(o.size for o in data),
        total_bytes=sum(o.size for o in (*objects, *uploads)),
        objects=len(objects) + len(uploads),
    )
    if summary_raw is None:
        entry.problem = f"no {MANIFEST_SUMMARY}: the run was killed or is still running"
        if not objects:
            entry.problem = f"only its run's uploads ({ARTIFACTS_DIR}/{export_id}/): the run ended, or is, before its first write"
        entry.time = entry.time or started or earliest or min((o.modified for o in uploads if o.modified), default=None)
        return entry
    entry.state = CORRUPT
    want = (checksum_raw or b"").decode(errors="replace").strip()
    try:
        summary = json.loads(summary_raw)
    except ValueError:
        summary = None
    if not isinstance(summary, dict):
        entry.problem = f"{MANIFEST_SUMMARY} is not a JSON object"
    elif want and md5_b64(summary_raw) != want:
        entry.problem = f"{MANIFEST_SUMMARY} does not match its checksum file"
    else:
        entry.state = COMPLETE
    if isinstance(summary, dict):
        entry.summary = summary
        ours = ddb_s3_fields(summary)
        entry.tool = "ddb-s3" if ours.get("tool") == "ddb-s3" else "dynamodb"
        entry.table = ours.get("tableName") if entry.tool == "ddb-s3" else None
        if not entry.table and isinstance(summary.get("tableArn"), str):
            entry.table = summary["tableArn"].split(":table/", 1)[-1].split("/", 1)[0] or None
        entry.export_type = str(summary.get("exportType") or "FULL_EXPORT")
        entry.engine = str(ours.get("engine") or "spark") if entry.tool == "ddb-s3" else "native"
        count = summary.get("itemCount")
        entry.item_count = int(count) if isinstance(count, int | float) else None
        if entry.export_type == "INCREMENTAL_EXPORT" and entry.tool != "ddb-s3":
            entry.data_bytes = None  # DynamoDB's keeps its data in the shared AWSDynamoDB/data/, not in this folder (ours does)
    entry.time = entry.time or _summary_time(summary if isinstance(summary, dict) else None) or started or earliest
    return entry


def newest_first(entries: Iterable[ExportEntry]) -> list[ExportEntry]:
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(entries, key=lambda e: (e.time or epoch, e.export_id), reverse=True)


# --------------------------------------------------------------------------- prune planning (pure)


@dataclass(frozen=True)
class Decision:
    entry: ExportEntry
    reason: str


@dataclass
class PrunePlan:
    delete: list[Decision] = field(default_factory=list)
    keep: list[Decision] = field(default_factory=list)
    corrupt: list[Decision] = field(default_factory=list)  # reported, never deleted

    @property
    def bytes(self) -> int:
        return sum(d.entry.total_bytes for d in self.delete)


def plan_prune(
    entries: Iterable[ExportEntry],
    now: datetime,
    keep_last: int | None = None,
    older_than: timedelta | None = None,
    grace: timedelta = timedelta(hours=24),
    table: str | None = None,
) -> PrunePlan:
    """What a prune deletes, and why each export stays.

    Complete exports, per table and export type, newest first: the newest is always kept, whatever
    the flags; with `keep_last` the N newest are kept; with `older_than` those younger than that are
    kept. Any other complete export is deleted only when a rule asked for it (no rule: none is).
    Incomplete exports are deleted once older than `grace` (their id or _started time); one without
    a known time is kept. Corrupt exports are reported and never deleted. With `table`, only that
    table's exports are considered (incomplete ones name no table and are left alone)."""
    plan = PrunePlan()
    cutoff = now - older_than if older_than is not None else None
    groups: dict[tuple[str | None, str | None], list[ExportEntry]] = {}
    for e in newest_first(entries):
        if table is not None and e.table != table:
            continue
        if e.state == CORRUPT:
            plan.corrupt.append(Decision(e, f"corrupt ({e.problem}): never deleted by prune; look at it, then delete it by hand"))
        elif e.state == INCOMPLETE:
            if e.time is None:
                plan.keep.append(Decision(e, "incomplete, its age unknown"))
            elif now - e.time > grace:
                plan.delete.append(Decision(e, f"incomplete, started {_age(now - e.time)} ago (grace {_age(grace)})"))
            else:
                plan.keep.append(Decision(e, f"incomplete, within the grace period of {_age(grace)} (may still be running)"))
        else:
            groups.setdefault(e.group, []).append(e)
    for members in groups.values():
        for rank, e in enumerate(members):  # newest first
            if rank == 0:
                plan.keep.append(Decision(e, "the newest complete export of its table: never deleted"))
            elif keep_last is not None and rank < keep_last:
                plan.keep.append(Decision(e, f"among the {keep_last} newest complete exports"))
            elif cutoff is not None and (e.time is None or e.time > cutoff):
                plan.keep.append(Decision(e, f"younger than {_age(older_than)}" if e.time else "its age unknown"))
            elif keep_last is None and cutoff is None:
                plan.keep.append(Decision(e, "no --keep-last or --older-than given"))
            else:
                why = [
                    f"beyond the {keep_last} newest" if keep_last is not None else "",
                    f"older than {_age(older_than)}" if cutoff else "",
                ]
                plan.delete.append(Decision(e, "complete, " + " and ".join(w for w in why if w)))
    plan.keep.sort(key=lambda d: _order(d.entry))
    plan.delete.sort(key=lambda d: _order(d.entry))
    return plan


def _order(e: ExportEntry) -> tuple[float, str]:
    return (-(e.time.timestamp() if e.time else 0.0), e.export_id)


def _age(delta: timedelta | None) -> str:
    if delta is None:
        return "?"
    hours = int(delta.total_seconds() // 3600)
    return f"{hours // 24}d" if hours >= 48 and hours % 24 == 0 else (f"{hours // 24}d{hours % 24}h" if hours >= 48 else f"{hours}h")


def size_text(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


# --------------------------------------------------------------------------- the S3 side


def exports_root(where: S3Uri) -> str:
    """`<prefix>/AWSDynamoDB/` of an s3://bucket/prefix (or of .../AWSDynamoDB itself)."""
    key = where.key.strip("/")
    if key == ROOT or key.endswith("/" + ROOT):
        return key + "/"
    return (key + "/" if key else "") + ROOT + "/"


def _folder_ids(s3: Any, bucket: str, root: str, settings: S3WriteSettings) -> list[str]:
    """The folders directly under `root`: <prefix>/AWSDynamoDB/'s exports (not the shared data/), or
    <prefix>/_ddb_s3_artifacts/'s runs."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=root, Delimiter="/", **settings.read_args())
    try:
        found = [p["Prefix"][len(root) :].rstrip("/") for page in pages for p in page.get("CommonPrefixes", [])]
    except ClientError as e:
        raise s3_error(e, bucket, root, "ListBucket") from None
    return [i for i in found if i and i != DATA_DIR]


def _list_folder(s3: Any, bucket: str, folder: str, settings: S3WriteSettings) -> list[StoredObject]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=folder, **settings.read_args())
    try:
        return [
            StoredObject(o["Key"][len(folder) :], int(o.get("Size", 0)), o.get("LastModified"))
            for page in pages
            for o in page.get("Contents", [])
            if o["Key"].startswith(folder)
        ]
    except ClientError as e:
        raise s3_error(e, bucket, folder, "ListBucket") from None


def _get(s3: Any, bucket: str, key: str, settings: S3WriteSettings) -> bytes:
    try:
        return bytes(s3.get_object(Bucket=bucket, Key=key, **settings.read_args())["Body"].read())
    except ClientError as e:
        raise s3_error(e, bucket, key, "GetObject") from None


def uploads_root(root: str) -> str:
    """<prefix>/_ddb_s3_artifacts/ beside <prefix>/AWSDynamoDB/: where the cloud runners upload a run's files."""
    return root[: -len(ROOT + "/")] + ARTIFACTS_DIR + "/"


def read_export(s3: Any, bucket: str, root: str, export_id: str, settings: S3WriteSettings) -> ExportEntry:
    """One listing of the export folder and one of its run's uploads, then its summary and the
    summary's checksum file."""
    folder = f"{root}{export_id}/"
    objects = _list_folder(s3, bucket, folder, settings)
    uploads = _list_folder(s3, bucket, f"{uploads_root(root)}{export_id}/", settings)
    keys = {o.key for o in objects}
    summary = _get(s3, bucket, folder + MANIFEST_SUMMARY, settings) if MANIFEST_SUMMARY in keys else None
    checksum_name = next((n for n in SUMMARY_CHECKSUMS if n in keys), None)
    checksum = _get(s3, bucket, folder + checksum_name, settings) if summary is not None and checksum_name else None
    return describe(export_id, f"s3://{bucket}/{folder}", objects, summary, checksum, uploads)


def list_exports(s3: Any, where: S3Uri, settings: S3WriteSettings, table: str | None = None) -> list[ExportEntry]:
    """Every export under s3://bucket/prefix, newest first, with the runs that left only their
    uploads (interrupted before their first write: incomplete exports too, so prune finds them);
    with `table`, that table's only."""
    root = exports_root(where)
    ids = _folder_ids(s3, where.bucket, root, settings)
    ids += [i for i in _folder_ids(s3, where.bucket, uploads_root(root), settings) if i not in ids and id_time(i)]
    with ThreadPoolExecutor(FOLDERS_IN_PARALLEL) as pool:
        entries = list(pool.map(lambda i: read_export(s3, where.bucket, root, i, settings), ids))
    return newest_first(e for e in entries if table is None or e.table == table)


def find_export(entries: list[ExportEntry], which: str, table: str | None = None, where: str = "") -> ExportEntry:
    """An export by id (or a unique start of one), or `latest`: the newest complete one."""
    if which == LATEST:
        return latest(entries, table, where)
    hits = [e for e in entries if e.export_id == which] or [e for e in entries if e.export_id.startswith(which)]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise BadInput(f"no export {which!r} under {where}" + (f" for table {table}" if table else ""))
    raise BadInput(f"{which!r} matches {len(hits)} exports under {where}: " + ", ".join(e.export_id for e in hits[:5]))


def latest(entries: list[ExportEntry], table: str | None = None, where: str = "", table_flag: str = "--table") -> ExportEntry:
    """The newest complete export (of `table`); refused when exports of several tables are complete
    and none is named (`table_flag`: the flag that names it in the command at hand)."""
    complete = [e for e in newest_first(entries) if e.state == COMPLETE and (table is None or e.table == table)]
    if not complete:
        raise IncompleteExport(f"no complete export under {where}" + (f" for table {table}" if table else ""))
    tables = sorted({e.table or "?" for e in complete})
    if table is None and len(tables) > 1:
        raise BadInput(f"'latest' under {where} is ambiguous: complete exports of tables {', '.join(tables)}; name one with {table_flag} T")
    return complete[0]


def split_latest(uri: str) -> S3Uri | None:
    """s3://bucket/prefix/latest or s3://bucket/prefix/AWSDynamoDB/latest -> s3://bucket/prefix;
    None when the URI does not end in 'latest'."""
    if not uri.startswith("s3://"):
        return None
    parsed = S3Uri.parse(uri, "export location")
    key = parsed.key.strip("/")
    if key.rsplit("/", 1)[-1] != LATEST:
        return None
    base = key[: -len(LATEST)].rstrip("/")
    return S3Uri(parsed.bucket, base)


def resolve_export_uri(uri: str, aws: Aws | None = None, settings: S3WriteSettings | None = None, table: str | None = None) -> str:
    """The folder of the newest complete export (of `table`) for `.../latest`; any other URI unchanged
    (`table` names which of several tables' exports `latest` means; with one export's URI it is refused)."""
    base = split_latest(uri)
    if base is None:
        if table is not None:
            raise BadInput(f"--source-table picks the table of s3://.../latest; {uri} names one export: drop --source-table")
        return uri
    settings = settings or S3WriteSettings()
    s3 = (aws or Aws()).client("s3")
    where = f"s3://{base.bucket}/{exports_root(base)}"
    return latest(list_exports(s3, base, settings, table), table, where, "--source-table").uri


def delete_export(s3: Any, entry: ExportEntry, settings: S3WriteSettings, on_batch: Callable[[int], None] | None = None) -> tuple[int, int]:
    """Every key under the export's folder, then under its run's artifacts folder beside it
    (<prefix>/_ddb_s3_artifacts/<export-id>/: scripts, jars, a Glue run's 14 MB), in DeleteObjects
    batches of 1000; nothing outside them. Returns (objects, bytes) deleted. Artifacts uploaded under
    another --artifacts-uri are not found here."""
    where = S3Uri.parse(entry.uri, "export folder")
    folder = where.key.rstrip("/") + "/"
    parts = folder.rstrip("/").split("/")
    if len(parts) < 2 or parts[-2] != ROOT or parts[-1] in ("", DATA_DIR, LATEST) or parts[-1] != entry.export_id:
        raise BadInput(f"{entry.uri} is not an export folder <prefix>/AWSDynamoDB/<export-id>/: not deleting it")
    artifacts = "/".join([*parts[:-2], ARTIFACTS_DIR, entry.export_id]) + "/"
    deleted = size = 0
    for under in (folder, artifacts):  # the export first: a prune stopped midway leaves no export without its reason
        objects = _list_folder(s3, where.bucket, under, settings)
        for start in range(0, len(objects), DELETE_BATCH):
            batch = objects[start : start + DELETE_BATCH]
            keys = [{"Key": under + o.key} for o in batch]
            assert all(k["Key"].startswith(under) for k in keys)
            try:
                answer = s3.delete_objects(Bucket=where.bucket, Delete={"Objects": keys, "Quiet": True}, **settings.read_args())
            except ClientError as e:
                raise s3_error(e, where.bucket, under, "DeleteObject") from None
            errors = answer.get("Errors") or []
            if errors:
                first = errors[0]
                raise DdbS3Error(
                    f"{entry.uri}: {len(errors)} object(s) not deleted ({first.get('Code')} on {first.get('Key')}: {first.get('Message')}); "
                    f"{deleted} deleted so far; run prune again"
                )
            deleted += len(batch)
            size += sum(o.size for o in batch)
            if on_batch:
                on_batch(len(batch))
    return deleted, size
