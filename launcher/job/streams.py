"""Reading a table's DynamoDB stream for an as-of or incremental export (launcher/job/as_of.py).

A shard is read from its oldest retained record up to the first record stamped at or after `until`,
or to its end. Only that proves a shard holds nothing more before `until`: an open shard's empty
page proves nothing (its next record may still be on its way). Everything that would leave a gap
fails closed with StreamGap: trimmed records the result may depend on, a vanished shard, a stream
that was replaced. Runs in Spark tasks (one a shard) and in the in-process engine's threads; boto3
only, Python 3.9."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from launcher.core.codec import item_key, wire_to_json

PAGE = 1000  # GetRecords' largest page
POLL_SECONDS = 1.0  # between reads of an open shard that has nothing new (AWS: at most 5 reads a second a shard)
CLOCK_SKEW_S = 1.0  # between this machine's clock and the stamps DynamoDB gives (both NTP-kept)

# One change of one item: (key, shard depth, sequence number, stamp, new image, old image, Keys).
# Images and Keys are export JSON (binary as base64); an image is None where the item did not exist.
Change = tuple[tuple[Any, ...], int, int, int, Optional[dict[str, Any]], Optional[dict[str, Any]], dict[str, Any]]


class StreamGap(RuntimeError):
    """The stream cannot prove the table's state over the window: the export must not be written."""


@dataclass
class ShardRead:
    """What one shard gave: its changes stamped in [since, until), the last sequence number read,
    and how the read ended: `passed` (a record at or after `until` was seen) or `ended` (the shard
    is closed and was read to its end)."""

    shard_id: str
    changes: list[Change] = field(default_factory=list)
    last_sequence: str | None = None
    passed: bool = False
    ended: bool = False
    records: int = 0  # every record read, in the window or not
    open_at: float | None = None  # the last time (epoch s) a read found the shard open at its tip

    def covers(self, until: int) -> bool:
        """Whether the shard's read leaves nothing before `until` to its children: it passed
        `until`, or it was still open a little after `until` (a child begins when its parent
        closes, so all its records are stamped later)."""
        return self.passed or (self.ended and self.open_at is not None and self.open_at >= until + CLOCK_SKEW_S)


def stamp(record: dict) -> int:
    """A record's ApproximateCreationDateTime in whole epoch seconds (DynamoDB rounds it down)."""
    value = record["dynamodb"]["ApproximateCreationDateTime"]
    return int(value.timestamp()) if hasattr(value, "timestamp") else int(value)


def describe(streams: Any, arn: str) -> tuple[dict, list[dict]]:
    """DescribeStream, every page: (the description without its shards, all shards)."""
    shards: list[dict] = []
    kwargs: dict[str, Any] = {"StreamArn": arn}
    while True:
        desc = streams.describe_stream(**kwargs)["StreamDescription"]
        shards += desc.get("Shards", [])
        if not desc.get("LastEvaluatedShardId"):
            desc.pop("Shards", None)
            return desc, shards
        kwargs["ExclusiveStartShardId"] = desc["LastEvaluatedShardId"]


def depths(shards: list[dict], known: dict[str, int] | None = None) -> dict[str, int]:
    """Each shard's distance from its oldest known ancestor (`known`: depths found before, kept for
    shards no longer listed): an item's records in a parent come before its records in a child,
    so (depth, sequence number) orders one item's records."""
    parent = {s["ShardId"]: s.get("ParentShardId") for s in shards}
    out: dict[str, int] = dict(known or {})

    def depth(shard_id: str) -> int:
        if shard_id not in out:
            up = parent.get(shard_id)
            out[shard_id] = depth(up) + 1 if up is not None and (up in parent or up in out) else 0
        return out[shard_id]

    for s in shards:
        depth(s["ShardId"])
    return out


def _error_code(e: Exception) -> str:
    return str(getattr(e, "response", {}).get("Error", {}).get("Code", ""))


def _first_iterator(streams: Any, arn: str, shard: dict) -> tuple[str, bool]:
    """An iterator at the shard's first record, and whether that record was trimmed already (then
    the iterator starts at the oldest record retained)."""
    start = shard["SequenceNumberRange"]["StartingSequenceNumber"]
    try:
        it = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=start
        )
        return it["ShardIterator"], False
    except Exception as e:  # botocore's ClientError; only its code matters here
        if _error_code(e) == "ResourceNotFoundException":
            raise StreamGap(f"shard {shard['ShardId']} vanished from the stream before it was read") from None
        if _error_code(e) != "TrimmedDataAccessException":
            raise
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
    return it["ShardIterator"], True


def read_shard(
    streams: Any,
    arn: str,
    shard: dict,
    depth: int,
    key_names: list[str],
    since: int,
    until: int,
    deadline: float,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> ShardRead:
    """Read one shard: keep the changes stamped in [since, until), stop at the first record stamped
    `until` or later, or at the shard's end. StreamGap when records the window needs were trimmed
    (before or during the read), or when an open shard neither passes `until` nor closes by
    `deadline` (epoch seconds)."""
    shard_id = shard["ShardId"]
    out = ShardRead(shard_id)
    iterator, trimmed_start = _first_iterator(streams, arn, shard)
    first = True
    while True:
        try:
            page = streams.get_records(ShardIterator=iterator, Limit=PAGE)
        except Exception as e:
            code = _error_code(e)
            if code == "ExpiredIteratorException":  # 15 minutes on AWS: go on from the last record read
                iterator = _resume(streams, arn, shard_id, out.last_sequence)
                continue
            if code == "TrimmedDataAccessException":
                raise StreamGap(f"shard {shard_id}: records were trimmed while they were read (the stream keeps 24 hours)") from None
            raise
        records = page.get("Records", [])
        if first and trimmed_start and records and stamp(records[0]) >= since:
            raise StreamGap(
                f"shard {shard_id}: its records before {stamp(records[0])} (epoch s) were trimmed, and the window starts at {since}"
            )
        first = first and not records
        for record in records:
            out.records += 1
            at = stamp(record)
            if at >= until:
                out.passed = True
                return out
            out.last_sequence = record["dynamodb"]["SequenceNumber"]
            if at >= since:
                out.changes.append(change(record, depth, at, key_names))
        iterator = page.get("NextShardIterator")
        if iterator is None:
            out.ended = True
            return out
        if not records:  # at the tip of a shard still open: a closed one read to its end gives no iterator
            out.open_at = clock()
            if out.open_at > deadline:
                raise StreamGap(
                    f"shard {shard_id} is open and quiet: it neither passed {until} (epoch s) nor closed in time;"
                    " a quiet shard is proved complete only when it closes (AWS rolls shards over about every 4 hours)"
                )
            sleep(POLL_SECONDS)


def _resume(streams: Any, arn: str, shard_id: str, last_sequence: str | None) -> str:
    kwargs: dict[str, Any] = {"StreamArn": arn, "ShardId": shard_id}
    if last_sequence is None:
        kwargs["ShardIteratorType"] = "TRIM_HORIZON"
    else:
        kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=last_sequence)
    return str(streams.get_shard_iterator(**kwargs)["ShardIterator"])


def change(record: dict, depth: int, at: int, key_names: list[str]) -> Change:
    data = record["dynamodb"]
    new, old = data.get("NewImage"), data.get("OldImage")
    keys = wire_to_json(data["Keys"])
    return (
        item_key(keys, key_names),
        depth,
        int(data["SequenceNumber"]),
        at,
        None if new is None else wire_to_json(new),
        None if old is None else wire_to_json(old),
        keys,
    )
