"""The job's last word to its runner: one line with a marker and a JSON object. The JVM writes to
the same pipe, so the line is flushed on its own and read back tolerant of text around it."""

from __future__ import annotations

import json
import sys
from typing import Any

from launcher.core.layout import EXTRAS

RESULT_PREFIX = "ddb-s3 result: "
PROGRESS_PREFIX = "ddb-s3 progress: "  # a task's running count (launcher.job.runtime.ReadStats), one JSON object after it
COUNTERS_PREFIX = "ddb-s3 counters: "  # the driver's job counters (launcher.job.runtime.DriverCounters), in the EMR step's stdout


def last_counters(text: str) -> dict[str, Any] | None:
    """The newest driver counters in a step's stdout (a line torn by the JVM's output is skipped)."""
    for line in reversed(text.splitlines()):
        at = line.find(COUNTERS_PREFIX)
        if at >= 0:
            try:
                doc, _ = json.JSONDecoder().raw_decode(line[at + len(COUNTERS_PREFIX) :])
            except ValueError:
                continue
            if isinstance(doc, dict):
                return doc
    return None


def counters_text(counters: dict[str, Any]) -> str:
    """The job's counters (launcher.job.runtime.DriverCounters) in words, for a wait's progress line."""
    tasks = f"{counters['tasksDone']}/{counters['tasks']} tasks done, " if counters.get("tasks") else ""
    return f"{tasks}{counters['items']:,} items, {counters['bytes'] / 1e6:,.1f} MB written so far"


def print_result(export_id: str, summary: dict[str, Any]) -> None:
    """In one write on a line of its own (the JVM shares stdout)."""
    sys.stdout.flush()
    print(
        "\n"
        + RESULT_PREFIX
        + json.dumps({"exportId": export_id, "itemCount": summary["itemCount"], "dataFileCount": summary[EXTRAS]["dataFileCount"]}),
        flush=True,
    )


def parse_result(line: str) -> dict[str, Any] | None:
    """The job's result object, if this line has the marker: exactly one JSON object after it."""
    at = line.find(RESULT_PREFIX)
    if at < 0:
        return None
    result: dict[str, Any]
    result, _ = json.JSONDecoder().raw_decode(line[at + len(RESULT_PREFIX) :])
    return result
