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
    "m6g.2xlarge": (8, 0.308, 0.077),
    "m6g.4xlarge": (16, 0.616, 0.154),
    "m7g.xlarge": (4, 0.1632, 0.0408),
    "m7g.2xlarge": (8, 0.3264, 0.0816),
    "m7g.4xlarge": (16, 0.6528, 0.1632),
    "r5.xlarge": (4, 0.252, 0.063),
    "c5.xlarge": (4, 0.170, 0.043),
}
SIZE_VCPUS = {"medium": 1, "large": 2, "xlarge": 4}  # EC2's size names; "<n>xlarge" is 4n vCPUs
ON_DEMAND_READ_PRICE_PER_MILLION = 0.125  # USD per million read request units (2025 price)
# EMR Serverless, us-east-1, x86: per vCPU-hour and per GB-hour of the workers and the driver
# (billed per second, at least a minute); 20 GB of ephemeral storage a worker is included.
SERVERLESS_VCPU_HOUR = 0.052624
SERVERLESS_GB_HOUR = 0.0057785
SERVERLESS_WORKER_VCPUS = 4  # spark.executor.cores of an EMR Serverless job run (and its driver)
SERVERLESS_WORKER_MEMORY_GB = 16  # spark.executor.memory 14g + overhead: EMR Serverless bills 16 GB a worker
SERVERLESS_START_SECONDS = 120  # CreateApplication, then the job run's driver and executors (no pre-initialized capacity)
# AWS Glue 5 (Spark), us-east-1: per DPU-hour, billed per second with a minute at least; G.1X is 1 DPU
# (4 vCPU, 16 GB), G.2X 2, G.4X 4, G.8X 8; NumberOfWorkers counts the driver.
GLUE_DPU_HOUR = 0.44
GLUE_WORKER_DPUS = {"G.1X": 1, "G.2X": 2, "G.4X": 4, "G.8X": 8}
GLUE_START_SECONDS = 30
# The CPU each reader's Spark job spends per item, all its processes together (marginal: the
# 10-item run's CPU taken off), measured by `make bench` on 1M items of ~1 KB (docs/bench.md, run
# of 2026-11-29 01:20 UTC, 2-vCPU Intel Xeon: 47.6 and 24.0). It says how many vCPUs keep up with a
# read budget: past that, the executors and not the budget set the pace. The Hive engine is not
# measured; the connector's figure stands for it.
CPU_US_PER_ITEM = {"connector": 48.0, "segments": 24.0}
NODE_FAMILIES = ("m5", "m6g", "m7g")  # what the projection sizes a cluster from (general purpose)
CLUSTER_START_SECONDS = 480  # a transient EMR cluster takes ~6-10 minutes to reach RUNNING
LOCAL_START_SECONDS = 15  # local Spark with the connector jars
IN_PROCESS_START_SECONDS = 1  # --engine python: the launcher's own threads, no JVM


@dataclass(frozen=True)
class Estimate:
    read_seconds: float
    total_seconds: float
    read_units: float
    read_cost_usd: float  # on-demand tables only; provisioned capacity is paid for anyway
    cluster_cost_usd: float | None  # None: no price known for the instance type
    instance_hours: float
    vcpu_hours: float = 0.0  # runner emr-serverless
    gb_hours: float = 0.0
    dpu_hours: float = 0.0  # runner glue
    cpu_seconds: float = 0.0  # the items' processing at CPU_US_PER_ITEM over the run's vCPUs

    def describe(self) -> str:
        if max(self.cpu_seconds, self.read_seconds) < 1:  # a small table: the start is the whole time
            pace = "under a second of reading: the rest is start-up"
        elif self.cpu_seconds > self.read_seconds:
            pace = f"{duration(self.cpu_seconds)} processing: the vCPUs, not the read budget, set the pace"
        else:
            pace = f"{duration(self.read_seconds)} reading"
        time = f"~{duration(self.total_seconds)} ({pace}), ~{self.read_units:,.0f} read units"
        if self.dpu_hours:
            return (
                f"{time}, est. ${self.read_cost_usd + (self.cluster_cost_usd or 0):,.2f} (reads ${self.read_cost_usd:,.2f}, "
                f"Glue ${self.cluster_cost_usd or 0:,.2f} for {self.dpu_hours:.2f} DPU-hours)"
            )
        if self.vcpu_hours:
            return (
                f"{time}, est. ${self.read_cost_usd + (self.cluster_cost_usd or 0):,.2f} (reads ${self.read_cost_usd:,.2f}, "
                f"EMR Serverless ${self.cluster_cost_usd or 0:,.2f} for {self.vcpu_hours:.2f} vCPU-hours and {self.gb_hours:.2f} GB-hours)"
            )
        if self.cluster_cost_usd is None:
            return (
                f"{time}, reads ${self.read_cost_usd:,.2f}, cluster price unknown for this instance type "
                f"({self.instance_hours:.2f} instance-hours; ddb-s3 knows {', '.join(INSTANCE_PRICES)})"
            )
        return (
            f"{time}, est. ${self.read_cost_usd + self.cluster_cost_usd:,.2f} "
            f"(reads ${self.read_cost_usd:,.2f}, cluster ${self.cluster_cost_usd:,.2f} for {self.instance_hours:.2f} instance-hours)"
        )


def vcpus(instance_type: str) -> int:
    """From the price table, else from the type's size name (xlarge 4, 2xlarge 8, ...; metal: 4)."""
    if instance_type in INSTANCE_PRICES:
        return INSTANCE_PRICES[instance_type][0]
    size = instance_type.rpartition(".")[2]
    if size in SIZE_VCPUS:
        return SIZE_VCPUS[size]
    n = size.removesuffix("xlarge")
    return 4 * int(n) if n != size and n.isdigit() else 4


def estimate(
    size_bytes: int,
    read_units_per_second: float,
    consistent: bool,
    on_demand: bool,
    runner: str,
    transient: bool,
    instance_type: str,
    core_nodes: int,
    workers: int = 2,
    worker_type: str = "G.1X",
    *,
    items: int = 0,
    cpu_us: float = 0.0,
    run_vcpus: int = 0,
) -> Estimate:
    """items, cpu_us (CPU per item, CPU_US_PER_ITEM), run_vcpus: when given, the run takes the
    longer of the read at the budget and the items' processing over the run's vCPUs."""
    # One read unit reads 4 KB strongly consistent, 8 KB eventually consistent.
    read_units = math.ceil(size_bytes / 4096) * (1.0 if consistent else 0.5)
    read_seconds = read_units / max(read_units_per_second, 1e-9)
    cpu_seconds = items * cpu_us / 1e6 / run_vcpus if run_vcpus else 0.0
    start = {
        "local": LOCAL_START_SECONDS,
        "in-process": IN_PROCESS_START_SECONDS,
        "emr-serverless": SERVERLESS_START_SECONDS,
        "glue": GLUE_START_SECONDS,
    }.get(runner, CLUSTER_START_SECONDS if transient else 30)
    total = max(read_seconds, cpu_seconds) + start
    hours = 0.0
    cluster_cost: float | None = 0.0
    read_cost = read_units / 1e6 * ON_DEMAND_READ_PRICE_PER_MILLION if on_demand else 0.0
    if runner == "glue":
        dpu_h = max(60.0, total) / 3600 * workers * GLUE_WORKER_DPUS.get(worker_type, 1)
        return Estimate(read_seconds, total, read_units, read_cost, dpu_h * GLUE_DPU_HOUR, 0.0, dpu_hours=dpu_h, cpu_seconds=cpu_seconds)
    if runner == "emr-serverless":
        billed_hours = max(60.0, total) / 3600 * (workers + 1)  # the executors and the driver, at least a minute
        vcpu_h, gb_h = billed_hours * SERVERLESS_WORKER_VCPUS, billed_hours * SERVERLESS_WORKER_MEMORY_GB
        cost = vcpu_h * SERVERLESS_VCPU_HOUR + gb_h * SERVERLESS_GB_HOUR
        return Estimate(read_seconds, total, read_units, read_cost, cost, 0.0, vcpu_h, gb_h, cpu_seconds=cpu_seconds)
    if runner == "emr" and transient:
        hours = (core_nodes + 1) * total / 3600
        price = INSTANCE_PRICES.get(instance_type)
        cluster_cost = hours * (price[1] + price[2]) if price else None
    return Estimate(read_seconds, total, read_units, read_cost, cluster_cost, hours, cpu_seconds=cpu_seconds)


def cpu_us_per_item(reader: str) -> float:
    return CPU_US_PER_ITEM.get(reader, CPU_US_PER_ITEM["connector"])


def vcpus_to_keep_up(read_units_per_second: float, average_item_size: int, consistent: bool, cpu_us: float) -> float:
    """vCPUs whose processing keeps pace with the read budget: a unit reads 8 KB of items (4 KB
    consistent), each item costs cpu_us of CPU."""
    items_per_second = read_units_per_second * (4096 if consistent else 8192) / max(average_item_size, 1)
    return items_per_second * cpu_us / 1e6


def core_nodes_to_keep_up(read_units_per_second: float, average_item_size: int, consistent: bool, cpu_us: float, instance_type: str) -> int:
    return max(1, math.ceil(vcpus_to_keep_up(read_units_per_second, average_item_size, consistent, cpu_us) / vcpus(instance_type)))


def cheapest_cluster_to_keep_up(read_units_per_second: float, average_item_size: int, consistent: bool, cpu_us: float) -> tuple[str, int]:
    """Of NODE_FAMILIES' sizes we price, each with as few core nodes as keep up with the budget: the
    cheapest cluster an hour (the master is the same type), then the fewest nodes. (type, core nodes)."""
    options = []
    for instance_type, (_, ec2, emr) in INSTANCE_PRICES.items():
        if instance_type.split(".")[0] in NODE_FAMILIES:
            nodes = core_nodes_to_keep_up(read_units_per_second, average_item_size, consistent, cpu_us, instance_type)
            options.append(((nodes + 1) * (ec2 + emr), nodes, instance_type))
    _, nodes, instance_type = min(options)
    return instance_type, nodes


ADVICE_SECONDS = 60  # processing shorter than this is not worth a bigger cluster's advice


def keep_up_advice(
    read_units_per_second: float,
    average_item_size: int,
    consistent: bool,
    reader: str,
    instance_type: str,
    core_nodes: int,
    items: int,
) -> str | None:
    """A plan line when the cluster's vCPUs cannot process items as fast as the budget reads them
    (None when they can, or when the table's `items` take them under a minute anyway: a 200-item
    table is no reason for more nodes): how many core nodes would, and the cheapest cluster that would."""
    cpu_us = cpu_us_per_item(reader)
    need = vcpus_to_keep_up(read_units_per_second, average_item_size, consistent, cpu_us)
    have = core_nodes * vcpus(instance_type)
    if need <= have or items * cpu_us / 1e6 / have < ADVICE_SECONDS:
        return None
    nodes = core_nodes_to_keep_up(read_units_per_second, average_item_size, consistent, cpu_us, instance_type)
    cheapest, cheapest_nodes = cheapest_cluster_to_keep_up(read_units_per_second, average_item_size, consistent, cpu_us)
    return (
        f"{core_nodes} x {instance_type} ({have} vCPUs) process fewer items a second than {read_units_per_second:g} units/s read: "
        f"~{need:.1f} vCPUs keep up at the {reader} reader's measured {cpu_us:g} us an item; "
        f"--core-nodes {nodes} does, or --instance-type {cheapest} --core-nodes {cheapest_nodes} (the cheapest that does)"
    )


def duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
