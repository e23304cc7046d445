"""What both jobs (the Spark export and the Hive engine's convert step) need from their plan: AWS
clients on the plan's region and endpoints, the S3 settings, and the summary fields every engine
writes. The plan arrives as the JSON dict the template embedded."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from typing import Any

import boto3
from botocore.config import Config

from launcher.core import layout
from launcher.core.result_line import PROGRESS_PREFIX
from launcher.core.s3args import S3WriteSettings

PROGRESS_SECONDS = 5.0
RETRIES = Config(retries={"mode": "standard", "max_attempts": 10})


def client(plan: dict[str, Any], service: str) -> Any:
    """No credentials here: boto3's standard chain (environment, profile, instance role)."""
    return boto3.client(service, region_name=plan["region"], endpoint_url=plan["endpoints"][service], config=RETRIES)


def s3_settings(plan: dict[str, Any]) -> S3WriteSettings:
    return S3WriteSettings(**plan["s3"])


class ReadStats:
    """On an executor: when a task's first and last item arrived from the reader, and their bytes
    (the items in DynamoDB JSON), so the summary can say when the items were read and how much."""

    def __init__(self, partition: int = 0, report_seconds: float = PROGRESS_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.first: str | None = None
        self.last: str | None = None
        self.bytes = 0
        self.items = 0
        self.partition, self.report_seconds, self.clock = partition, report_seconds, clock
        self._reported = clock()

    def watch(self, lines: Iterable[str]) -> Iterator[str]:
        for line in lines:
            now = layout.iso(datetime.now(timezone.utc))
            if self.first is None:
                self.first = now
            self.last = now
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
        doc = {"partition": self.partition, "items": self.items, "bytes": self.bytes}
        print(PROGRESS_PREFIX + json.dumps(doc), file=sys.stderr, flush=True)


def write_watched(
    write: Callable[[Iterator[str]], Iterable[Any]], lines: Iterable[str], partition: int = 0
) -> Iterator[tuple[Any, Any, Any, int]]:
    """A task's side: write its lines with `write`, then yield (data file, first, last, bytes) for
    each file it wrote (the task's bytes on its first file only)."""
    stats = ReadStats(partition)
    files = list(write(stats.watch(lines)))
    for n, data_file in enumerate(files):
        yield data_file, stats.first, stats.last, stats.bytes if n == 0 else 0


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
