"""The plan: a pure function of the request, the table and the clock. Everything that a runner
does later is decided here, shown before anything starts, and rendered from here."""
from __future__ import annotations

import math
import os
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from . import layout
from .errors import BadInput
from .estimate import Estimate, estimate, vcpus
from .inspect_table import TableInfo
from .request import ExportRequest

GIB = 1024**3


class ExportPlan(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    request: ExportRequest
    table: dict[str, Any]  # TableInfo as a dict (for the summary and the dry run)
    engine: str
    engine_reason: str
    reader: str
    region: str
    endpoints: dict[str, str | None]  # dynamodb, s3: None means AWS's own
    export_id: str
    bucket: str
    prefix: str  # the destination prefix given by the user ('' for the bucket root)
    export_root: str  # <prefix>/AWSDynamoDB/<export-id>/
    started_at: str
    segments: int
    segment_groups: list[list[int]]  # one Spark task per group (reader segments)
    parallelism: int
    read_units_per_second: float  # the whole job's read budget
    task_read_units_per_second: float
    average_item_size: int
    connector_conf: dict[str, str]
    write_args: dict[str, str]
    estimate: dict[str, float]
    estimate_text: str

    @property
    def export_uri(self) -> str:
        return f"s3://{self.bucket}/{self.export_root}"


def choose_engine(request: ExportRequest, table: TableInfo) -> tuple[str, str]:
    if request.engine != "auto":
        return request.engine, f"--engine {request.engine} was asked for"
    if request.consistent_read:
        return "spark", "consistent reads need a scan (the native export cannot do them)"
    if table.pitr_enabled:
        return "native", "point-in-time recovery is on: the native export uses no read capacity"
    return "spark", "point-in-time recovery is off, so the native export is not available"


def parallelism_for(request: ExportRequest, local_cores: int) -> int:
    if request.runner == "local":
        return max(1, local_cores)
    return max(1, request.core_nodes * vcpus(request.instance_type))


def make_plan(
    request: ExportRequest,
    table: TableInfo,
    *,
    region: str,
    endpoints: dict[str, str | None],
    now: datetime,
    token: str,
    local_cores: int | None = None,
) -> ExportPlan:
    engine, reason = choose_engine(request, table)
    if engine == "native" and not table.pitr_enabled:
        raise BadInput(f"--engine native needs point-in-time recovery on table {table.name!r}: enable PITR or use --engine spark")
    on_demand = table.billing_mode != "PROVISIONED"
    capacity = request.on_demand_read_units if on_demand else table.read_capacity
    budget = max(1.0, math.floor(capacity * request.read_percent))
    parallelism = parallelism_for(request, local_cores or os.cpu_count() or 2)
    # Segments: at least one per core so the scan runs in parallel, and one per GiB of table.
    segments = request.segments or min(1_000_000, max(parallelism, math.ceil(table.size_bytes / GIB)))
    groups_n = min(segments, parallelism)
    groups = [list(range(g, segments, groups_n)) for g in range(groups_n)]
    dest = request.destination
    export_id = layout.new_export_id(now, token)
    root = layout.export_root(dest.key, export_id)
    avg = table.average_item_size or 1024
    est: Estimate = estimate(
        table.size_bytes, budget, request.consistent_read, on_demand, request.runner,
        request.cluster == "transient", request.instance_type, request.core_nodes,
    )
    write_args = {}
    if request.expected_bucket_owner:
        write_args["ExpectedBucketOwner"] = request.expected_bucket_owner
    if request.sse:
        write_args["ServerSideEncryption"] = request.sse
    if request.sse_kms_key_id:
        write_args["SSEKMSKeyId"] = request.sse_kms_key_id
    return ExportPlan(
        request=request,
        table=table.__dict__ | {"key_names": table.key_names, "schema": table.schema()},
        engine=engine,
        engine_reason=reason,
        reader=request.reader,
        region=region,
        endpoints=endpoints,
        export_id=export_id,
        bucket=dest.bucket,
        prefix=dest.key.strip("/"),
        export_root=root,
        started_at=layout.iso(now),
        segments=segments,
        segment_groups=groups,
        parallelism=parallelism,
        read_units_per_second=budget,
        task_read_units_per_second=budget / groups_n,
        average_item_size=avg,
        connector_conf=connector_conf(request, table, region, endpoints.get("dynamodb"), capacity, segments),
        write_args=write_args,
        estimate=est.__dict__,
        estimate_text=est.describe(),
    )


def connector_conf(
    request: ExportRequest, table: TableInfo, region: str, endpoint: str | None, capacity: int, segments: int
) -> dict[str, str]:
    """The dynamodb.* Hadoop settings of DynamoDBInputFormat (emr-dynamodb-connector 5.x).

    getSplits() makes min(segments, floor(read * percent) / 100) splits, so `dynamodb.throughput.read`
    is raised to at least 100 units per segment to get one split per segment; with
    `...read.autoscaling=true` each task still takes its rate from DescribeTable, not from this value.
    No credentials here: DefaultChainCredentialsProvider (spark/jvm) reads the standard chain."""
    split_floor = math.ceil(100 * segments / request.read_percent)
    conf = {
        "dynamodb.input.tableName": table.name,
        "dynamodb.region": region,
        "dynamodb.regionid": region,
        "dynamodb.customAWSCredentialsProvider": "dev.ddbs3.DefaultChainCredentialsProvider",
        "dynamodb.throughput.read": str(max(capacity, split_floor)),
        "dynamodb.throughput.read.percent": str(request.read_percent),
        "dynamodb.throughput.read.autoscaling": "true",
        "dynamodb.scan.segments": str(segments),
        "dynamodb.max.map.tasks": str(segments),
        "dynamodb.yarn.enabled": "false",  # Spark schedules the tasks; YARN math is for MapReduce
        "dynamodb.table.size-bytes": str(max(1, table.size_bytes)),
        "dynamodb.item.count": str(table.item_count),
        "dynamodb.item.average.size": str(table.average_item_size or 1),
    }
    if endpoint:
        conf["dynamodb.endpoint"] = endpoint
    return conf
