"""--engine python keeps telling the user it is alive while no item arrives (issue 24's exercise:
with a tight read budget nothing was printed for two minutes). The Scan is a stand-in here: one that
holds its first item back, as a page waiting on the budget does (dynalite answers at once, so the
real Scan cannot show a long wait without a long test); the writer, S3 (moto) and the commit are real."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from helpers import plan_for
from launcher.export.render.base import plan_json
from launcher.job import in_process, runtime, scan

pytestmark = pytest.mark.integration


def test_ticks_come_while_the_scan_holds_its_first_item(s3: Any, bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "PROGRESS_SECONDS", 0.05)
    released = threading.Event()

    def held_scan(*_args: Any, **_kw: Any):
        released.wait(timeout=30)  # until the test has seen the ticks
        for n in range(3):
            yield json.dumps({"Item": {"pk": {"S": f"k{n}"}}})

    monkeypatch.setattr(scan, "scan_segments", held_scan)
    ticks: list[float] = []
    reports: list[dict] = []

    def tick() -> None:
        ticks.append(time.monotonic())
        if len(ticks) == 3:
            released.set()

    plan = plan_for(to=f"s3://{bucket}/ticks", region="us-east-1", engine="python", segments=1)
    summary = in_process.export(plan_json(plan), reports.append, tick)
    assert summary["itemCount"] == 3
    assert len(ticks) >= 3  # three ticks before any item: the runner prints its count line on each


def test_an_as_of_export_counts_its_scan_as_it_reads(s3: Any, bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 24: an as-of export's count stayed at 0 through its Scan (the long part) and counted the
    writes after the stream was read. The Scan and the stream's window are stand-ins here (an empty
    window: nothing changed); the counts the runner is given are what is checked."""
    from launcher.job import as_of

    monkeypatch.setattr(scan, "scan_segments", lambda *_a, **_k: (json.dumps({"Item": {"pk": {"S": f"k{n}"}}}) for n in range(5)))
    reports: list[dict] = []
    seen_at_stream_read: list[list[dict]] = []

    def read_window(_streams: Any, arn: str, _keys: Any, since: int, until: int, *_rest: Any) -> as_of.StreamRead:
        seen_at_stream_read.append(list(reports))
        return as_of.StreamRead(arn, since, until)

    monkeypatch.setattr(as_of, "check_stream", lambda *_a: None)
    monkeypatch.setattr(as_of, "read_window", read_window)
    doc = plan_json(plan_for(to=f"s3://{bucket}/as-of-count", region="us-east-1", engine="python", segments=1))
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/LabResults/stream/2026-12-07T00:00:00.000"
    doc["as_of"] = {"time": None, "stream_arn": arn, "key_names": ["pk"], "wait_seconds": 5, "retention_seconds": 86400}
    summary = in_process.export(doc, reports.append)
    assert summary["itemCount"] == 5
    assert [r["items"] for r in seen_at_stream_read[0]] == [5]  # the Scan's count, before the stream is read
    assert reports == seen_at_stream_read[0]  # the writes after it are not counted again
