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

`restore()` is three steps: `prepare_target` (the table described, checked, or created from the
export's schema and waited for, through aws/dynamodb.DynamoDbHook), `WriteBudget.of` (the rate),
`RestorePipeline.run` (the reading, the writer threads, the checkpoint).
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
from typing import Any, TextIO

from botocore.config import Config
from botocore.exceptions import ClientError

from launcher.aws.dynamodb import DynamoDbHook, create_request
from launcher.aws.errors import describe, error_code
from launcher.aws.json_body import json_body, send_json_bodies
from launcher.aws.session import Aws
from launcher.backup.formats import CorruptDataFile, ExportSource, Record, detect, iter_records
from launcher.backup.storage import Location, open_location
from launcher.core.budget import TokenBucket
from launcher.core.codec import item_key, items_equal, wire_to_json
from launcher.core.errors import BadInput, DdbS3Error, IncompleteExport
from launcher.core.paths import RESTORES_DIR_ENV, user_cache
from launcher.core.retries import retries_of
from launcher.core.s3args import S3WriteSettings
from launcher.core.wait import SYSTEM_CLOCK, Clock
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

    def __iadd__(self, other: Counts) -> Counts:
        """Add another Counts (one batch's) into these running totals."""
        self.written += other.written
        self.skipped += other.skipped
        self.identical += other.identical
        self.deleted += other.deleted
        self.consumed_wcu += other.consumed_wcu
        self.retries += other.retries
        return self


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


# --------------------------------------------------------------------------- the target table


def _key_schema(desc: dict[str, Any]) -> tuple[str, list[str]]:
    keys = sorted(desc["KeySchema"], key=lambda k: k["KeyType"])  # HASH < RANGE
    return keys[0]["AttributeName"], [k["AttributeName"] for k in keys]


def key_text(key_schema: list[dict[str, str]]) -> str:
    """A key schema as words: "id (partition) + ts (sort)"."""
    role = {"HASH": "partition", "RANGE": "sort"}
    keys = sorted(key_schema, key=lambda k: k["KeyType"])  # HASH < RANGE
    return " + ".join(f"{k['AttributeName']} ({role.get(k['KeyType'], k['KeyType'])})" for k in keys)


def _check_target(source: ExportSource, desc: dict[str, Any], hook: DynamoDbHook, opts: RestoreOptions, resuming: bool) -> None:
    schema = source.table_schema or {}
    if schema.get("KeySchema"):
        want, have = key_text(schema["KeySchema"]), key_text(desc["KeySchema"])
        if want != have:
            raise BadInput(f"table {opts.table!r} has key {have}, the export's table had {want}: restore into a table with the same key")
    src = source.table_name
    # a resumed restore filled it itself
    if src and src != opts.table and not opts.force and not resuming and hook.has_items(opts.table):
        raise BadInput(
            f"the export is of table {src!r}, and {opts.table!r} is another table that already "
            "holds items: pass --force to restore into it anyway"
        )


def prepare_target(
    hook: DynamoDbHook,
    source: ExportSource,
    loc: Location,
    opts: RestoreOptions,
    resuming: bool,
    say: Callable[[str], None],
    clock: Clock = SYSTEM_CLOCK,
) -> dict[str, Any]:
    """The target table's description, ACTIVE and fit for the export: an existing table is checked
    (its key, and another table's items unless --force or resuming), a missing one is created from
    the export's recorded schema when --create-table says so. With --verify the export is checked
    first, so nothing is created or written for a broken export."""
    desc = hook.describe(opts.table)
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
        _check_target(source, desc, hook, opts, resuming)
    if opts.verify:
        from launcher.backup.verify import verify

        say(f"verifying {loc.uri} ({source.kind} export, {len(source.files)} data files) before writing anything")
        report = verify(loc)
        if not report.ok:
            raise IncompleteExport(f"{loc.uri} failed verification, nothing was written: " + "; ".join(report.problems[:3]))
    if desc is None:
        request = create_request(opts.table, source.table_schema or {})
        gsis, lsis = request.get("GlobalSecondaryIndexes") or [], request.get("LocalSecondaryIndexes") or []
        say(
            f"creating table {opts.table} ({request['BillingMode']}, keys {', '.join(k['AttributeName'] for k in request['KeySchema'])}"
            + (f", {len(gsis)} GSI" if gsis else "")
            + (f", {len(lsis)} LSI" if lsis else "")
            + ") from the export's recorded schema"
        )
        desc = hook.create_and_wait(request, clock=clock)
    return desc


# --------------------------------------------------------------------------- the write budget


@dataclass(frozen=True)
class WriteBudget:
    """Write units per second for the restore: `percent` of the table's provisioned write capacity,
    or of --on-demand-write-units for an on-demand table; at least 1."""

    capacity: int
    percent: float
    on_demand: bool

    @classmethod
    def of(cls, desc: dict[str, Any], opts: RestoreOptions) -> WriteBudget:
        on_demand = (desc.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED") == "PAY_PER_REQUEST"
        capacity = opts.on_demand_write_units if on_demand else int(desc["ProvisionedThroughput"]["WriteCapacityUnits"])
        return cls(capacity, opts.write_percent, on_demand)

    @property
    def rate(self) -> float:
        return max(1.0, self.capacity * self.percent)

    def bucket(self, clock: Clock = SYSTEM_CLOCK) -> TokenBucket:
        return TokenBucket(self.rate, clock.now, clock.sleep)

    def text(self) -> str:
        kind = "assumed on-demand" if self.on_demand else "provisioned"
        return f"budget {self.rate:,.0f} write units/s ({self.percent:g} of {self.capacity:,} {kind} units)"


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
                counts.retries += retries_of(e.response)
                if error_code(e) not in THROTTLING or attempt == MAX_ATTEMPTS - 1:
                    raise
                counts.retries += 1
                time.sleep(backoff(attempt))  # a backoff before sending again, not a wait for a state
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
                if error_code(e) != "ConditionalCheckFailedException":
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
                time.sleep(backoff(attempt, base=0.05, cap=20.0))  # a backoff, not a wait for a state
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


class RestorePipeline:
    """Reads the export's lines not done yet (per the checkpoint) into batches of contiguous lines,
    writes them on `concurrency` worker threads, and, in the calling thread, records each finished
    batch: its counts added to the checkpoint's, its skipped keys listed, its line range marked done,
    the checkpoint saved, `on_progress` called. At most 2 x concurrency batches are read ahead.
    Stopped by an error or Ctrl-C, it still records the batches that finished, so a resumed run does
    not redo them."""

    def __init__(
        self,
        source: ExportSource,
        writer: _Writer,
        ckpt: Checkpoint,
        *,
        overwrite: bool,
        concurrency: int,
        skipped_keys_file: Path | None = None,
        on_progress: Callable[[Counts], None] | None = None,
        say: Callable[[str], None] = lambda _m: None,
        resume_hint: str = "",
    ) -> None:
        self.source, self.writer, self.ckpt = source, writer, ckpt
        self.overwrite, self.concurrency = overwrite, concurrency
        self.skipped_keys_file, self.on_progress, self.say, self.resume_hint = skipped_keys_file, on_progress, say, resume_hint
        self.work = writer.batch_overwrite if overwrite else writer.put_if_absent
        self.inflight: dict[Future, tuple[str, int, int]] = {}  # batch -> (data file, first line, end line)
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="restore")  # threads start on first submit
        self.skipped_out: TextIO | None = None

    @property
    def counts(self) -> Counts:
        """The running totals (those of an interrupted run included): the checkpoint's."""
        return self.ckpt.counts

    def run(self) -> Counts:
        """Write every item not done yet and return the totals. The checkpoint is saved as batches
        finish and once at the end, marked complete only when every item was written."""
        if self.skipped_keys_file:
            self.skipped_keys_file.parent.mkdir(parents=True, exist_ok=True)
            self.skipped_out = open(self.skipped_keys_file, "a" if self.ckpt.resumed else "w", encoding="utf-8")  # noqa: SIM115
        ok = interrupted = False
        try:
            for ref in self.source.files:
                if not self.ckpt.file_done(ref.key):
                    self._read_file(ref)
            self._drain(0)
            ok = True
        except KeyboardInterrupt:
            interrupted = True
            if self.inflight:
                self.say(f"restore stopping: {len(self.inflight)} batch(es) in flight finish first, so that the checkpoint holds them")
            raise
        except ClientError as e:
            raise DdbS3Error(
                f"writing to {self.writer.table!r} failed: {describe(e)} (run the same command again to resume: {self.resume_hint})"
            ) from None
        except CorruptDataFile as e:  # the items before it are written and checkpointed
            raise IncompleteExport(
                f"{e} ({self.counts.done:,} items were restored before it; with the file replaced, run the same"
                f" command again to resume: {self.resume_hint})"
            ) from None
        finally:
            self._stop(ok)
            if interrupted:  # after the batches in flight: the count is what the checkpoint holds
                self.say(f"restore interrupted after {self.counts.done:,} items: run the same command again to resume ({self.resume_hint})")
        return self.counts

    def _read_file(self, ref: Any) -> None:
        """Submit the data file's lines not done yet, in batches of at most BATCH contiguous lines;
        its line count is recorded once it was read to its end."""
        start = self.ckpt.file(ref.key)["next"]
        batch: list[Record] = []
        last = start - 1
        for rec in iter_records(self.source, ref, start):
            last = rec.line
            if self.ckpt.is_done_line(ref.key, rec.line):
                continue
            if rec.op == "delete" and not self.overwrite:
                continue
            if batch and rec.line != batch[-1].line + 1:  # a batch covers one contiguous line range
                self._submit(ref.key, batch)
                batch = []
            batch.append(rec)
            if len(batch) == BATCH:
                self._submit(ref.key, batch)
                batch = []
        if batch:
            self._submit(ref.key, batch)
        self.ckpt.file(ref.key)["total"] = last + 1

    def _submit(self, key: str, recs: list[Record]) -> None:
        self._drain(2 * self.concurrency)  # bounded memory: at most this many batches read ahead
        self.inflight[self.pool.submit(self.work, recs)] = (key, recs[0].line, recs[-1].line + 1)

    def _drain(self, limit: int) -> None:
        """Record finished batches until at most `limit` are in flight."""
        while len(self.inflight) > limit:
            done, _ = wait(list(self.inflight), return_when=FIRST_COMPLETED)
            for fut in done:
                self._finish(fut)

    def _finish(self, fut: Future) -> None:
        key, first, end = self.inflight.pop(fut)
        counts, skipped = fut.result()
        if self.skipped_out and skipped:
            for rec in skipped:
                line = {"key": {k: rec.item[k] for k in self.writer.key_names}, "file": key, "line": rec.line + 1}
                self.skipped_out.write(json.dumps(line, separators=(",", ":")) + "\n")
            self.skipped_out.flush()
        self.ckpt.counts += counts
        self.ckpt.mark(key, first, end)
        self.ckpt.save()
        if self.on_progress:
            self.on_progress(self.counts)

    def _stop(self, ok: bool) -> None:
        if not ok:  # record what finished before stopping, so a resumed run does not redo it
            for fut in list(self.inflight):
                try:
                    fut.result()
                    self._finish(fut)
                except Exception:  # noqa: BLE001  the first error is the one reported
                    self.inflight.pop(fut, None)
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.ckpt.save(force=True, complete=ok)
        if self.skipped_out:
            self.skipped_out.close()


def restore(
    where: str,
    opts: RestoreOptions,
    aws: Aws | None = None,
    settings: S3WriteSettings | None = None,
    say: Callable[[str], None] | None = None,
    on_progress: Callable[[Counts], None] | None = None,
    *,
    clock: Clock = SYSTEM_CLOCK,
) -> RestoreResult:
    """Restore the export at `where` (s3:// or a local folder) into opts.table: prepare the target
    table, set the write budget, run the pipeline. `on_progress` is called in the calling thread
    after each finished batch with the running totals. `clock`: the write budget's time and the
    wait for a created table (tests pass a fake one)."""
    say = say or (lambda _m: None)
    aws = aws or Aws()
    source = detect(open_location(where, aws, settings))
    chain = export_chain(where, source, aws, settings)
    if len(chain) == 1:
        return _restore_one(where, source, opts, aws, settings, say, on_progress, clock)
    if not opts.overwrite and DynamoDbHook(aws).describe(opts.table) is not None:
        raise BadInput(
            f"{where} is an incremental export: restore builds the table from its chain ({len(chain)} exports back to a full one),"
            f" into a new table (--create-table), or onto {opts.table} with --overwrite"
        )
    results = []
    for n, (uri, link) in enumerate(chain):
        say(f"chain {n + 1}/{len(chain)}: {'full' if n == 0 else 'incremental'} export {uri}")
        # After the full export, the changes go onto the table it built: puts and deletes, overwriting.
        link_opts = opts if n == 0 else opts.model_copy(update={"overwrite": True, "create_table": False, "force": True})
        if n and opts.checkpoint:  # a checkpoint is one restore's: each later link keeps its own beside it
            link_opts = link_opts.model_copy(update={"checkpoint": opts.checkpoint.with_name(f"{opts.checkpoint.name}.chain-{n}")})
        results.append(_restore_one(uri, link, link_opts, aws, settings, say, on_progress, clock))
    return RestoreResult(
        opts.table,
        source.kind,
        "chain",
        Counts(**{f: sum(getattr(r.counts, f) for r in results) for f in Counts.__dataclass_fields__}),
        None,
        sum(r.seconds for r in results),
        any(r.resumed for r in results),
        None,
        results[-1].write_units_per_second,
    )


def export_chain(where: str, source: ExportSource, aws: Aws, settings: S3WriteSettings | None) -> list[tuple[str, ExportSource]]:
    """An incremental --as-of export and the exports it follows (ddbS3.incrementalSince), back to the
    full one, oldest first; any other export alone."""
    chain = [(where, source)]
    while chain[0][1].kind == "incremental" and (base := chain[0][1].ours.get("incrementalSince")):
        if any(base == uri for uri, _ in chain):
            raise IncompleteExport(f"{where}: its chain of exports loops at {base}")
        try:
            chain.insert(0, (base, detect(open_location(base, aws, settings))))
        except (IncompleteExport, BadInput) as e:  # BadInput: nothing is left of it (pruned)
            raise IncompleteExport(
                f"{chain[0][0]} follows {base}, which cannot be read ({e}): the chain is broken, nothing was written"
            ) from None
    return chain


def _restore_one(
    where: str,
    source: ExportSource,
    opts: RestoreOptions,
    aws: Aws,
    settings: S3WriteSettings | None,
    say: Callable[[str], None],
    on_progress: Callable[[Counts], None] | None,
    clock: Clock,
) -> RestoreResult:
    loc = source.loc
    if source.kind == "incremental" and not opts.overwrite:
        raise BadInput("an incremental export is a change log (puts and deletes): apply it with --overwrite")
    mode = "overwrite" if opts.overwrite else "put-if-absent"
    identity = {"version": 1, "source": source.identity, "table": opts.table, "mode": mode}
    # Without --checkpoint, one in the cache folder per (export, target table, mode, endpoint): a
    # second run of the same restore resumes it, or is recognised as ours once it has finished.
    checkpoint = opts.checkpoint or default_checkpoint(identity, aws)
    ckpt = Checkpoint(checkpoint, identity)

    desc = prepare_target(DynamoDbHook(aws), source, loc, opts, ckpt.resumed or ckpt.done_before, say, clock)
    budget = WriteBudget.of(desc, opts)
    if ckpt.resumed:
        say(f"resuming from checkpoint {checkpoint}: {ckpt.counts.done:,} items already done")
    elif ckpt.done_before:
        say(f"this restore ran before into {opts.table} ({checkpoint}): writing every item again, {mode}")
    say(f"restoring into {opts.table} ({mode}), {budget.text()}, {opts.concurrency} threads")

    hash_key, key_names = _key_schema(desc)
    writer = _Writer(writer_client(aws.session, opts.concurrency), opts.table, hash_key, key_names, budget.bucket(clock))
    pipeline = RestorePipeline(
        source,
        writer,
        ckpt,
        overwrite=opts.overwrite,
        concurrency=opts.concurrency,
        skipped_keys_file=opts.skipped_keys_file,
        on_progress=on_progress,
        say=say,
        resume_hint=resume_hint(checkpoint, opts),
    )
    t0 = time.monotonic()
    counts = pipeline.run()
    skipped_file = str(opts.skipped_keys_file) if opts.skipped_keys_file else None
    return RestoreResult(
        opts.table, source.kind, mode, counts, source.expected_items, time.monotonic() - t0, ckpt.resumed, skipped_file, budget.rate
    )
