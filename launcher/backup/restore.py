"""restore: write an export's items into a DynamoDB table.

Default mode (put-if-absent): one PutItem per item with ``ConditionExpression
attribute_not_exists(#h)`` (``#h`` = the table's hash key, via ExpressionAttributeNames). An item
whose key already exists is never overwritten; ConditionalCheckFailedException is never retried.
The existing item is then read (consistent GetItem): if it equals the backup's item it counts as
``identical`` (e.g. restored by an earlier, interrupted run), otherwise as ``skipped`` and its key
is listed in the skipped-keys file (JSON lines).

``overwrite=True``: BatchWriteItem in 25s (puts overwrite; an incremental export's deletes are
DeleteRequests), UnprocessedItems retried with jittered exponential backoff.

Both modes: a write-capacity budget (write_percent of the table's WCU; on-demand tables: of an
assumed 40000 units, the connector's convention) debited with the ConsumedCapacity DynamoDB returns;
throttling retried with full-jitter backoff; worker threads; a checkpoint file (per data file: the
first line not yet done plus done ranges beyond it, written atomically) so an interrupted restore
started again resumes where it stopped and ends with the same table.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from launcher.aws.json_body import json_body, send_json_bodies
from launcher.aws.session import Aws
from launcher.backup.formats import ExportSource, Record, detect, iter_records
from launcher.backup.storage import open_location
from launcher.core.budget import TokenBucket
from launcher.core.codec import item_key, items_equal, wire_to_json
from launcher.core.errors import BadInput, DdbS3Error, IncompleteExport
from launcher.core.paths import RESTORES_DIR_ENV, user_cache
from launcher.core.retries import retries_of
from launcher.core.s3args import S3WriteSettings
from launcher.options import RestoreOptions

BATCH = 25
THROTTLING = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
    "TransactionConflictException",
}
MAX_ATTEMPTS = 12


class SkippedKeys(DdbS3Error):
    """--fail-on-skip: the restore finished, but some keys already existed with other values."""

    exit_code = 4


@dataclass
class Counts:
    written: int = 0  # items put (or overwritten)
    skipped: int = 0  # put-if-absent: key existed with a different item; listed in the skipped-keys file
    identical: int = 0  # put-if-absent: key existed with this very item
    deleted: int = 0  # overwrite + incremental export: deletes applied
    consumed_wcu: float = 0.0
    retries: int = 0  # requests sent again: throttling, 5xx (botocore and ours), unprocessed batch items

    @property
    def done(self) -> int:
        return self.written + self.skipped + self.identical + self.deleted


@dataclass
class RestoreResult:
    table: str
    kind: str
    mode: str
    counts: Counts
    expected_items: int | None
    seconds: float
    resumed: bool
    skipped_keys_file: str | None
    write_units_per_second: float

    def line(self) -> str:
        c = self.counts
        parts = [f"restored {c.written:,} items into {self.table}"]
        if self.mode == "put-if-absent":
            parts.append(
                f"skipped {c.skipped:,} existing keys with other values"
                + (f" (listed in {self.skipped_keys_file})" if c.skipped and self.skipped_keys_file else "")
            )
            if c.identical:
                parts.append(f"{c.identical:,} already present and identical")
        if c.deleted:
            parts.append(f"deleted {c.deleted:,}")
        if c.retries:
            parts.append(f"{c.retries:,} requests retried after throttling or errors")
        return ", ".join(parts) + f" in {self.seconds:.1f}s ({c.consumed_wcu:,.0f} write units)"


# --------------------------------------------------------------------------- checkpoint


class Checkpoint:
    """Per data file: `next` (every line before it is done), `extra` done ranges beyond it, `total`
    lines once the file was read to its end. Saved atomically (temp file, fsync, rename)."""

    def __init__(self, path: Path | None, identity: dict[str, Any]) -> None:
        self.path = path
        self.identity = identity
        self.files: dict[str, dict[str, Any]] = {}
        self.counts = Counts()
        self.resumed = False  # an interrupted run of this restore: go on where it stopped
        self.done_before = False  # this restore ran to its end before: a new full pass (put-if-absent keeps all)
        self._last_save = 0.0
        if path and path.exists():
            try:
                data = json.loads(path.read_text())
            except ValueError:
                raise BadInput(f"checkpoint {path} is not valid JSON: delete it to start over") from None
            mismatch = [k for k, v in identity.items() if data.get(k) != v]
            if mismatch:
                raise BadInput(
                    f"checkpoint {path} belongs to another restore ({', '.join(mismatch)} differ): "
                    "use another --checkpoint path or delete it"
                )
            if data.get("complete"):
                self.done_before = True
            else:
                self.files = data.get("files", {})
                self.counts = Counts(**data.get("counts", {}))
                self.resumed = True

    def file(self, key: str) -> dict[str, Any]:
        return self.files.setdefault(key, {"next": 0, "extra": [], "total": None})

    def is_done_line(self, key: str, line: int) -> bool:
        st = self.file(key)
        return line < st["next"] or any(a <= line < b for a, b in st["extra"])

    def file_done(self, key: str) -> bool:
        st = self.file(key)
        return st["total"] is not None and st["next"] >= st["total"]

    def mark(self, key: str, first: int, end: int) -> None:
        st = self.file(key)
        ranges = sorted(st["extra"] + [[first, end]])
        merged: list[list[int]] = []
        nxt = st["next"]
        for a, b in ranges:
            if a <= nxt:
                nxt = max(nxt, b)
            elif merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        # a range merged into `extra` may now touch `next`
        while merged and merged[0][0] <= nxt:
            nxt = max(nxt, merged.pop(0)[1])
        st["next"], st["extra"] = nxt, merged

    def save(self, force: bool = False, complete: bool = False) -> None:
        if not self.path or (not force and time.monotonic() - self._last_save < 0.5):
            return
        self._last_save = time.monotonic()
        doc = dict(self.identity, files=self.files, counts=asdict(self.counts), savedAt=time.time(), complete=complete)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name + ".", suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


# --------------------------------------------------------------------------- capacity budget


def item_size_units(rec: Record) -> float:
    """Write units to reserve before a write (1 KB each); settled later with ConsumedCapacity.
    From the line's length, so no item is encoded again just to be measured."""
    size = rec.size or len(json.dumps(rec.item, separators=(",", ":")))
    return float(max(1, -(-size // 1024)))


def backoff(attempt: int, base: float = 0.05, cap: float = 5.0) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
    return random.uniform(0, min(cap, base * 2**attempt))


# --------------------------------------------------------------------------- table


def _describe(ddb: Any, table: str) -> dict[str, Any] | None:
    try:
        return ddb.describe_table(TableName=table)["Table"]
    except ClientError as e:
        if e.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise DdbS3Error(f"DescribeTable {table!r} failed: {e.response['Error']['Code']}") from None


def create_table_from_schema(ddb: Any, table: str, schema: dict[str, Any], say: Callable[[str], None]) -> dict[str, Any]:
    billing = schema.get("BillingMode") or "PAY_PER_REQUEST"
    throughput = schema.get("ProvisionedThroughput") or {}
    pt = {
        "ReadCapacityUnits": max(1, int(throughput.get("ReadCapacityUnits") or 5)),
        "WriteCapacityUnits": max(1, int(throughput.get("WriteCapacityUnits") or 5)),
    }
    args: dict[str, Any] = {
        "TableName": table,
        "KeySchema": schema["KeySchema"],
        "AttributeDefinitions": schema["AttributeDefinitions"],
        "BillingMode": billing,
    }
    if billing == "PROVISIONED":
        args["ProvisionedThroughput"] = pt
    gsis = [{k: ix[k] for k in ("IndexName", "KeySchema", "Projection") if k in ix} for ix in schema.get("GlobalSecondaryIndexes") or []]
    if gsis:
        if billing == "PROVISIONED":
            gsis = [dict(ix, ProvisionedThroughput=pt) for ix in gsis]
        args["GlobalSecondaryIndexes"] = gsis
    lsis = [{k: ix[k] for k in ("IndexName", "KeySchema", "Projection") if k in ix} for ix in schema.get("LocalSecondaryIndexes") or []]
    if lsis:
        args["LocalSecondaryIndexes"] = lsis
    say(
        f"creating table {table} ({billing}, keys {', '.join(k['AttributeName'] for k in schema['KeySchema'])}"
        + (f", {len(gsis)} GSI" if gsis else "")
        + (f", {len(lsis)} LSI" if lsis else "")
        + ") from the export's recorded schema"
    )
    try:
        ddb.create_table(**args)
    except ClientError as e:
        raise DdbS3Error(f"CreateTable {table!r} failed: {e.response['Error'].get('Message', e.response['Error']['Code'])}") from None
    deadline = time.monotonic() + 600
    while True:
        desc = _describe(ddb, table)
        if desc and desc.get("TableStatus") == "ACTIVE":
            return desc
        if time.monotonic() > deadline:
            raise DdbS3Error(f"table {table!r} not ACTIVE after 10 minutes")
        time.sleep(0.2)


def _key_schema(desc: dict[str, Any]) -> tuple[str, list[str]]:
    keys = sorted(desc["KeySchema"], key=lambda k: k["KeyType"])  # HASH < RANGE
    return keys[0]["AttributeName"], [k["AttributeName"] for k in keys]


def _check_target(source: ExportSource, desc: dict[str, Any], ddb: Any, opts: RestoreOptions, resuming: bool) -> None:
    schema = source.table_schema or {}
    if schema.get("KeySchema"):
        want = sorted((k["AttributeName"], k["KeyType"]) for k in schema["KeySchema"])
        have = sorted((k["AttributeName"], k["KeyType"]) for k in desc["KeySchema"])
        if want != have:
            raise BadInput(f"table {opts.table!r} has key {have}, the export's table had {want}: restore into a table with the same key")
    src = source.table_name
    if src and src != opts.table and not opts.force and not resuming:  # a resumed restore filled it itself
        nonempty = bool(ddb.scan(TableName=opts.table, Limit=1, Select="COUNT").get("Count"))
        if nonempty:
            raise BadInput(
                f"the export is of table {src!r}, and {opts.table!r} is another table that already "
                "holds items: pass --force to restore into it anyway"
            )


def default_checkpoint(identity: dict[str, Any], aws: Aws) -> Path:
    """The cache file of one restore: this export into this table, in this mode, on this endpoint."""
    where = [aws.region_name, aws.endpoint("dynamodb") or ""]
    digest = hashlib.sha256(json.dumps([identity, where], sort_keys=True).encode()).hexdigest()[:24]
    return user_cache("restores", RESTORES_DIR_ENV) / f"{digest}.json"


def resume_hint(checkpoint: Path, opts: RestoreOptions) -> str:
    return f"with --checkpoint {checkpoint}" if opts.checkpoint else f"it resumes from {checkpoint}"


# --------------------------------------------------------------------------- writing


def writer_client(session: Any, concurrency: int) -> Any:
    """The restore's DynamoDB client. Its writes carry JSON bodies built from the export's lines
    (launcher/json_body.py): every item was checked by the codec as it was read, and botocore's walk
    over each attribute (with its parameter validation, which such calls must skip) cost more CPU
    than the rest of the restore."""
    ddb = session.client(
        "dynamodb",
        config=Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=concurrency + 4, parameter_validation=False),
    )
    send_json_bodies(ddb, "BatchWriteItem", "PutItem", "GetItem")
    return ddb


class _Writer:
    def __init__(self, ddb: Any, table: str, hash_key: str, key_names: list[str], budget: TokenBucket) -> None:
        self.ddb, self.table, self.hash_key, self.key_names, self.budget = ddb, table, hash_key, key_names, budget

    def _call(self, counts: Counts, fn: Callable[..., Any], **kw: Any) -> Any:
        for attempt in range(MAX_ATTEMPTS):
            try:
                resp = fn(**kw)
                counts.retries += retries_of(resp)
                return resp
            except ClientError as e:
                code = e.response["Error"]["Code"]
                counts.retries += retries_of(e.response)
                if code not in THROTTLING or attempt == MAX_ATTEMPTS - 1:
                    raise
                counts.retries += 1
                time.sleep(backoff(attempt))
        raise AssertionError("unreachable")

    def put_if_absent(self, recs: list[Record]) -> tuple[Counts, list[Record]]:
        counts, skipped = Counts(), []
        for rec in recs:
            est = item_size_units(rec)
            self.budget.take(est)
            try:
                resp = self._call(
                    counts,
                    self.ddb.put_item,
                    **json_body(
                        {
                            "TableName": self.table,
                            "Item": rec.item,
                            "ConditionExpression": "attribute_not_exists(#h)",
                            "ExpressionAttributeNames": {"#h": self.hash_key},
                            "ReturnConsumedCapacity": "TOTAL",
                        }
                    ),
                )
                consumed = float((resp.get("ConsumedCapacity") or {}).get("CapacityUnits", est))
                counts.written += 1
            except ClientError as e:
                if e.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                consumed = est  # a failed condition still costs write units
                got = self._call(
                    counts,
                    self.ddb.get_item,
                    **json_body({"TableName": self.table, "Key": {k: rec.item[k] for k in self.key_names}, "ConsistentRead": True}),
                )
                if "Item" in got and items_equal(wire_to_json(got["Item"]), rec.item):
                    counts.identical += 1
                else:
                    counts.skipped += 1
                    skipped.append(rec)
            self.budget.spend(consumed - est)
            counts.consumed_wcu += consumed
        return counts, skipped

    def batch_overwrite(self, recs: list[Record]) -> tuple[Counts, list[Record]]:
        counts = Counts()
        latest: dict[tuple, Record] = {}
        for rec in recs:  # a batch may not touch one key twice: the later line wins
            latest[item_key(rec.item, self.key_names)] = rec
        requests = []
        est = 0.0
        for rec in latest.values():
            if rec.op == "put":
                requests.append({"PutRequest": {"Item": rec.item}})
                est += item_size_units(rec)
            else:
                requests.append({"DeleteRequest": {"Key": {k: rec.item[k] for k in self.key_names}}})
                est += 1
        call: dict[str, Any] | None = json_body({"RequestItems": {self.table: requests}, "ReturnConsumedCapacity": "TOTAL"})
        attempt = 0
        while call:
            self.budget.take(est)
            resp = self._call(counts, self.ddb.batch_write_item, **call)
            consumed = sum(float(c.get("CapacityUnits", 0)) for c in resp.get("ConsumedCapacity") or []) or est
            self.budget.spend(consumed - est)
            counts.consumed_wcu += consumed
            pending = {t: r for t, r in (resp.get("UnprocessedItems") or {}).items() if r}
            call = None
            if pending:  # sent back as botocore parsed them
                call = {"RequestItems": pending, "ReturnConsumedCapacity": "TOTAL"}
                left = sum(len(r) for r in pending.values())
                est = est * left / max(1, len(requests))
                time.sleep(backoff(attempt, base=0.05, cap=20.0))
                attempt += 1
                counts.retries += 1
                if attempt > 40:
                    raise DdbS3Error(
                        f"BatchWriteItem on {self.table!r}: {left} items still unprocessed after 40 tries: "
                        "the table is throttled; lower --write-percent and run again with the same --checkpoint"
                    )
        for rec in recs:
            if rec.op == "put":
                counts.written += 1
            else:
                counts.deleted += 1
        return counts, []


def restore(
    where: str,
    opts: RestoreOptions,
    aws: Aws | None = None,
    settings: S3WriteSettings | None = None,
    say: Callable[[str], None] | None = None,
    on_progress: Callable[[Counts], None] | None = None,
) -> RestoreResult:
    """Restore the export at `where` (s3:// or a local folder) into opts.table.
    `on_progress` is called in the calling thread after each finished batch with the running totals."""
    say = say or (lambda _m: None)
    aws = aws or Aws()
    loc = open_location(where, aws, settings)
    source = detect(loc)
    if source.kind == "incremental" and not opts.overwrite:
        raise BadInput("an incremental export is a change log (puts and deletes): apply it with --overwrite")
    ddb = writer_client(aws.session, opts.concurrency)
    mode = "overwrite" if opts.overwrite else "put-if-absent"
    identity = {"version": 1, "source": source.identity, "table": opts.table, "mode": mode}
    # Without --checkpoint, one in the cache folder per (export, target table, mode, endpoint): a
    # second run of the same restore resumes it, or is recognised as ours once it has finished.
    checkpoint = opts.checkpoint or default_checkpoint(identity, aws)
    ckpt = Checkpoint(checkpoint, identity)
    desc = _describe(ddb, opts.table)
    if desc is None:
        if not opts.create_table:
            raise BadInput(f"table {opts.table!r} does not exist: create it, or pass --create-table to create it from the export's schema")
        if not (source.table_schema or {}).get("KeySchema"):
            raise BadInput(
                f"the export ({source.kind}) records no table schema, so --create-table cannot create {opts.table!r}: create it first"
            )
    else:
        if desc.get("TableStatus") not in ("ACTIVE", "UPDATING"):
            raise BadInput(f"table {opts.table!r} is {desc.get('TableStatus')}, not ACTIVE")
        _check_target(source, desc, ddb, opts, ckpt.resumed or ckpt.done_before)
    if opts.verify:
        from launcher.backup.verify import verify

        say(f"verifying {loc.uri} ({source.kind} export, {len(source.files)} data files) before writing anything")
        report = verify(loc)
        if not report.ok:
            raise IncompleteExport(f"{loc.uri} failed verification, nothing was written: " + "; ".join(report.problems[:3]))
    if desc is None:
        desc = create_table_from_schema(ddb, opts.table, source.table_schema or {}, say)
    hash_key, key_names = _key_schema(desc)
    billing = (desc.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
    capacity = opts.on_demand_write_units if billing == "PAY_PER_REQUEST" else int(desc["ProvisionedThroughput"]["WriteCapacityUnits"])
    rate = max(1.0, capacity * opts.write_percent)
    if ckpt.resumed:
        say(f"resuming from checkpoint {checkpoint}: {ckpt.counts.done:,} items already done")
    elif ckpt.done_before:
        say(f"this restore ran before into {opts.table} ({checkpoint}): writing every item again, {mode}")
    say(
        f"restoring into {opts.table} ({mode}), budget {rate:,.0f} write units/s "
        f"({opts.write_percent:g} of {capacity:,} {'assumed on-demand' if billing == 'PAY_PER_REQUEST' else 'provisioned'} units), "
        f"{opts.concurrency} threads"
    )
    writer = _Writer(ddb, opts.table, hash_key, key_names, TokenBucket(rate))
    work = writer.batch_overwrite if opts.overwrite else writer.put_if_absent
    skipped_out = None
    if opts.skipped_keys_file:
        opts.skipped_keys_file.parent.mkdir(parents=True, exist_ok=True)
        skipped_out = open(opts.skipped_keys_file, "a" if ckpt.resumed else "w", encoding="utf-8")  # noqa: SIM115
    t0 = time.monotonic()
    inflight: dict[Future, tuple[str, int, int]] = {}
    pool = ThreadPoolExecutor(max_workers=opts.concurrency, thread_name_prefix="restore")

    def finish(fut: Future) -> None:
        key, first, end = inflight.pop(fut)
        counts, skipped = fut.result()
        if skipped_out and skipped:
            for rec in skipped:
                skipped_out.write(
                    json.dumps({"key": {k: rec.item[k] for k in key_names}, "file": key, "line": rec.line + 1}, separators=(",", ":"))
                    + "\n"
                )
            skipped_out.flush()
        c = ckpt.counts
        c.written += counts.written
        c.skipped += counts.skipped
        c.identical += counts.identical
        c.deleted += counts.deleted
        c.consumed_wcu += counts.consumed_wcu
        c.retries += counts.retries
        ckpt.mark(key, first, end)
        ckpt.save()
        if on_progress:
            on_progress(ckpt.counts)

    def drain(limit: int) -> None:
        while len(inflight) > limit:
            done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
            for fut in done:
                finish(fut)

    def submit(key: str, recs: list[Record]) -> None:
        drain(2 * opts.concurrency)  # bounded memory: at most this many batches read ahead
        inflight[pool.submit(work, recs)] = (key, recs[0].line, recs[-1].line + 1)

    ok = False
    try:
        for ref in source.files:
            if ckpt.file_done(ref.key):
                continue
            start = ckpt.file(ref.key)["next"]
            batch: list[Record] = []
            last = start - 1
            for rec in iter_records(source, ref, start):
                last = rec.line
                if ckpt.is_done_line(ref.key, rec.line):
                    continue
                if rec.op == "delete" and not opts.overwrite:
                    continue
                if batch and rec.line != batch[-1].line + 1:  # a batch covers one contiguous line range
                    submit(ref.key, batch)
                    batch = []
                batch.append(rec)
                if len(batch) == BATCH:
                    submit(ref.key, batch)
                    batch = []
            if batch:
                submit(ref.key, batch)
            ckpt.file(ref.key)["total"] = last + 1
        drain(0)
        ok = True
    except KeyboardInterrupt:
        say(f"restore interrupted after {ckpt.counts.done:,} items: run the same command again to resume ({resume_hint(checkpoint, opts)})")
        raise
    except ClientError as e:
        err = e.response["Error"]
        raise DdbS3Error(
            f"writing to {opts.table!r} failed: {err['Code']}: {err.get('Message', '')} "
            f"(run the same command again to resume: {resume_hint(checkpoint, opts)})"
        ) from None
    finally:
        if not ok:  # record what finished before stopping, so a resumed run does not redo it
            for fut in list(inflight):
                try:
                    fut.result()
                    finish(fut)
                except Exception:  # noqa: BLE001  the first error is the one reported
                    inflight.pop(fut, None)
        pool.shutdown(wait=True, cancel_futures=True)
        ckpt.save(force=True, complete=ok)
        if skipped_out:
            skipped_out.close()
    result = RestoreResult(
        opts.table,
        source.kind,
        mode,
        ckpt.counts,
        source.expected_items,
        time.monotonic() - t0,
        ckpt.resumed,
        str(opts.skipped_keys_file) if opts.skipped_keys_file else None,
        rate,
    )
    return result
