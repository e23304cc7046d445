"""The export job without Spark (--engine python): the same functions the Spark job's segments
reader runs in its tasks (scan.scan_segments, s3io.write_data_files, commit.commit), here in
threads of the calling process, one a task of the plan. Same objects, checksums and manifests; no
JVM to start, which is most of a small table's export time (docs/bench.md).

Threads, not processes: a task waits on DynamoDB and S3 most of the time, and the read budget, not
the CPU, sets a small table's pace."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from launcher.job import commit, runtime, s3io, scan


class Stopped(Exception):
    """A task ended early because another failed or the run was interrupted."""


def export(plan: dict[str, Any], report: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run the plan's export here and return its summary as committed. `report` gets each task's
    running count (runtime.ReadStats' document); by default they are printed as the Spark job's are."""
    settings = runtime.s3_settings(plan)
    s3 = runtime.client(plan, "s3")
    commit.write_started(s3, plan["bucket"], plan["export_root"], settings)
    groups = plan["segment_groups"]
    stop = threading.Event()  # set on an error or Ctrl-C: every task ends at its next item

    def until_stopped(lines: Iterator[str]) -> Iterator[str]:
        for line in lines:
            if stop.is_set():
                raise Stopped()
            yield line

    def task(index: int) -> list[Any]:
        ddb, task_s3 = runtime.client(plan, "dynamodb"), runtime.client(plan, "s3")
        lines = scan.scan_segments(
            ddb, plan["table"]["name"], groups[index], plan["segments"], plan["consistent_read"],
            plan["task_read_units_per_second"], plan["average_item_size"],
        )  # fmt: skip
        return list(
            runtime.write_watched(
                lambda watched: s3io.write_data_files(
                    task_s3, plan["bucket"], plan["export_root"] + "data/", index, watched, plan["max_items_per_file"], settings
                ),
                until_stopped(lines),
                index,
                on_report=report,  # no driver counters to add to: the runner tallies these
            )
        )

    pool = ThreadPoolExecutor(max_workers=len(groups), thread_name_prefix="ddb-s3 task")
    try:
        futures = [pool.submit(task, index) for index in range(len(groups))]
        written = [row for future in futures for row in future.result()]
    except BaseException:
        stop.set()  # the export stays incomplete: no manifest is written
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    files, read = runtime.merge_read_stats(written)
    fields = runtime.summary_fields(plan, {"reader": "segments", "segments": plan["segments"], "inputPartitions": len(groups)}, read)
    return commit.commit(s3, plan["bucket"], plan["export_root"], files, fields, settings)
