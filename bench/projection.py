"""A projection on paper for EMR: time and cost of exporting a 100 GB table, from the per-item CPU
cost measured here and DynamoDB's documented limits, priced with launcher/estimate.py's table."""
from __future__ import annotations

import math
from typing import Any

from launcher.export.estimate import CLUSTER_START_SECONDS, INSTANCE_PRICES, ON_DEMAND_READ_PRICE_PER_MILLION

# DynamoDB's documented limits (developer guide, "Service, account, and table quotas"):
PARTITION_READ_UNITS = 3000  # per partition, per second
TABLE_READ_UNITS_DEFAULT_QUOTA = 40000  # default per-table read quota (on-demand and provisioned)
SCAN_PAGE_BYTES = 1024 * 1024  # a Scan page returns at most 1 MB


def project(size_gb: float, item_bytes: int, cpu_s_per_item: float, budget_units: float,
            instance_type: str, core_nodes: int, on_demand: bool = True) -> dict[str, Any]:
    size = size_gb * 1e9
    items = size / item_bytes
    read_units = math.ceil(size / 4096) * 0.5  # eventually consistent: 8 KB per unit
    budget = min(budget_units, TABLE_READ_UNITS_DEFAULT_QUOTA)
    read_s = read_units / budget
    vcpus, ec2, emr = INSTANCE_PRICES[instance_type]
    cores = vcpus * core_nodes
    cpu_s = items * cpu_s_per_item / cores  # if the executors' CPU were the limit
    # Segments needed so that no segment has to go faster than a partition can serve.
    segments_min = math.ceil(budget / PARTITION_READ_UNITS)
    run_s = max(read_s, cpu_s)
    total_s = run_s + CLUSTER_START_SECONDS
    hours = (core_nodes + 1) * total_s / 3600
    cluster_usd = hours * (ec2 + emr)
    read_usd = read_units / 1e6 * ON_DEMAND_READ_PRICE_PER_MILLION if on_demand else 0.0
    return {"size_gb": size_gb, "items": items, "read_units": read_units, "budget": budget, "read_s": read_s,
            "cpu_bound_s": cpu_s, "bound": "read budget" if read_s >= cpu_s else "executor CPU",
            "total_s": total_s, "instance_type": instance_type, "core_nodes": core_nodes, "cores": cores,
            "segments_min": segments_min, "cluster_usd": cluster_usd, "read_usd": read_usd,
            "usd": cluster_usd + read_usd}
