"""Read-budget accuracy: export a PROVISIONED table whose RCU * read_percent is the target, then
measure the units the export consumed per second of its Spark job.

The consumed units: the segments reader pays each Scan page with the ConsumedCapacity that
DynamoDB returns (dynalite reports it), but the job does not print its total, so the same scan
(same segments, same page Limit, so the same pages) is repeated here with ReturnConsumedCapacity
and summed. The seconds: the longest Spark task of the job, from its log (TaskSetManager "Finished task ... in
N ms"): the scan runs inside the tasks, so neither Spark's start nor the job's scheduling is counted.

Each reader runs on two tables (n and 3n items) at the same target: the whole-run rate of each, and
the sustained rate (difference of units over difference of seconds), in which a fixed opening burst
cancels out. The connector's limiter has one (its token bucket starts full: 5 s of budget per task)."""
from __future__ import annotations

from typing import Any

from launcher.export.flow import plan_export
from launcher.job.scan import page_limit
from launcher.options import ExportRequest

from . import ceiling, ours


def read_budget(short_table: str, long_table: str, bucket: str, reader: str, rcu: int,
                read_percent: float) -> dict[str, Any]:
    short = one_read_budget(short_table, bucket, reader, rcu, read_percent)
    long = one_read_budget(long_table, bucket, reader, rcu, read_percent)
    sustained = (long["consumed"] - short["consumed"]) / (long["job_s"] - short["job_s"])
    return short | {"long": long, "sustained_rate": sustained, "sustained_ratio": sustained / short["target"]}


def one_read_budget(table: str, bucket: str, reader: str, rcu: int, read_percent: float) -> dict[str, Any]:
    target = rcu * read_percent
    extra = ["--read-percent", str(read_percent)]
    run = ours.export(table, bucket, reader, *extra, prefix=f"budget-{reader}-{table}")
    plan = plan_export(ExportRequest(table=table, to=f"s3://{bucket}/x", reader=reader, read_percent=read_percent))
    limit = page_limit(plan.task_read_units_per_second, plan.average_item_size, False) if reader == "segments" else None
    replay = ceiling.raw_scan(table, plan.segments, limit)
    rate = replay["units"] / run["task_max_s"]
    return {"reader": reader, "target": target, "consumed": replay["units"], "pages": replay["pages"],
            "job_s": run["task_max_s"], "rate": rate, "ratio": rate / target, "segments": plan.segments,
            "page_limit": limit}
