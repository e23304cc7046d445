"""What both jobs (the Spark export and the Hive engine's convert step) need from their plan: AWS
clients on the plan's region and endpoints, the S3 settings, and the summary fields every engine
writes. The plan arrives as the JSON dict the template embedded."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from typing import Any

import boto3
from botocore.config import Config

from launcher.core import layout
from launcher.core.result_line import COUNTERS_PREFIX, PROGRESS_PREFIX
from launcher.core.s3args import S3WriteSettings

PROGRESS_SECONDS = 5.0
RETRIES = Config(retries={"mode": "standard", "max_attempts": 10})


def client(plan: dict[str, Any], service: str) -> Any:
    """No credentials here: boto3's standard chain (environment, profile, instance role)."""
    return boto3.client(service, region_name=plan["region"], endpoint_url=plan["endpoints"].get(service), config=RETRIES)


def s3_settings(plan: dict[str, Any]) -> S3WriteSettings:
    return S3WriteSettings(**plan["s3"])


def _iso(at: float | None) -> str | None:
    return None if at is None else layout.iso(datetime.fromtimestamp(at, timezone.utc))


class ReadStats:
    """On an executor: when a task's first and last item arrived from the reader, and their bytes
    (the items in DynamoDB JSON), so the summary can say when the items were read and how much."""

    def __init__(
        self,
        partition: int = 0,
        report_seconds: float = PROGRESS_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        on_report: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.on_report = on_report  # None: a line on stderr, which the local runner reads from Spark's output
        self.bytes = 0
        self.items = 0
        self.partition, self.report_seconds, self.clock = partition, report_seconds, clock
        self._reported = clock()
        self._started: float | None = None  # the clock at the first item
        self._first_at: float | None = None  # wall-clock seconds; formatted only when asked (per item it cost 6 us)
        self._last_at: float | None = None

    @property
    def first(self) -> str | None:
        return _iso(self._first_at)

    @property
    def last(self) -> str | None:
        return _iso(self._last_at)

    def watch(self, lines: Iterable[str]) -> Iterator[str]:
        wall = time.time
        for line in lines:
            self._last_at = wall()
            if self._first_at is None:
                self._first_at = self._last_at
                self._started = self.clock()
            self.bytes += len(line)
            self.items += 1
            if self.items % 1000 == 0 and self.clock() - self._reported >= self.report_seconds:
                self.report()
            yield line
        self.report()

    def report(self) -> None:
        """A progress line on stderr; the local runner adds up the tasks' lines (on EMR it goes to
        the executor's log)."""
        self._reported = self.clock()
        seconds = 0.0 if self._started is None else round(self._reported - self._started, 2)  # reading, so far
        doc = {"partition": self.partition, "items": self.items, "bytes": self.bytes, "seconds": seconds}
        if self.on_report is not None:
            self.on_report(doc)
        else:
            print(PROGRESS_PREFIX + json.dumps(doc), file=sys.stderr, flush=True)


def write_watched(
    write: Callable[[Iterator[str]], Iterable[Any]],
    lines: Iterable[str],
    partition: int = 0,
    totals: tuple[Any, Any] | None = None,
    on_report: Callable[[dict[str, Any]], None] | None = None,
) -> Iterator[tuple[Any, Any, Any, int]]:
    """A task's side: write its lines with `write`, then yield (data file, first, last, bytes) for
    each file it wrote (the task's bytes on its first file only). `totals`: the driver's item and
    byte accumulators (DriverCounters.totals), added to when the task is done; `on_report`: where
    its running counts go (ReadStats)."""
    stats = ReadStats(partition, on_report=on_report)
    files = list(write(stats.watch(lines)))
    if totals is not None:
        totals[0].add(stats.items)
        totals[1].add(stats.bytes)
    for n, data_file in enumerate(files):
        yield data_file, stats.first, stats.last, stats.bytes if n == 0 else 0


def write_gzipped(
    write: Callable[[dict[str, Any]], Iterable[Any]], partition: int = 0, totals: tuple[Any, Any] | None = None
) -> Iterator[tuple[Any, Any, Any, int]]:
    """write_watched for the connector reader, whose JVM side counted the task's items and timed
    them (and printed its progress lines): `write(task)` writes the files and fills `task` with
    items, bytes and first/last in epoch ms (s3io.write_gzipped_files). The same tuples out, and the
    same additions to `totals`."""
    task: dict[str, Any] = {}
    files = list(write(task))
    if "items" not in task:
        raise RuntimeError(f"partition {partition}: the JVM writer ended without its task count")
    if totals is not None:
        totals[0].add(int(task["items"]))
        totals[1].add(int(task["bytes"]))
    first, last = _iso_ms(task.get("first")), _iso_ms(task.get("last"))
    for n, data_file in enumerate(files):
        yield data_file, first, last, int(task["bytes"]) if n == 0 else 0


def _iso_ms(epoch_ms: int | None) -> str | None:
    if epoch_ms is None:
        return None
    ms = int(epoch_ms)
    return layout.iso(datetime.fromtimestamp(ms // 1000, timezone.utc).replace(microsecond=ms % 1000 * 1000))


class DriverCounters:
    """On the driver: every few seconds one line of the job's counters on stdout, which on EMR is the
    step's stdout (archived to LogUri as the step runs, where the launcher's wait reads it; the
    tasks' own lines go to the YARN containers' logs there). Tasks from Spark's status tracker; items
    and bytes from accumulators, which grow as tasks finish."""

    def __init__(self, sc: Any, every: float = PROGRESS_SECONDS) -> None:
        self.sc, self.every = sc, every
        self.totals = (sc.accumulator(0), sc.accumulator(0))  # what write_watched adds to
        self.tasks: dict[str, int] = {"tasks": 0, "tasksDone": 0, "tasksRunning": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ddb-s3 counters", daemon=True)

    def __enter__(self) -> DriverCounters:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        self._stop.set()
        self._thread.join()
        self.report(finished=exc_type is None)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.report()

    def report(self, finished: bool = False) -> None:
        tracker = self.sc.statusTracker()
        stages = [s for s in (tracker.getStageInfo(i) for i in tracker.getActiveStageIds()) if s is not None]
        if stages:  # between stages and after the job there are none: the last seen stand
            self.tasks = {
                "tasks": sum(s.numTasks for s in stages),
                "tasksDone": sum(s.numCompletedTasks for s in stages),
                "tasksRunning": sum(s.numActiveTasks for s in stages),
            }
        if finished:
            self.tasks.update(tasksDone=self.tasks["tasks"], tasksRunning=0)
        doc = {**self.tasks, "items": self.totals[0].value, "bytes": self.totals[1].value, "finished": finished}
        print(COUNTERS_PREFIX + json.dumps(doc), flush=True)


def merge_read_stats(results: list[tuple[Any, Any, Any, int]]) -> tuple[list[Any], dict[str, Any]]:
    """The driver's side: the tasks' (data file, first, last, bytes) -> the files, and the read."""
    firsts = [r[1] for r in results if r[1]]
    lasts = [r[2] for r in results if r[2]]
    read = {"from": min(firsts) if firsts else None, "to": max(lasts) if lasts else None, "bytes": sum(r[3] for r in results)}
    return [r[0] for r in results], read


def summary_fields(plan: dict[str, Any], exporter: dict[str, Any], read: dict[str, Any]) -> dict[str, Any]:
    """manifest-summary.json's fields known before the commit (commit adds the counts, the manifest
    keys and the end time). A Scan is not a snapshot: each item is as it was when its page was read,
    somewhere in read["from"]..read["to"], which exportTime (the window's start) and ddbS3.readWindow say."""
    settings = s3_settings(plan)
    table = plan["table"]
    return {
        "exportArn": None,  # DynamoDB alone issues export ARNs; ours is no DynamoDB export (ddbS3.exportId)
        "startTime": plan["started_at"],
        "tableArn": table["arn"],
        "tableId": table.get("table_id") or None,
        "exportTime": read["from"] or plan["started_at"],
        "s3Prefix": plan["prefix"] or None,
        "s3SseAlgorithm": settings.sse or "AES256",  # no --sse: the bucket's default, SSE-S3, as AWS writes
        "s3SseKmsKeyId": settings.sse_kms_key_id,
        "billedSizeBytes": read["bytes"],
        "exportType": "FULL_EXPORT",
        # ours (commit puts them under "ddbS3")
        "tool": "ddb-s3",
        "exportId": plan["export_id"],
        "tableName": table["name"],
        "tableSchema": plan["table_schema"],
        "engine": plan["engine"],
        "readPercent": plan["read_percent"],
        "consistentRead": plan["consistent_read"],
        "readWindow": {"from": read["from"], "to": read["to"]},
        **exporter,
    }
