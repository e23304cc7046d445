"""Time and cost before launch: pure arithmetic from the table's size, the read budget and the
cluster. Prices are us-east-1 on-demand list prices (USD/hour, EC2 + EMR uplift) and DynamoDB's
on-demand read price; they are approximations for a decision, not a bill."""

from __future__ import annotations

import math
from dataclasses import dataclass

# instance type: (vCPUs, EC2 $/h, EMR $/h)
INSTANCE_PRICES: dict[str, tuple[int, float, float]] = {
    "m5.xlarge": (4, 0.192, 0.048),
    "m5.2xlarge": (8, 0.384, 0.096),
    "m5.4xlarge": (16, 0.768, 0.192),
    "m6g.xlarge": (4, 0.154, 0.039),
    "r5.xlarge": (4, 0.252, 0.063),
    "c5.xlarge": (4, 0.170, 0.043),
}
DEFAULT_VCPUS = 4
ON_DEMAND_READ_PRICE_PER_MILLION = 0.125  # USD per million read request units (2025 price)
CLUSTER_START_SECONDS = 480  # a transient EMR cluster takes ~6-10 minutes to reach RUNNING
LOCAL_START_SECONDS = 15  # local Spark with the connector jars


@dataclass(frozen=True)
class Estimate:
    read_seconds: float
    total_seconds: float
    read_units: float
    read_cost_usd: float  # on-demand tables only; provisioned capacity is paid for anyway
    cluster_cost_usd: float
    instance_hours: float

    def describe(self) -> str:
        return (
            f"~{duration(self.total_seconds)} ({duration(self.read_seconds)} reading), "
            f"~{self.read_units:,.0f} read units, est. ${self.read_cost_usd + self.cluster_cost_usd:,.2f} "
            f"(reads ${self.read_cost_usd:,.2f}, cluster ${self.cluster_cost_usd:,.2f} for {self.instance_hours:.2f} instance-hours)"
        )


def vcpus(instance_type: str) -> int:
    return INSTANCE_PRICES.get(instance_type, (DEFAULT_VCPUS, 0.0, 0.0))[0]


def estimate(
    size_bytes: int,
    read_units_per_second: float,
    consistent: bool,
    on_demand: bool,
    runner: str,
    transient: bool,
    instance_type: str,
    core_nodes: int,
) -> Estimate:
    # One read unit reads 4 KB strongly consistent, 8 KB eventually consistent.
    read_units = math.ceil(size_bytes / 4096) * (1.0 if consistent else 0.5)
    read_seconds = read_units / max(read_units_per_second, 1e-9)
    start = LOCAL_START_SECONDS if runner == "local" else (CLUSTER_START_SECONDS if transient else 30)
    total = read_seconds + start
    hours = 0.0
    cluster_cost = 0.0
    if runner == "emr" and transient:
        _, ec2, emr = INSTANCE_PRICES.get(instance_type, (DEFAULT_VCPUS, 0.0, 0.0))
        nodes = core_nodes + 1
        hours = nodes * total / 3600
        cluster_cost = hours * (ec2 + emr)
    read_cost = read_units / 1e6 * ON_DEMAND_READ_PRICE_PER_MILLION if on_demand else 0.0
    return Estimate(read_seconds, total, read_units, read_cost, cluster_cost, hours)


def duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
