"""Progress on a terminal: rich displays that keep their place while messages scroll above them.
In logs and CI (no terminal) each of these yields None and the caller prints plain lines instead."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from launcher.cli.base import err, real_console

if TYPE_CHECKING:
    from launcher.export.run import ReadCount, ReadCounts


@contextmanager
def progress_bar(label: str, unit_bytes: bool) -> Iterator[tuple[Callable[..., None], ...] | None]:
    """Download and restore: (set total, advance, set done)."""
    if not err.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    cols = [TextColumn(label), BarColumn()]
    cols += [DownloadColumn(), TransferSpeedColumn()] if unit_bytes else [MofNCompleteColumn()]
    with Progress(*cols, TimeRemainingColumn(), console=real_console(err), transient=False) as progress:
        task = progress.add_task(label, total=None)
        yield (
            lambda total: progress.update(task, total=total),
            lambda n: progress.advance(task, n),
            lambda done: progress.update(task, completed=done),
        )


@contextmanager
def read_display() -> Iterator[ReadCounts | None]:
    """An export's read: items against the table's count when DescribeTable has one (else a bar
    without an end), MB, items/s against the read budget, time left. Shown from the first count."""
    if not err.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(
        TextColumn("read"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}{task.fields[of]} items, {task.fields[mb]:,.1f} MB{task.fields[rate]}"),
        TextColumn("(budget {task.fields[budget]:g} units/s)"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=real_console(err),
        transient=False,
    ) as progress:
        tasks: list = []

        def show(count: ReadCount) -> None:
            fields: dict[str, Any] = {
                "of": f"/{count.table_items:,}" if count.table_items else "",
                "mb": count.bytes / 1e6,
                "rate": f", {count.rate:,.0f} items/s" if count.rate else "",  # no rate yet: none shown, not "0 items/s"
                "budget": count.budget,
            }
            if not tasks:
                tasks.append(progress.add_task("read", total=count.table_items or None, **fields))
            # the table's count is DescribeTable's (6-hourly): a read may pass it; the bar then stays full
            progress.update(tasks[0], completed=count.items, **fields)

        yield show
