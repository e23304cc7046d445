"""A projection on paper for EMR: time and cost of exporting a 100 GB table, from the CPU per item
measured here, with the plan's own arithmetic (launcher/export/estimate.py: the read at the budget,
the items' processing over the cluster's vCPUs, the transient cluster's start, its prices)."""
from __future__ import annotations

import math
from typing import Any

from launcher.export.estimate import cheapest_cluster_to_keep_up, core_nodes_to_keep_up, estimate, vcpus

# DynamoDB's documented limits (developer guide, "Service, account, and table quotas"):
PARTITION_READ_UNITS = 3000  # per partition, per second
TABLE_READ_UNITS_DEFAULT_QUOTA = 40000  # default per-table read quota (on-demand and provisioned)


def project(size_gb: float, item_bytes: int, cpu_us: float, budget_units: float,
            instance_type: str | None = None, core_nodes: int | None = None, on_demand: bool = True) -> dict[str, Any]:
    """Without instance_type: the cheapest m5/m6g/m7g cluster whose vCPUs keep up with the budget."""
    size = int(size_gb * 1e9)
    items = size // item_bytes
    budget = min(budget_units, TABLE_READ_UNITS_DEFAULT_QUOTA)
    if instance_type is None or core_nodes is None:
        instance_type, core_nodes = cheapest_cluster_to_keep_up(budget, item_bytes, False, cpu_us)
    cores = core_nodes * vcpus(instance_type)
    e = estimate(size, budget, False, on_demand, "emr", True, instance_type, core_nodes,
                 items=items, cpu_us=cpu_us, run_vcpus=cores)
    return {"size_gb": size_gb, "items": items, "read_units": e.read_units, "budget": budget, "read_s": e.read_seconds,
            "cpu_bound_s": e.cpu_seconds, "bound": "read budget" if e.read_seconds >= e.cpu_seconds else "executor CPU",
            "total_s": e.total_seconds, "instance_type": instance_type, "core_nodes": core_nodes, "cores": cores,
            "nodes_to_keep_up": core_nodes_to_keep_up(budget, item_bytes, False, cpu_us, instance_type),
            # segments needed so that no segment has to go faster than a partition can serve
            "segments_min": math.ceil(budget / PARTITION_READ_UNITS),
            "cluster_usd": e.cluster_cost_usd or 0.0, "read_usd": e.read_cost_usd, "usd": (e.cluster_cost_usd or 0.0) + e.read_cost_usd}
