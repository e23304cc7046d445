"""Issue 26.3, side by side: the connector reader's per-item cost of turning Scan pages into export
lines, on the same captured pages in one JVM (bench/jvm/ScanPageDecode.java): SDK v2's unmarshalling
plus our converter (the stock reader), the same with dev.ddbs3.RawScanItems on (the reader now), and
a streaming copy of each item's bytes. The stock path's lines and the copy's are checked equal as JSON
before any figure is kept."""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from launcher.export.run.jars import connector_classpath

from .data import client

SOURCE = Path(__file__).parent / "jvm" / "ScanPageDecode.java"


def capture_pages(table: str, folder: Path) -> list[Path]:
    """Every page of a one-segment Scan of `table`, as the HTTP body DynamoDB (dynalite) sent."""
    ddb = client("dynamodb")
    bodies: list[bytes] = []
    ddb.meta.events.register("before-parse.dynamodb.Scan", lambda response_dict, **_: bodies.append(response_dict["body"]))
    for _ in ddb.get_paginator("scan").paginate(TableName=table):
        pass
    paths = []
    for i, body in enumerate(bodies):
        paths.append(folder / f"page-{i:05d}.json")
        paths[-1].write_bytes(body)
    return paths


def compare(table: str, rounds: int = 20) -> dict[str, Any]:
    """CPU µs per item of each mode, from one JVM run over every page of `table`, `rounds` times."""
    with tempfile.TemporaryDirectory(prefix="ddb-s3-decode-") as tmp:
        work = Path(tmp)
        pages = capture_pages(table, work)
        # As a local executor has them: Spark's jars (jackson-core 2.15 among them) first, then the connector's.
        import pyspark

        spark_jars = Path(pyspark.__file__).parent / "jars" / "*"
        classpath = ":".join([str(spark_jars), *(str(p) for p in connector_classpath() if not p.name.endswith("-classes.jar"))])
        subprocess.run(["javac", "-nowarn", "-cp", classpath, "-d", str(work), str(SOURCE)], check=True, capture_output=True)
        check = work / "lines"
        run = subprocess.run(["java", "-cp", f"{work}:{classpath}", "ScanPageDecode", str(rounds), *map(str, pages)],
                             check=True, capture_output=True, text=True, env=dict(os.environ, SCAN_PAGE_DECODE_CHECK=str(check)))
        modes = {doc["mode"]: doc for doc in map(json.loads, run.stdout.splitlines())}
        sdk_lines = check.with_suffix(".sdk").read_bytes().splitlines()
        raw_lines = check.with_suffix(".raw").read_bytes().splitlines()
        if len(sdk_lines) != len(raw_lines) or any(json.loads(a) != json.loads(b) for a, b in zip(sdk_lines, raw_lines, strict=True)):
            raise AssertionError(f"the two modes' lines differ ({len(sdk_lines)} and {len(raw_lines)} lines)")
    items_per_page = modes["sdk"]["items"] / (rounds * len(pages))
    return {
        "table": table, "pages": len(pages), "rounds": rounds, "items_per_page": items_per_page,
        "sdk_us_per_item": modes["sdk"]["us_per_item"], "sdk_raw_items_us_per_item": modes["sdk-raw-items"]["us_per_item"],
        "raw_us_per_item": modes["raw"]["us_per_item"],
        "sdk_page_us": modes["sdk-empty"]["us_per_page"],
        # what a raw reader would pay an item: its parse, and the SDK's request cost spread over the page
        "raw_with_request_us_per_item": modes["raw"]["us_per_item"] + modes["sdk-empty"]["us_per_page"] / items_per_page,
        "lines_equal": len(sdk_lines),
    }
