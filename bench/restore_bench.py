"""Restore (launcher.backup.restore) against raw write loops with the same concurrency, on the same items,
and the write budget's accuracy. Runs in this process: the restore is a library call, timed here.

- overwrite mode (BatchWriteItem in 25s) vs a raw BatchWriteItem loop over items already in memory;
- no-overwrite mode (conditional PutItem) vs a raw conditional PutItem loop over items in memory;
- write budget: a PROVISIONED table, write_percent of its WCU as the target, the consumed units/s
  from the ConsumedCapacity that DynamoDB (dynalite) returns, as a ratio to the target."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from launcher.backup.formats import detect, iter_items
from launcher.backup.restore import restore
from launcher.backup.storage import open_location
from launcher.core.codec import json_to_wire
from launcher.options import RestoreOptions

from .data import client, create_table

CONCURRENCY = 8


def load_backup_items(folder: Path) -> list[dict[str, Any]]:
    source = detect(open_location(str(folder)))
    return [json_to_wire(it) for it in iter_items(source)]


def _chunks(seq: list, n: int) -> list[list]:
    return [seq[i:i + n] for i in range(0, len(seq), n)]


def raw_batch_write(table: str, items: list[dict[str, Any]], concurrency: int = CONCURRENCY) -> dict[str, Any]:
    ddb = client()

    def write(batch: list[dict]) -> None:
        pending = {table: [{"PutRequest": {"Item": it}} for it in batch]}
        while pending:
            pending = ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    t0 = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(write, _chunks(items, 25)))
    seconds = time.monotonic() - t0
    return {"seconds": seconds, "items": len(items), "items_per_s": len(items) / seconds}


def raw_put_if_absent(table: str, items: list[dict[str, Any]], hash_key: str = "patient_id",
                      concurrency: int = CONCURRENCY) -> dict[str, Any]:
    ddb = client()

    def write(chunk: list[dict]) -> None:
        for it in chunk:
            ddb.put_item(TableName=table, Item=it, ConditionExpression="attribute_not_exists(#h)",
                         ExpressionAttributeNames={"#h": hash_key})

    t0 = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(write, _chunks(items, 25)))
    seconds = time.monotonic() - t0
    return {"seconds": seconds, "items": len(items), "items_per_s": len(items) / seconds}


def ours(folder: Path, table: str, overwrite: bool, write_percent: float = 0.5, verify_first: bool = True,
         concurrency: int = CONCURRENCY) -> dict[str, Any]:
    # force: the target is another table than the export's (by design here, an empty fresh one)
    opts = RestoreOptions(table=table, overwrite=overwrite, write_percent=write_percent, concurrency=concurrency,
                          verify=verify_first, force=True)
    t0 = time.monotonic()
    res = restore(str(folder), opts)
    seconds = time.monotonic() - t0
    c = res.counts
    return {"seconds": seconds, "restore_s": res.seconds, "items": c.written, "skipped": c.skipped,
            "consumed_wcu": c.consumed_wcu, "budget": res.write_units_per_second,
            "items_per_s": c.written / seconds}


def compare(folder: Path, tag: str, n_expected: int) -> dict[str, Any]:
    """Raw batch, ours overwrite (with and without its verify pass), raw put, ours no-overwrite; each
    into a fresh on-demand table that is dropped (and gone) before the next run starts, so every run
    meets dynalite in the same state and none pays for another's deletion."""
    items = load_backup_items(folder)
    assert len(items) == n_expected, (len(items), n_expected)
    runs = {"raw_batch": lambda t: raw_batch_write(t, items),
            "overwrite": lambda t: ours(folder, t, overwrite=True),
            "overwrite_noverify": lambda t: ours(folder, t, overwrite=True, verify_first=False),
            "raw_put": lambda t: raw_put_if_absent(t, items),
            "put_if_absent": lambda t: ours(folder, t, overwrite=False)}
    out: dict[str, Any] = {"items": len(items), "concurrency": CONCURRENCY}
    ddb = client()
    for run, write in runs.items():
        name = f"bench-restore-{tag}-{run.replace('_', '-')}"
        create_table(ddb, name)
        out[run] = write(name)
        drop_table(ddb, name)
    return out


def drop_table(ddb: Any, name: str) -> None:
    ddb.delete_table(TableName=name)
    ddb.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 600})


def write_budget(folder: Path, tag: str, wcu: int, write_percent: float) -> dict[str, Any]:
    ddb = client()
    name = f"bench-wbudget-{tag}"
    create_table(ddb, name, read_units=100, write_units=wcu)
    res = ours(folder, name, overwrite=True, write_percent=write_percent, verify_first=False)
    drop_table(ddb, name)
    target = wcu * write_percent
    rate = res["consumed_wcu"] / res["restore_s"]
    return {"target": target, "consumed": res["consumed_wcu"], "seconds": res["restore_s"], "rate": rate,
            "ratio": rate / target}
