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
