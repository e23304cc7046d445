"""The job's marked lines, read back from a stream the JVM writes into too."""

import pytest

from launcher.core.result_line import COUNTERS_PREFIX, counters_text, last_counters, parse_result

pytestmark = pytest.mark.unit


def test_the_newest_whole_counters_line_wins():
    text = "\n".join(
        [
            COUNTERS_PREFIX + '{"tasks": 4, "tasksDone": 1, "items": 10, "bytes": 1000}',
            "26/11/28 INFO DAGScheduler: something",
            COUNTERS_PREFIX + '{"tasks": 4, "tasksDone": 3, "items": 30, "bytes": 3000000}',
            COUNTERS_PREFIX + '{"tasks": 4, "tasksD26/11/28 INFO torn',
        ]
    )
    found = last_counters(text)
    assert found == {"tasks": 4, "tasksDone": 3, "items": 30, "bytes": 3000000}
    assert counters_text(found) == "3/4 tasks done, 30 items, 3.0 MB written so far"
    assert last_counters("no counters here\n") is None


def test_before_the_first_stage_the_counters_say_items_only():
    assert counters_text({"tasks": 0, "tasksDone": 0, "items": 0, "bytes": 0}) == "0 items, 0.0 MB written so far"


def test_the_result_line_is_read_with_text_around_it():
    assert parse_result('INFO x ddb-s3 result: {"exportId": "e", "itemCount": 3}INFO y') == {"exportId": "e", "itemCount": 3}
    assert parse_result("ddb-s3 progress: {}") is None
