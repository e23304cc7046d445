"""The job's last word to its runner: one line with a marker and a JSON object. The JVM writes to
the same pipe, so the line is flushed on its own and read back tolerant of text around it."""

from __future__ import annotations

import json
import sys
from typing import Any

from launcher.core.layout import EXTRAS

RESULT_PREFIX = "ddb-s3 result: "
PROGRESS_PREFIX = "ddb-s3 progress: "  # a task's running count (launcher.job.runtime.ReadStats), one JSON object after it


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
