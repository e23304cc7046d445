"""restore's write budget (--write-percent of the table's provisioned write units), end to end against
dynalite. No assertion races the clock: the budget's time is either a fake clock that moves only
when the budget sleeps (so the rate it allowed is exact), or, through the CLI, the run's own elapsed
seconds, which a working budget can only make longer: the units DynamoDB reported as consumed must
fit in rate x elapsed + the one second of burst the bucket starts with + the writes in flight."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from helpers import unique_name, write_export
from launcher.backup.restore import Counts, RestoreOptions, restore
from launcher.core.codec import wire_to_json
from launcher.core.wait import Clock
from launcher.dev.sample_data import lab_items

pytestmark = pytest.mark.integration
PAD = 1500  # bytes of padding: each item is 2 write units (1 KB each), so ConsumedCapacity is not the item count


def provisioned_table(ddb: Any, write_units: int) -> str:
    name = unique_name("budget")
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "patient_id", "KeyType": "HASH"}, {"AttributeName": "sample_id", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "patient_id", "AttributeType": "S"}, {"AttributeName": "sample_id", "AttributeType": "S"}],
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": write_units},
    )
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return name


@pytest.fixture
def table(ddb: Any):
    made: list[str] = []

    def make(write_units: int) -> str:
        made.append(provisioned_table(ddb, write_units))
        return made[-1]

    yield make
    for name in made:
        ddb.delete_table(TableName=name)


class BudgetClock:
    """The budget's time: moves only when the token bucket sleeps, and counts those sleeps."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps = 0
        self.lock = threading.Lock()

    def now(self) -> float:
        with self.lock:
            return self.t

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.t += seconds
            self.sleeps += 1


@pytest.mark.parametrize("overwrite", [False, True], ids=["put-if-absent", "overwrite"])
def test_write_percent_holds_the_consumed_units_to_the_budget(ddb: Any, table, tmp_path: Path, overwrite: bool) -> None:
    items = [wire_to_json(i) for i in lab_items(300, pad=PAD)]
    folder = write_export(tmp_path, items)
    target = table(40)
    budget = BudgetClock()
    said: list[str] = []
    # One writer thread: the budget's clock then adds up exactly the time the writes had to wait.
    opts = RestoreOptions(table=target, write_percent=0.25, concurrency=1, force=True, overwrite=overwrite)
    result = restore(str(folder), opts, say=said.append, clock=Clock(now=budget.now, sleep=budget.sleep))

    rate = 10.0  # 0.25 of 40 provisioned write units
    assert result.write_units_per_second == rate
    assert "budget 10 write units/s (0.25 of 40 provisioned units), 1 threads" in said[-1]
    c = result.counts
    assert c.written == 300 and c.skipped == 0
    assert c.consumed_wcu >= 2 * 300  # what DynamoDB reported (2 units an item), not the item count
    elapsed = budget.now()
    # The bucket starts with one second of budget and lets a write start only when it is not in
    # debt, so before the last write started, everything else was paid for within the budget:
    last_write = 25 * 2 * 2 if overwrite else 2 * 2  # a batch of 25 items, or one item, with room
    assert c.consumed_wcu <= rate * elapsed + rate + last_write
    # ... and it waited no longer than the debt took to repay (each sleep rounded up to 1 ms at most)
    assert rate * elapsed <= c.consumed_wcu - rate + rate * 0.001 * budget.sleeps + 1e-6
    assert budget.sleeps >= 1


def test_write_percent_through_the_cli(ddb: Any, table, tmp_path: Path) -> None:
    """`ddb-s3 restore --write-percent 0.5` into a table of 20 provisioned write units: 10 units/s,
    with four writer threads and the real clock. The run's elapsed seconds can only be longer than
    the budget needs, so the bound holds however slow the machine is."""
    items = [wire_to_json(i) for i in lab_items(40, pad=PAD)]  # 80 write units: about 7 s at 10 units/s
    folder = write_export(tmp_path, items)
    target = table(20)
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "ddb-s3"),
            "restore",
            str(folder),
            "--table",
            target,
            "--force",
            "--write-percent",
            "0.5",
            "--concurrency",
            "4",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "budget 10 write units/s (0.5 of 20 provisioned units), 4 threads" in proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["written"] == 40 and doc["consumedWriteUnits"] >= 80
    rate, in_flight = 10.0, 4 * 2 * 2  # a write of at most 2 units (with room) on each of 4 threads
    # "seconds" is rounded to 0.1 s and starts before the first write
    assert doc["consumedWriteUnits"] <= rate * (doc["seconds"] + 0.05) + rate + in_flight
    assert doc["seconds"] >= 5.0  # 80 units at 10 units/s, less the 1 s burst and the writes in flight


def test_counts_add_into_running_totals() -> None:
    total = Counts(written=3, skipped=1, consumed_wcu=4.5, retries=2)
    before = total
    total += Counts(written=2, identical=5, deleted=1, consumed_wcu=1.25, retries=1)
    assert total is before  # added in place: the checkpoint's totals are the ones progress sees
    assert total == Counts(written=5, skipped=1, identical=5, deleted=1, consumed_wcu=5.75, retries=3)
    assert total.done == 12
    total += Counts()
    assert total == Counts(written=5, skipped=1, identical=5, deleted=1, consumed_wcu=5.75, retries=3)
