"""The export job without Spark (--engine python): the same functions the Spark job's segments
reader runs in its tasks (scan.scan_segments, s3io.write_data_files, commit.commit), here in
threads of the calling process, one a task of the plan. Same objects, checksums and manifests; no
JVM to start, which is most of a small table's export time (docs/bench.md). An as-of export
(job/as_of.py) keeps its scanned lines in memory until the stream is read: the engine is for small tables.

Threads, not processes: a task waits on DynamoDB and S3 most of the time, and the read budget, not
the CPU, sets a small table's pace."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any

from launcher.job import as_of, commit, runtime, s3io, scan


class Stopped(Exception):
    """A task ended early because another failed or the run was interrupted."""


def export(
    plan: dict[str, Any], report: Callable[[dict[str, Any]], None] | None = None, tick: Callable[[], None] | None = None
) -> dict[str, Any]:
    """Run the plan's export here and return its summary as committed. `report` gets each task's
    running count (runtime.ReadStats' document); by default they are printed as the Spark job's are.
    `tick` is called every runtime.PROGRESS_SECONDS while tasks run, items or not (a tight read
    budget can hold the first page for minutes: the user still sees the run is alive)."""
    settings = runtime.s3_settings(plan)
    s3 = runtime.client(plan, "s3")
    commit.write_started(s3, plan["bucket"], plan["export_root"], settings)
    groups = plan["segment_groups"]
    stop = threading.Event()  # set on an error or Ctrl-C: every task ends at its next item

    def until_stopped(lines: Iterable[str]) -> Iterator[str]:
        for line in lines:
            if stop.is_set():
                raise Stopped()
            yield line

    def scanned(index: int) -> Iterator[str]:
        return scan.scan_segments(
            runtime.client(plan, "dynamodb"), plan["table"]["name"], groups[index], plan["segments"], plan["consistent_read"],
            plan["task_read_units_per_second"], plan["average_item_size"],
        )  # fmt: skip

    def write(index: int, lines: Iterable[str], counted: bool = True) -> list[Any]:
        """`counted`: its items are reported as they are written (an as-of export reports its scan instead)."""
        return list(
            runtime.write_watched(
                lambda watched: s3io.write_data_files(
                    runtime.client(plan, "s3"),
                    plan["bucket"],
                    plan["export_root"] + "data/",
                    index,
                    watched,
                    plan["max_items_per_file"],
                    settings,
                ),
                until_stopped(lines),
                index,
                on_report=report if counted else lambda _doc: None,  # no driver counters to add to: the runner tallies these
            )
        )

    pool = ThreadPoolExecutor(max_workers=max(len(groups), 4), thread_name_prefix="ddb-s3 task")

    def each(task: Callable[[Any], Any], args: list[Any]) -> list[Any]:
        futures = [pool.submit(task, a) for a in args]
        while wait(futures, timeout=runtime.PROGRESS_SECONDS, return_when=FIRST_EXCEPTION).not_done:
            if any(f.done() and f.exception() for f in futures):
                break  # the first failure is raised below; `stop` ends the others
            if tick:
                tick()
        return [future.result() for future in futures]

    try:
        if plan.get("as_of") is None:
            written = [row for rows in each(lambda i: write(i, scanned(i)), list(range(len(groups)))) for row in rows]
            extra: Callable[[dict[str, Any]], dict[str, Any]] = lambda fields: fields  # noqa: E731
        else:
            # the count shown is the Scan's, as it reads (the writes after the stream is read are quick)
            scan_all = lambda i: list(runtime.ReadStats(i, on_report=report).watch(until_stopped(scanned(i))))  # noqa: E731
            written, extra = _as_of(plan, scan_all, lambda i, lines: write(i, lines, counted=False), each)
    except BaseException:
        stop.set()  # the export stays incomplete: no manifest is written
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    files, read = runtime.merge_read_stats(written)
    fields = runtime.summary_fields(plan, {"reader": "segments", "segments": plan["segments"], "inputPartitions": len(groups)}, read)
    return commit.commit(s3, plan["bucket"], plan["export_root"], files, extra(fields), settings)


def _as_of(
    plan: dict[str, Any],
    scan_all: Callable[[int], list[str]],
    write: Callable[[int, Iterable[str]], list[Any]],
    each: Callable[[Callable[[Any], Any], list[Any]], list[Any]],
) -> tuple[list[Any], Callable[[dict[str, Any]], dict[str, Any]]]:
    """The as-of export in threads: the Scan into memory, the stream's window (shards in threads),
    then the scanned lines the window did not change and the items it did, written."""
    spec = plan["as_of"]
    incremental = spec.get("since_time") is not None
    groups = len(plan["segment_groups"])
    scan_start = time.time()
    lines = [] if incremental else each(scan_all, list(range(groups)))
    scan_end = time.time()
    at, since, until = as_of.times(spec, scan_start, scan_end)
    streams = runtime.client(plan, "dynamodbstreams")
    as_of.check_stream(streams, spec, plan["table"]["name"], since)
    reader = as_of.reader_for(
        lambda: runtime.client(plan, "dynamodbstreams"), spec["stream_arn"], spec["key_names"], since, until,
        time.time() + spec["wait_seconds"],
    )  # fmt: skip
    read = as_of.read_window(streams, spec["stream_arn"], spec["key_names"], since, until, time.time() + spec["wait_seconds"], each, reader)
    if incremental:
        parts = [as_of.increment_lines(read.changes)]
    else:
        changed = as_of.items_at(read.changes, at)
        parts = [list(as_of.without_changed(part, changed, spec["key_names"])) for part in lines] + [as_of.changed_lines(changed)]
    written = [row for rows in each(lambda i: write(i, parts[i]), list(range(len(parts)))) for row in rows]
    scan = None if incremental else (scan_start, scan_end)
    return written, lambda fields: as_of.summary_update(fields, spec, at, read, scan)
