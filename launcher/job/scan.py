"""The `segments` reader: parallel Scan with boto3 inside Spark tasks, with ConsistentRead when
asked and a read-capacity budget enforced from the ConsumedCapacity DynamoDB returns."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

from launcher.core.budget import TokenBucket
from launcher.core.codec import item_text, text_line, wire_to_json
from launcher.core.retries import retries_of

RAW_ITEMS = "RawItems"


def page_limit(units_per_second: float, average_item_size: int, consistent: bool) -> int:
    """Items per Scan page so that one page costs about a quarter second of the task's budget."""
    per_unit = 4096 * (1 if consistent else 2)
    size = max(average_item_size, 1)
    return int(max(1, min(1000, units_per_second * per_unit / 4 / size)))


def scan_segments(
    ddb: Any,
    table: str,
    segments: list[int],
    total_segments: int,
    consistent: bool,
    units_per_second: float,
    average_item_size: int,
    stats: dict | None = None,
) -> Iterator[str]:
    """Yield export lines for the given segments, staying within units_per_second."""
    keep_raw_items(ddb)
    budget = TokenBucket(units_per_second)
    limit = page_limit(units_per_second, average_item_size, consistent)
    stats = stats if stats is not None else {}
    stats.setdefault("consumed", 0.0)
    stats.setdefault("pages", 0)
    stats.setdefault("retries", 0)
    for segment in segments:
        retried_before = stats["retries"]
        kwargs: dict[str, Any] = {
            "TableName": table,
            "Segment": segment,
            "TotalSegments": total_segments,
            "ConsistentRead": consistent,
            "ReturnConsumedCapacity": "TOTAL",
            "Limit": limit,
        }
        while True:
            budget.take()
            page = ddb.scan(**kwargs)
            items = page[RAW_ITEMS] if RAW_ITEMS in page else [item_text(wire_to_json(i)) for i in page.get("Items", [])]
            consumed = (page.get("ConsumedCapacity") or {}).get("CapacityUnits")
            if consumed is None:  # an endpoint that does not report it: estimate as DynamoDB bills
                consumed = _estimate_units(items, consistent)
            budget.spend(consumed)
            stats["consumed"] += consumed
            stats["pages"] += 1
            stats["retries"] += retries_of(page)
            for text in items:
                yield text_line(text)
            if "LastEvaluatedKey" not in page:
                if stats["retries"] > retried_before:
                    report(
                        f"segment {segment}/{total_segments}: {stats['retries'] - retried_before} Scan "
                        "requests retried (throttled or failed), all pages read"
                    )
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def keep_raw_items(ddb: Any) -> None:
    """Make the client's Scan pages carry each item as the JSON text DynamoDB sent
    (page["RawItems"]), which is already export JSON, instead of parsing it into Python: botocore's
    parse walks every attribute against the service model, and encoding the items back to JSON
    cost twice what decoding them does. The response's CRC32 is still checked by botocore on the
    bytes received; the rest of the page (Count, LastEvaluatedKey, ConsumedCapacity) is parsed as usual."""
    ddb.meta.events.register("before-parse.dynamodb.Scan", _take_raw_items, unique_id="ddb-s3-raw-items")


def _take_raw_items(response_dict: dict, customized_response_dict: dict, **_: Any) -> None:
    if response_dict.get("status_code") != 200 or not response_dict.get("body"):
        return  # errors are parsed by botocore as usual
    try:
        items, rest = split_items(response_dict["body"].decode("utf-8"))
    except (ValueError, IndexError):
        return  # not a well-formed page: botocore's own parse reports it
    customized_response_dict[RAW_ITEMS] = items
    response_dict["body"] = json.dumps(rest).encode()


_DECODER = json.JSONDecoder()
_SKIP_WS = json.decoder.WHITESPACE.match  # type: ignore[attr-defined]


def split_items(body: str) -> tuple[list[str], dict]:
    """A Scan response's JSON -> (the text of each element of its "Items", every other member
    parsed). Each item is still decoded once (raw_decode finds where it ends, in C), but never
    encoded again. An item whose text holds a line break (JSON allows one between tokens) is
    re-encoded compactly, so that every item stays one line of the export. ValueError or
    IndexError on text that is not such an object."""
    items: list[str] = []
    rest: dict = {}
    pos = _SKIP_WS(body, 0).end()
    if body[pos : pos + 1] != "{":
        raise ValueError("a Scan response must be a JSON object")
    pos += 1
    while True:
        pos = _SKIP_WS(body, pos).end()
        if body[pos] == "}":
            return items, rest
        if body[pos] == ",":
            pos = _SKIP_WS(body, pos + 1).end()
        key, pos = _DECODER.raw_decode(body, pos)
        pos = _SKIP_WS(body, pos).end()
        if body[pos] != ":":
            raise ValueError(f"expected ':' at {pos}")
        pos = _SKIP_WS(body, pos + 1).end()
        if key != "Items" or body[pos] != "[":
            rest[key], pos = _DECODER.raw_decode(body, pos)
            continue
        pos += 1
        while True:
            pos = _SKIP_WS(body, pos).end()
            if body[pos] == "]":
                pos += 1
                break
            if body[pos] == ",":
                pos = _SKIP_WS(body, pos + 1).end()
            item, end = _DECODER.raw_decode(body, pos)
            text = body[pos:end]
            items.append(item_text(item) if "\n" in text or "\r" in text else text)
            pos = end


def report(message: str) -> None:
    """A progress line from inside a Spark task: the local runner shows lines starting 'ddb-s3: '
    (executor stderr reaches the step log); on EMR it lands in the container's stderr."""
    print("ddb-s3: " + message, file=sys.stderr, flush=True)


def _estimate_units(item_texts: list[str], consistent: bool) -> float:
    size = sum(len(t) for t in item_texts)
    units = max(1, -(-size // 4096))
    return units if consistent else units / 2
