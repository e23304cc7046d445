"""Export progress (issue 15): each task prints its running count every few seconds, the local runner
adds the tasks up (rate and, when the table's size is known, an ETA): a live display on a terminal,
a line every few seconds elsewhere."""

import json

import pytest

from launcher.core.result_line import PROGRESS_PREFIX
from launcher.export.run import CountLines, ReadCount
from launcher.export.run.local import ReadTally
from launcher.job.runtime import ReadStats

pytestmark = pytest.mark.unit


def test_a_task_reports_its_count_every_few_seconds_and_at_its_end(capsys):
    now = [0.0]
    stats = ReadStats(partition=3, report_seconds=5.0, clock=lambda: now[0])

    def lines():
        for i in range(2500):
            now[0] = i * 0.004  # 2500 lines over 10 s
            yield "x" * 10

    assert sum(1 for _ in stats.watch(lines())) == 2500
    reports = [json.loads(line[len(PROGRESS_PREFIX) :]) for line in capsys.readouterr().err.splitlines()]
    assert reports[-1] == {"partition": 3, "items": 2500, "bytes": 25000, "seconds": 10.0}  # the final count
    assert [r["items"] for r in reports[:-1]] == [2000]  # checked each 1000 lines, at most every 5 s


def test_the_runner_adds_the_tasks_up_with_a_rate_and_an_eta():
    now = [0.0]
    tally = ReadTally(table_items=100_000, budget=500.0, clock=lambda: now[0])
    assert tally.update("INFO something else") is None
    now[0] = 7.0  # Spark took 6 s to start; the first item was read at 6 s
    assert tally.update(PROGRESS_PREFIX + '{"partition": 0, "items": 1000, "bytes": 1000000, "seconds": 1.0}').items == 1000
    now[0] = 16.0
    count = tally.update(PROGRESS_PREFIX + '{"partition": 1, "items": 9000, "bytes": 9000000, "seconds": 9.5}')
    assert count.seconds == 10.0  # since the first item, not since Spark started
    assert count.text() == "read 10,000 items, 10.0 MB, 1,000 items/s (budget 500 units/s); about 1m30s left of ~100,000"
    now[0] = 26.0  # a task's later line replaces its earlier count, never adds to it
    assert tally.update(PROGRESS_PREFIX + '{"partition": 1, "items": 19000, "bytes": 19000000, "seconds": 19.5}').items == 20_000


def test_a_progress_line_the_jvm_wrote_into_is_read_or_skipped_never_fatal():
    now = [0.0]
    tally = ReadTally(table_items=0, budget=5.0, clock=lambda: now[0])
    now[0] = 1.0
    glued = "26/11/28 INFO Executor: x" + PROGRESS_PREFIX + '{"partition": 0, "items": 5, "bytes": 50}26/11/28 INFO y'
    assert tally.update(glued).text().startswith("read 5 items")
    assert tally.update(PROGRESS_PREFIX + '{"partition": 0, "ite26/11/28 INFO torn').items == 5  # unchanged
    assert tally.update(PROGRESS_PREFIX + "[1, 2]").items == 5
    assert tally.update(PROGRESS_PREFIX + '{"partition": 1}').items == 5


def test_off_a_terminal_counts_are_a_line_every_few_seconds():
    now = [0.0]
    lines: list[str] = []
    every = CountLines(lines.append, every=5.0, clock=lambda: now[0])
    for t in range(12):
        now[0] = float(t)
        every(ReadCount(items=t * 100, bytes=t * 1000, seconds=t, table_items=0, budget=5.0))
    assert lines == ["read 500 items, 0.0 MB, 100 items/s (budget 5 units/s)", "read 1,000 items, 0.0 MB, 100 items/s (budget 5 units/s)"]


def test_no_rate_is_shown_before_the_read_has_lasted_long_enough_to_say():
    """A task's first line can come a millisecond after its first item: 2 items in 1 ms is no rate."""
    early = ReadCount(items=2, bytes=2000, seconds=0.001, table_items=10, budget=100.0)
    assert early.rate == 0 and early.text() == "read 2 items, 0.0 MB (budget 100 units/s)"
    assert ReadCount(items=2, bytes=2000, seconds=1.0, table_items=10, budget=100.0).text().startswith("read 2 items, 0.0 MB, 2 items/s")


def test_on_a_terminal_the_read_is_a_live_display(monkeypatch):
    """rich draws what a terminal shows; a console forced to act as one records it here."""
    import io

    from rich.console import Console

    from launcher.cli import progress

    screen = io.StringIO()
    monkeypatch.setattr(progress, "err", Console(file=screen, force_terminal=True, width=160, color_system=None))
    with progress.read_display() as show:
        assert show is not None
        show(ReadCount(items=25_000, bytes=26_000_000, seconds=10.0, table_items=100_000, budget=500.0))
    drawn = screen.getvalue()
    assert "25,000/100,000 items, 26.0 MB, 2,500 items/s" in drawn and "(budget 500 units/s)" in drawn
    assert "━" in drawn  # the bar
    screen.truncate(0)
    with progress.read_display() as show:
        assert show is not None
        show(ReadCount(items=40, bytes=4_000, seconds=0.01, table_items=0, budget=500.0))
    assert "40 items, 0.0 MB (budget" in screen.getvalue()  # a first count says no rate, not "0 items/s"


def test_without_a_terminal_there_is_no_live_display(monkeypatch):
    import io

    from rich.console import Console

    from launcher.cli import progress

    monkeypatch.setattr(progress, "err", Console(file=io.StringIO(), force_terminal=False))
    with progress.read_display() as show:
        assert show is None


def test_a_task_knows_when_its_first_and_last_item_arrived(capsys):
    """The summary's read window: wall-clock times of the first and the last item, as ISO strings."""
    import time
    from datetime import datetime

    stats = ReadStats(partition=0)
    assert stats.first is None and stats.last is None  # nothing read yet
    before = time.time()

    def lines():
        yield "a"
        time.sleep(0.05)
        yield "b"

    assert list(stats.watch(lines())) == ["a", "b"]
    after = time.time()
    first, last = (datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() for t in (stats.first, stats.last))
    assert stats.first.endswith("Z") and before - 0.001 <= first < last <= after + 0.001
    assert last - first >= 0.04
