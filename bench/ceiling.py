"""The ceiling: a minimal parallel Scan with boto3 that throws the items away (one process per
segment, so Python's parsing is not serialised by the GIL), the same Scan with botocore's parse of
the items skipped (as our segments reader does), and a raw S3 upload of the same bytes."""
from __future__ import annotations

import io
import os
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from launcher.job.scan import RAW_ITEMS, keep_raw_items

from .data import client


def _scan_segment(args: tuple[str, int, int, int | None, bool]) -> tuple[int, float, int]:
    table, segment, total, limit, parse = args
    ddb = client()
    if not parse:
        keep_raw_items(ddb)
    kwargs: dict[str, Any] = {"TableName": table, "Segment": segment, "TotalSegments": total,
                              "ReturnConsumedCapacity": "TOTAL"}
    if limit:
        kwargs["Limit"] = limit
    items, units, pages = 0, 0.0, 0
    while True:
        page = ddb.scan(**kwargs)
        items += page["Count"] if parse else len(page[RAW_ITEMS])
        units += (page.get("ConsumedCapacity") or {}).get("CapacityUnits", 0.0)
        pages += 1
        if "LastEvaluatedKey" not in page:
            return items, units, pages
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def raw_scan(table: str, segments: int, limit: int | None = None, parse: bool = True) -> dict[str, Any]:
    t0 = time.monotonic()
    with ProcessPoolExecutor(segments) as pool:
        parts = list(pool.map(_scan_segment, [(table, s, segments, limit, parse) for s in range(segments)]))
    seconds = time.monotonic() - t0
    items = sum(p[0] for p in parts)
    return {"segments": segments, "seconds": seconds, "items": items, "units": sum(p[1] for p in parts),
            "pages": sum(p[2] for p in parts), "items_per_s": items / seconds}


def best_raw_scan(table: str, segment_counts: list[int]) -> dict[str, Any]:
    tries = [raw_scan(table, s) for s in segment_counts]
    best = min(tries, key=lambda t: t["seconds"])
    return best | {"tried": {t["segments"]: round(t["seconds"], 2) for t in tries}}


def raw_s3_upload(bucket: str, key: str, nbytes: int) -> dict[str, Any]:
    """Upload nbytes (incompressible, like gzip output) with s3transfer's default concurrency."""
    s3 = client("s3")
    body = os.urandom(nbytes)
    t0 = time.monotonic()
    s3.upload_fileobj(io.BytesIO(body), bucket, key)
    seconds = time.monotonic() - t0
    return {"bytes": nbytes, "seconds": seconds, "mb_per_s": nbytes / 1e6 / seconds}
