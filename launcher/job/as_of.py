"""The table as it was at time T, from a Scan and the table's stream; and the changes between two
times (docs/as-of.md). Shared by the Spark job's driver and the in-process engine: the shards are
read by whatever `map_shards` runs them on (Spark tasks, threads), everything else is pure.

A Scan is not a snapshot: each item is as it was when its page was read, somewhere in the scan's
window [s0, s1]. The stream records every write, stamped to the second. T is a whole second and a
write stamped before T happened before T. For each key, the item at T is:
  - the NewImage of its last record stamped before T;
  - otherwise the OldImage of its first record stamped T or later (none: it did not exist at T);
  - otherwise the scanned value (nothing was written to it in the window).
The window read is [min(T, s0), max(T, s1 + 1s)): every write the scan could have seen, and every
write between T and the scan."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Optional

from launcher.core import layout
from launcher.core.codec import item_key, item_text, items_equal, text_line
from launcher.core.stream_rules import stream_problem
from launcher.job.streams import Change, ShardRead, StreamGap, depths, describe, read_shard

Item = Optional[dict[str, Any]]  # an item's export JSON, None: no item
DESCRIBE_SECONDS = 1.0  # between DescribeStream calls while a closed shard's children are not listed yet


def window(as_of: int, scan_start: float, scan_end: float) -> tuple[int, int]:
    """The stamps [since, until) an as-of export reads from the stream."""
    return min(as_of, int(scan_start)), max(as_of, int(scan_end) + 1)


def _by_key(changes: Iterable[Change]) -> dict[tuple[Any, ...], list[Change]]:
    out: dict[tuple[Any, ...], list[Change]] = {}
    for c in changes:
        out.setdefault(c[0], []).append(c)
    for rs in out.values():
        rs.sort(key=lambda c: (c[1], c[2]))  # parent shards first, then sequence number
    return out


def items_at(changes: Iterable[Change], as_of: int) -> dict[tuple[Any, ...], Item]:
    """Every key the window changed -> its item at `as_of` (None: no item then). Keys not in the
    result keep their scanned value."""
    out: dict[tuple[Any, ...], Item] = {}
    for key, rs in _by_key(changes).items():
        before = [c for c in rs if c[3] < as_of]
        out[key] = before[-1][4] if before else rs[0][5]
    return out


def increments(changes: Iterable[Change]) -> Iterator[dict[str, Any]]:
    """The changes of a window [since, until) as incremental export lines: per key changed, its Keys,
    the item at `until` (NewImage, absent for a delete) and at `since` (OldImage, absent for an
    insert). A key whose item is the same at both ends (inserted and deleted, or put back) has none."""
    for rs in _by_key(changes).values():
        old, new = rs[0][5], rs[-1][4]
        if (old is None and new is None) or (old is not None and new is not None and items_equal(old, new)):
            continue
        line: dict[str, Any] = {"Metadata": {"WriteTimestampMicros": {"N": str(rs[-1][3] * 1_000_000)}}, "Keys": rs[-1][6]}
        if new is not None:
            line["NewImage"] = new
        if old is not None:
            line["OldImage"] = old
        yield line


def without_changed(lines: Iterable[str], changed: dict[tuple[Any, ...], Item], key_names: list[str]) -> Iterator[str]:
    """The scanned lines whose key the window did not change (the others come from `changed`)."""
    for line in lines:
        if item_key(json.loads(line)["Item"], key_names) not in changed:
            yield line


def changed_lines(changed: dict[tuple[Any, ...], Item]) -> list[str]:
    return [text_line(item_text(item)) for item in changed.values() if item is not None]


@dataclass
class StreamRead:
    """A window of the stream, read: the changes in it and, per shard, the last sequence number used."""

    arn: str
    since: int
    until: int
    changes: list[Change] = field(default_factory=list)
    shards: dict[str, str | None] = field(default_factory=dict)
    records: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "streamArn": self.arn,
            "window": {"since": _iso(self.since), "until": _iso(self.until)},
            "streamRecords": self.records,
            "lastSequenceNumbers": {k: v for k, v in sorted(self.shards.items()) if v is not None},
        }


def _iso(epoch: float) -> str:
    return layout.iso(datetime.fromtimestamp(epoch, timezone.utc))


ShardTask = tuple[dict, int]  # a shard's description and its depth
MapShards = Callable[[Callable[[ShardTask], ShardRead], list[ShardTask]], list[ShardRead]]


def read_window(
    streams: Any,
    arn: str,
    key_names: list[str],
    since: int,
    until: int,
    deadline: float,
    map_shards: MapShards,
    shard_reader: Callable[[ShardTask], ShardRead],
    sleep: Callable[[float], None] = time.sleep,
) -> StreamRead:
    """Read every shard the window needs, parents before children, each round's shards in parallel
    through `map_shards(shard_reader, tasks)`. A shard whose read covers `until` (ShardRead.covers)
    needs no child read (a child begins after its parent's last record); one that closed before
    `until` does.
    StreamGap when the stream is no longer the one planned, a shard vanished before it was read, or
    a closed shard's children do not appear."""
    out = StreamRead(arn, since, until)
    done: dict[str, ShardRead] = {}
    depth: dict[str, int] = {}
    while True:
        described_at = time.time()  # a shard listed open now closes later: its children begin after this
        desc, shards = describe(streams, arn)
        if desc.get("StreamArn", arn) != arn:
            raise StreamGap(f"the stream changed while it was read ({arn} -> {desc.get('StreamArn')})")
        listed = {s["ShardId"]: s for s in shards}
        depth = depths(shards, depth)  # kept across rounds: a parent read earlier may be trimmed from the listing since
        todo = [
            (s, depth[s["ShardId"]]) for s in shards if s["ShardId"] not in done and _ready(s.get("ParentShardId"), listed, done, until)
        ]
        if not todo:
            waiting = [r.shard_id for r in done.values() if not r.covers(until) and not _children(r.shard_id, shards)]
            if not waiting or desc.get("StreamStatus") in ("DISABLED", "DISABLING"):
                break
            if time.time() > deadline:
                raise StreamGap(f"shard {waiting[0]} closed before {_iso(until)} and no child shard appeared in time")
            sleep(DESCRIBE_SECONDS)
            continue
        for read in map_shards(shard_reader, todo):
            if "EndingSequenceNumber" not in listed[read.shard_id]["SequenceNumberRange"]:
                read.open_at = max(read.open_at or 0.0, described_at)
            done[read.shard_id] = read
    for read in done.values():
        out.changes += read.changes
        out.shards[read.shard_id] = read.last_sequence
        out.records += read.records
    return out


def _ready(parent: str | None, listed: dict[str, dict], done: dict[str, ShardRead], until: int) -> bool:
    """A shard is read after its parent (when the parent is still listed), and not at all when the
    parent's read covers the window: its records all come after that."""
    if parent in done:
        return not done[parent].covers(until)
    return parent is None or parent not in listed


def _children(shard_id: str, shards: list[dict]) -> bool:
    return any(s.get("ParentShardId") == shard_id for s in shards)


def reader_for(
    streams_client: Callable[[], Any], arn: str, key_names: list[str], since: int, until: int, deadline: float
) -> Callable[[ShardTask], ShardRead]:
    """The function a task runs on one shard (a client of its own: tasks may be other processes)."""

    def read(task: ShardTask) -> ShardRead:
        shard, depth = task
        return read_shard(streams_client(), arn, shard, depth, key_names, since, until, deadline)

    return read


def times(spec: dict[str, Any], scan_start: float, scan_end: float) -> tuple[int, int, int]:
    """(T, since, until) of a run: T is --as-of, or the scan's start rounded up to the second; an
    incremental export reads [its base's time, T), a full one the window around its Scan."""
    at = spec["time"] if spec["time"] is not None else -int(-scan_start // 1)
    if spec.get("since_time") is not None:
        return at, int(spec["since_time"]), at
    since, until = window(at, scan_start, scan_end)
    return at, since, until


def check_stream(streams: Any, spec: dict[str, Any], table: str, since: int) -> None:
    """The launcher checked the stream when it planned; the scan may have taken hours since, and
    the stream may have been replaced: check again before its records are read."""
    desc, _ = describe(streams, spec["stream_arn"])
    problem = stream_problem(table, desc, since, time.time(), int(spec["retention_seconds"]))
    if problem:
        raise StreamGap(problem)


def increment_lines(changes: Iterable[Change]) -> list[str]:
    return [json.dumps(line, separators=(",", ":"), ensure_ascii=False) for line in increments(changes)]


def summary_update(
    fields: dict[str, Any], spec: dict[str, Any], at: int, read: StreamRead, scan: tuple[float, float] | None
) -> dict[str, Any]:
    """The summary of an as-of export: exportTime is T; the stream and the last sequence number read
    of each shard under ddbS3.stream; readWindow the Scan's (the items were written after the stream
    was read); an incremental one, which scans nothing, is an INCREMENTAL_EXPORT of [since, T)."""
    window = {"from": None, "to": None} if scan is None else {"from": _iso(scan[0]), "to": _iso(scan[1])}
    fields = dict(fields, exportTime=_iso(at), asOf=_iso(at), stream=read.summary(), readWindow=window)
    if spec.get("since_time") is not None:
        fields.update(
            exportType="INCREMENTAL_EXPORT",
            exportFromTime=_iso(read.since),
            exportToTime=_iso(at),
            outputView="NEW_AND_OLD_IMAGES",
            incrementalSince=spec.get("since_export"),
        )
    return fields
