"""The plan: a pure function of the request, the table and the clock. Everything that a runner
does later is decided here, shown before anything starts, and rendered from here: render and the
runners read the plan's fields, never the request."""

from __future__ import annotations

import math
import os
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from launcher.core import layout
from launcher.core.errors import BadInput
from launcher.core.hive_columns import HiveColumn, check_key_columns
from launcher.core.s3args import S3WriteSettings
from launcher.core.stream_rules import AWS_RETENTION_S, stream_problem
from launcher.core.table import TableInfo
from launcher.export.estimate import GLUE_WORKER_DPUS, SERVERLESS_WORKER_VCPUS, Estimate, cpu_us_per_item, duration, estimate, vcpus
from launcher.options import ExportRequest

GIB = 1024**3

# What users read (`export --dry-run --json`, render's plan.json) is camelCase like every other JSON
# document of ours; the job inside Spark reads the field names (render/base.py plan_json). Both
# spellings are read back. The nested dataclasses (TableInfo, HiveColumn, S3WriteSettings) take this
# config from the model that holds them. populate_by_name, not validate_by_name: pydantic 2.5, our
# lower bound, has only the former.
PLAN_MODEL = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True, defer_build=True)


class Engine(StrEnum):
    SPARK = "spark"
    HIVE = "hive"
    NATIVE = "native"
    PYTHON = "python"  # the segments reader's job functions in this process (launcher/job/in_process.py)


# --engine auto on the local runner: a table of at most this many items (DescribeTable's count) is
# exported in this process. Spark's fixed cost (~9-13 s, docs/bench.md) is then most of the run.
IN_PROCESS_MAX_ITEMS = 100_000


class Reader(StrEnum):
    CONNECTOR = "connector"
    SEGMENTS = "segments"


class RunnerName(StrEnum):
    LOCAL = "local"
    EMR = "emr"
    EMR_SERVERLESS = "emr-serverless"
    GLUE = "glue"


class ClusterSpec(BaseModel):
    """The EMR cluster: a transient one to start (cluster_id None) or the user's own."""

    model_config = PLAN_MODEL

    cluster_id: str | None
    release_label: str
    instance_type: str
    core_nodes: int
    spot: bool
    log_uri: str | None
    service_role: str
    instance_profile: str
    subnet_id: str | None
    idle_timeout: int
    connector_version: str | None
    python_packages: list[str]
    max_runtime_seconds: int  # a transient cluster shuts itself down after this (bootstrap/max-runtime.sh)

    @property
    def transient(self) -> bool:
        return self.cluster_id is None


class ServerlessSpec(BaseModel):
    """The EMR Serverless side of a run: an application to create (application_id None) or the
    user's own, the job runtime role, the workers and the run's timeout."""

    model_config = PLAN_MODEL

    application_id: str | None
    release_label: str
    execution_role: str  # a role name (its ARN is made with the application's account) or an ARN
    workers: int
    log_uri: str | None
    timeout_minutes: int  # executionTimeoutMinutes: EMR Serverless cancels the run after it

    @property
    def created(self) -> bool:
        return self.application_id is None


class GlueSpec(BaseModel):
    """The Glue side of a run: a job to create (job_name None: ddb-s3-export-<export id>) or the
    user's own to update, its role, workers and the run's timeout."""

    model_config = PLAN_MODEL

    job_name: str
    created: bool  # the job is created for this run (and deleted after it unless keep)
    keep: bool
    role: str  # a role name (made an ARN with the caller's account) or an ARN
    worker_type: str
    workers: int
    timeout_minutes: int


class AsOfSpec(BaseModel):
    """--as-of: the table at one moment, from the Scan and the table's stream (launcher/job/as_of.py);
    with --incremental-since, only the changes since an earlier as-of export."""

    model_config = PLAN_MODEL

    time: int | None  # epoch seconds; None: the job's start (its Scan's), rounded up to the second
    stream_arn: str
    key_names: list[str]
    retention_seconds: int  # the stream keeps records this long (24 hours on AWS)
    wait_seconds: float  # for a quiet open shard to pass the window's end or close
    since_export: str | None = None  # incremental: the base export's URI
    since_time: int | None = None  # incremental: its exportTime, epoch seconds


class BaseExport(BaseModel):
    """--incremental-since: the earlier as-of export the changes start from (its summary's word)."""

    model_config = PLAN_MODEL

    uri: str
    table: str
    time: int  # its exportTime, epoch seconds
    stream_arn: str


def as_of_spec(
    request: ExportRequest, table: TableInfo, stream: dict[str, Any] | None, base: BaseExport | None, now: datetime, retention: int
) -> AsOfSpec | None:
    """The as-of part of the plan, or BadInput when the table's stream cannot prove the table's
    state from the window's start (core/stream_rules.py): before any read."""
    if not (request.as_of or request.incremental_since):
        return None
    at = None if request.as_of in (None, "start") else int(datetime.fromisoformat(str(request.as_of).replace("Z", "+00:00")).timestamp())
    if at is not None and at > now.timestamp():
        raise BadInput(f"--as-of {request.as_of} is in the future: give a past time, or 'start' (this export's start)")
    since = min(at if at is not None else math.floor(now.timestamp()), math.floor(now.timestamp()))
    if base is not None:
        if base.table != table.name:
            raise BadInput(f"--incremental-since {base.uri} is an export of table {base.table}, not {table.name}")
        if base.stream_arn != table.stream_arn:
            raise BadInput(
                f"--incremental-since {base.uri} read stream {base.stream_arn}; table {table.name}'s stream is now"
                f" {table.stream_arn or 'disabled'}: the changes between them are lost, start again with a full --as-of export"
            )
        if at is not None and at <= base.time:
            raise BadInput(
                f"--as-of {request.as_of} is not after the base export's time ({layout.iso(datetime.fromtimestamp(base.time, UTC))})"
            )
        since = base.time
    problem = stream_problem(table.name, stream if table.stream_arn else None, since, now.timestamp(), retention)
    if problem:
        raise BadInput(problem)
    return AsOfSpec(
        time=at,
        stream_arn=table.stream_arn,
        key_names=table.key_names,
        retention_seconds=retention,
        wait_seconds=request.stream_wait_seconds,
        since_export=base.uri if base else None,
        since_time=base.time if base else None,
    )


class ExportPlan(BaseModel):
    model_config = PLAN_MODEL

    table: TableInfo
    table_schema: dict[str, Any]  # what restore needs to recreate the table (into the summary)
    engine: Engine
    engine_reason: str
    runner_reason: str
    reader: Reader
    runner: RunnerName
    consistent_read: bool
    read_percent: float  # a fraction (0.5 = 50%), as the connector's dynamodb.throughput.read.percent
    read_capacity: float  # what read_percent is a fraction of: the table's RCU, or --on-demand-read-units
    region: str
    endpoints: dict[str, str | None]  # dynamodb, s3: None means AWS's own
    export_id: str
    bucket: str
    prefix: str  # the destination prefix given by the user ('' for the bucket root)
    export_root: str  # <prefix>/AWSDynamoDB/<export-id>/
    artifacts_uri: str  # s3:// prefix of this run's uploaded artifacts (runner emr)
    started_at: str
    segments: int
    segment_groups: list[list[int]]  # one Spark task per group (reader segments)
    parallelism: int
    read_units_per_second: float  # the whole job's read budget
    effective_read_units_per_second: float  # what the reader really reads at (the connector rounds per task)
    task_read_units_per_second: float
    average_item_size: int
    max_items_per_file: int
    connector_conf: dict[str, str]
    hive_columns: list[HiveColumn]  # engine hive: [] is the whole-item form
    export_from: datetime | None  # engine native: an incremental export's window
    export_to: datetime | None
    as_of: AsOfSpec | None = None
    s3: S3WriteSettings  # ExpectedBucketOwner and SSE of every S3 call
    cluster: ClusterSpec
    serverless: ServerlessSpec
    glue: GlueSpec
    poll_seconds: float  # between status polls of a cluster or a native export
    max_wait_seconds: float | None = None  # the runner's wait gives up after it (None: no limit)
    estimate: Estimate
    estimate_text: str

    def document(self) -> dict[str, Any]:
        """The plan as users read it: JSON, camelCase keys (docs/json.md)."""
        return self.model_dump(mode="json", by_alias=True)

    @property
    def export_uri(self) -> str:
        return f"s3://{self.bucket}/{self.export_root}"

    @property
    def transient(self) -> bool:
        """A cluster this run starts and terminates."""
        return self.runner == RunnerName.EMR and self.cluster.transient

    def with_export_id(self, export_id: str) -> ExportPlan:
        """The same plan re-pointed at another export id: its export root, its artifacts' prefix (the
        same base, this id last) and a Glue job created for the run (named after the id). An
        Airflow retry uses it to go on with the export an earlier try started."""
        update: dict[str, Any] = {
            "export_id": export_id,
            "export_root": layout.export_root(self.prefix, export_id),
            "artifacts_uri": self.artifacts_uri.rstrip("/").rsplit("/", 1)[0] + "/" + export_id,
        }
        if self.glue.created:
            update["glue"] = self.glue.model_copy(update={"job_name": glue_job_name(export_id)})
        return self.model_copy(update=update)


def choose_engine(request: ExportRequest, table: TableInfo) -> tuple[Engine, str]:
    if request.engine != "auto":
        asked = "engine" in request.model_fields_set  # a flag, ddb-s3.toml or DDB_S3_ENGINE named it
        return Engine(request.engine), f"--engine {request.engine} was asked for" if asked else "the default engine"
    if request.as_of or request.incremental_since:
        if request.runner == "local" and 0 < table.item_count <= IN_PROCESS_MAX_ITEMS:
            return Engine.PYTHON, f"an as-of export of a small table ({table.item_count:,} items): in this process, no JVM to start"
        return Engine.SPARK, "an as-of export merges a Scan with the table's stream in Spark"
    if request.runner == "local" and 0 < table.item_count <= IN_PROCESS_MAX_ITEMS and not table.pitr_enabled:
        return Engine.PYTHON, (
            f"a small table ({table.item_count:,} items, at most {IN_PROCESS_MAX_ITEMS:,}): exported in this process,"
            " no JVM to start (--engine spark forces Spark)"
        )
    if request.consistent_read:
        return Engine.SPARK, "consistent reads need a scan (the native export cannot do them)"
    if table.pitr_enabled:
        return Engine.NATIVE, "point-in-time recovery is on: the native export uses no read capacity"
    return Engine.SPARK, "point-in-time recovery is off, so the native export is not available"


# A segment (a task, a data file) per this many items at least: a 200-item table on 8 vCPUs is one
# Scan, not 8 tasks writing 8 files of 25 items, and a segment's Scan of 20,000 items takes seconds.
MIN_ITEMS_PER_SEGMENT = 20_000
AUTO_LOCAL_MAX_BYTES = 2 * GIB  # --runner auto: up to this size, and
AUTO_LOCAL_MAX_SECONDS = 1800  # this long a read at the budget, the export runs here (no start-up, no compute bill)
CLOUD_RUNNERS = ("emr", "emr-serverless", "glue")


def choose_runner(request: ExportRequest, table: TableInfo, budget: float, on_demand: bool, local_cores: int) -> tuple[str, str]:
    """--runner auto: what exists first (a named cluster, application or Glue job), then the table's
    size and the read budget (a small, quick read runs here), then the least compute cost among the
    three cloud runners at the request's sizes. Returns (runner, the reason in words)."""
    if request.cluster != "transient":
        return "emr", f"--cluster {request.cluster} names a running EMR cluster: no start-up and no new cluster to pay for"
    if request.application_id:
        return "emr-serverless", f"--application-id {request.application_id} names an existing EMR Serverless application"
    if request.glue_job:
        return "glue", f"--glue-job {request.glue_job} names an existing Glue job"
    if request.engine == "hive":
        return "emr", "the Hive engine runs on EMR clusters only"
    estimates = {
        r: estimate(
            table.size_bytes,
            budget,
            request.consistent_read,
            on_demand,
            r,
            True,
            request.instance_type,
            request.core_nodes,
            request.workers,
            request.worker_type,
            items=table_items(table),
            cpu_us=cpu_us_per_item(request.reader),
            run_vcpus=parallelism_for(request.model_copy(update={"runner": r}), local_cores),
        )
        for r in ("local", *CLOUD_RUNNERS)
    }
    size = f"{table.size_bytes / GIB:,.2f} GiB" + (" (sampled)" if table.size_sampled else "")
    local = estimates["local"]
    if table.size_bytes <= AUTO_LOCAL_MAX_BYTES and local.read_seconds <= AUTO_LOCAL_MAX_SECONDS:
        return "local", (
            f"the table is {size} and reads in ~{duration(local.read_seconds)} at the {budget:g} units/s budget: "
            f"local Spark, no start-up and no compute to pay for"
        )
    costs = {r: e.cluster_cost_usd if e.cluster_cost_usd is not None else math.inf for r, e in estimates.items() if r != "local"}
    best = min(CLOUD_RUNNERS, key=lambda r: (costs[r], estimates[r].total_seconds))
    why = "larger than 2 GiB" if table.size_bytes > AUTO_LOCAL_MAX_BYTES else f"a read of ~{duration(local.read_seconds)} at the budget"
    compared = ", ".join(f"{r} ${costs[r]:,.2f} (~{duration(estimates[r].total_seconds)})" for r in CLOUD_RUNNERS)
    return best, f"the table is {size}, {why}, so not here; compute estimates {compared}: {best} costs least"


def table_items(table: TableInfo) -> int:
    """DescribeTable's count, else the size over the average item (a sampled size)."""
    return table.item_count or table.size_bytes // (table.average_item_size or 1024)


def parallelism_for(request: ExportRequest, local_cores: int) -> int:
    if request.runner == "local":
        return max(1, local_cores)
    if request.runner == "emr-serverless":
        return request.workers * SERVERLESS_WORKER_VCPUS
    if request.runner == "glue":  # one worker is the driver; a worker's executor has 4 cores a DPU
        return max(1, (request.workers - 1) * 4 * GLUE_WORKER_DPUS[request.worker_type])
    return max(1, request.core_nodes * vcpus(request.instance_type))


def cluster_spec(request: ExportRequest, estimated_seconds: float) -> ClusterSpec:
    return ClusterSpec(
        cluster_id=None if request.cluster == "transient" else request.cluster,
        release_label=request.release_label,
        instance_type=request.instance_type,
        core_nodes=request.core_nodes,
        spot=request.spot,
        log_uri=request.log_uri,
        service_role=request.service_role,
        instance_profile=request.instance_profile,
        subnet_id=request.subnet_id,
        idle_timeout=request.idle_timeout,
        connector_version=request.connector_version,
        python_packages=[r.strip() for r in (request.python_packages or "").split(",") if r.strip()],
        max_runtime_seconds=max_runtime(request.max_hours, estimated_seconds),
    )


def serverless_spec(request: ExportRequest, estimated_seconds: float) -> ServerlessSpec:
    return ServerlessSpec(
        application_id=request.application_id,
        release_label=request.release_label,
        execution_role=request.execution_role,
        workers=request.workers,
        log_uri=request.log_uri,
        # at least 5 minutes: EMR Serverless refuses a shorter executionTimeoutMinutes
        timeout_minutes=max(5, math.ceil(max_runtime(request.max_hours, estimated_seconds) / 60)),
    )


def glue_job_name(export_id: str) -> str:
    """The Glue job a run creates (no --glue-job): named after the export."""
    return f"ddb-s3-export-{export_id}"


def glue_spec(request: ExportRequest, export_id: str, estimated_seconds: float) -> GlueSpec:
    return GlueSpec(
        job_name=request.glue_job or glue_job_name(export_id),
        created=request.glue_job is None,
        keep=request.keep,
        role=request.glue_role,
        worker_type=request.worker_type,
        workers=request.workers,
        timeout_minutes=max(1, math.ceil(max_runtime(request.max_hours, estimated_seconds) / 60)),
    )


def max_runtime(max_hours: float | None, estimated_seconds: float) -> int:
    """--max-hours, or 3 times the estimate in whole quarter hours, at least an hour."""
    if max_hours is not None:
        return max(1, round(max_hours * 3600))
    return max(3600, math.ceil(3 * estimated_seconds / 900) * 900)


def artifacts_uri(request: ExportRequest, bucket: str, prefix: str, export_id: str) -> str:
    """--artifacts-uri or <to>/_ddb_s3_artifacts, then the export id."""
    base = request.artifacts_uri or f"s3://{bucket}/{prefix + '/' if prefix else ''}_ddb_s3_artifacts"
    return f"{base.rstrip('/')}/{export_id}"


def make_plan(
    request: ExportRequest,
    table: TableInfo,
    *,
    region: str,
    endpoints: dict[str, str | None],
    now: datetime,
    token: str,
    local_cores: int | None = None,
    stream: dict[str, Any] | None = None,
    base: BaseExport | None = None,
    stream_retention: int = AWS_RETENTION_S,
) -> ExportPlan:
    """`stream`: DescribeStream's description of the table's stream (--as-of); `base`: the export
    --incremental-since names."""
    as_of = as_of_spec(request, table, stream, base, now, stream_retention)
    engine, reason = choose_engine(request, table)
    if engine == Engine.NATIVE and not table.pitr_enabled:
        raise BadInput(f"--engine native needs point-in-time recovery on table {table.name!r}: enable PITR or use --engine spark")
    hive_columns = request.hive_columns or []
    if engine == Engine.HIVE and hive_columns:
        check_key_columns(hive_columns, table)
    on_demand = table.billing_mode != "PROVISIONED"
    capacity = request.on_demand_read_units if on_demand else table.read_capacity
    if on_demand and "on_demand_read_units" not in request.model_fields_set:
        # what the table serves now (warm throughput) and its cap, below the connector's 40000 convention
        capacity = min([capacity] + [u for u in (table.warm_read_units, table.max_read_request_units) if u > 0])
    budget = max(1.0, math.floor(capacity * request.read_percent))
    if request.runner == "auto":
        chosen, runner_reason = choose_runner(request, table, budget, on_demand, local_cores or os.cpu_count() or 2)
        request = request.model_copy(update={"runner": chosen})
    else:
        asked = "runner" in request.model_fields_set
        runner_reason = f"--runner {request.runner} was asked for" if asked else "the default runner"
    if engine == Engine.NATIVE:
        runner_reason = "the native export runs in DynamoDB itself: no Spark runner"
    parallelism = parallelism_for(request, local_cores or os.cpu_count() or 2)
    # Segments: one per core so the scan runs in parallel, but no more than one per
    # MIN_ITEMS_PER_SEGMENT items of a counted (or sampled) table; and at least one per GiB.
    items = table_items(table)
    by_items = math.ceil(items / MIN_ITEMS_PER_SEGMENT) if items else parallelism
    segments = request.segments or min(1_000_000, max(min(parallelism, by_items), math.ceil(table.size_bytes / GIB)))
    reader = Reader(request.reader)
    if engine == Engine.PYTHON:
        if request.runner != "local":
            raise BadInput(f"--engine python runs in this process: it needs --runner local, not --runner {request.runner}")
        if "reader" in request.model_fields_set and reader != Reader.SEGMENTS:
            raise BadInput("--engine python reads with boto3's parallel Scan (--reader segments); the connector needs Spark")
        reader = Reader.SEGMENTS
    if request.as_of or request.incremental_since:
        reader = Reader.SEGMENTS  # the scanned items are matched to the stream's records by key, in Python
    if engine == Engine.SPARK and reader == Reader.CONNECTOR:
        groups_n = connector_tasks(int(budget), segments, parallelism)
        read_rate = float(connector_rate(int(budget), segments, groups_n))
    else:  # our own token bucket holds each task to an exact share
        groups_n, read_rate = min(segments, parallelism), budget
    # Task g reads segments g, g + n, ...: the round robin the connector's split generator uses too.
    groups = [list(range(g, segments, groups_n)) for g in range(groups_n)]
    dest = request.destination
    prefix = dest.key.strip("/")
    export_id = layout.new_export_id(now, token)
    est: Estimate = estimate(
        table.size_bytes,
        read_rate,
        request.consistent_read,
        on_demand,
        "in-process" if engine == Engine.PYTHON else request.runner,
        request.cluster == "transient",
        request.instance_type,
        request.core_nodes,
        request.workers,
        request.worker_type,
        items=table_items(table),
        cpu_us=cpu_us_per_item(reader.value if engine in (Engine.SPARK, Engine.PYTHON) else Reader.CONNECTOR.value),
        run_vcpus=parallelism,
    )
    cluster = cluster_spec(request, est.total_seconds)
    return ExportPlan(
        table=table,
        table_schema=table.schema(),
        engine=engine,
        engine_reason=reason,
        runner_reason=runner_reason,
        reader=reader,
        runner=RunnerName(request.runner),
        consistent_read=request.consistent_read,
        read_percent=request.read_percent,
        read_capacity=capacity,
        region=region,
        endpoints=endpoints,
        export_id=export_id,
        bucket=dest.bucket,
        prefix=prefix,
        export_root=layout.export_root(dest.key, export_id),
        artifacts_uri=artifacts_uri(request, dest.bucket, prefix, export_id),
        started_at=layout.iso(now),
        segments=segments,
        segment_groups=groups,
        parallelism=parallelism,
        read_units_per_second=budget,
        effective_read_units_per_second=read_rate,
        task_read_units_per_second=budget / groups_n,
        average_item_size=table.average_item_size or 1024,
        max_items_per_file=request.max_items_per_file,
        connector_conf=connector_conf(
            table, region, endpoints.get("dynamodb"), int(budget), segments, groups_n, custom_provider=custom_provider_for(request.runner)
        ),
        hive_columns=hive_columns,
        export_from=request.export_from,
        export_to=request.export_to,
        as_of=as_of,
        s3=S3WriteSettings(request.expected_bucket_owner, request.sse, request.sse_kms_key_id),
        cluster=cluster,
        serverless=serverless_spec(request, est.total_seconds),
        glue=glue_spec(request, export_id, est.total_seconds),
        poll_seconds=request.poll_seconds,
        max_wait_seconds=request.max_wait_seconds,
        estimate=est,
        estimate_text=est.describe(),
    )


MAX_ITEM_BYTES = 400 * 1024  # DynamoDB's item size limit
CONNECTOR_RATE_TOLERANCE = 0.95  # of the budget: the parallelism we give up for exactness stops here


def connector_rate(budget: int, segments: int, tasks: int) -> int:
    """The units/s DynamoDBInputFormat really reads at with `tasks` splits: each task takes
    max(1, floor(budget / segments * its segments)) (ReadIopsCalculator, connector 5.0.0), and
    segment s goes to task s % tasks."""
    return sum(max(1, int(budget / segments * len(range(t, segments, tasks)))) for t in range(tasks))


def connector_tasks(budget: int, segments: int, parallelism: int) -> int:
    """How many splits the connector reader uses: the most tasks (up to the cores and the segments)
    that read within 5% under the budget, else the count that comes closest without passing it.
    A 5-unit budget on 8 cores is 5 tasks at 1/s, where 8 tasks would each round up to 1/s (8/s)."""
    best, best_rate = 1, 0
    for n in range(min(segments, parallelism), 0, -1):  # most tasks first
        rate = connector_rate(budget, segments, n)
        if rate <= budget and rate >= CONNECTOR_RATE_TOLERANCE * budget:
            return n
        if best_rate < rate <= budget:
            best, best_rate = n, rate
    return best


# Runners whose connector and helper jar share one class loader, so the connector can load our
# dynamodb.customAWSCredentialsProvider (issue 23):
# - local: both jars come through spark.jars (launcher/export/run/jars.py), one child loader; the
#   Central 5.0.0 connector falls back to the instance profile only, which a laptop does not have.
# - glue: --extra-jars puts both on the job's Java class path (Glue's "Job parameters" page), and the
#   connector is the 5.0.0 we upload (render/glue.py), unrelocated, so our provider's SDK v2
#   interface is the connector's own.
# Not on emr and emr-serverless: there the node's emr-ddb jar is the connector. Before upstream PR
# #201 (Aug 2024) DynamoDBClient loads the provider with Class.forName from its own loader; where YARN
# puts /usr/share/aws/emr/ddb/lib/emr-ddb-hadoop.jar on the container class path (it is on `hadoop
# classpath` of an EMR 7 node) and our jar arrives through --jars, every task fails with "Custom
# AWSCredentialsProvider not found". Connector releases 5.2.0-5.3.0 as EMR 7.0/7.1 first shipped them
# also relocate SDK v2 (PR #188), so our provider would not even implement their interface. The
# connector's own default is right there: InstanceProfileCredentialsProvider (5.x before PR #203,
# the cluster's EC2 instance profile) or DefaultCredentialsProvider (PR #203 and its backports to
# 5.2-5.4, which is what makes the connector work under EMR Serverless's job runtime role).
CUSTOM_PROVIDER_RUNNERS = frozenset({"local", "glue"})


def custom_provider_for(runner: str) -> bool:
    """Whether the connector conf names dev.ddbs3.DefaultChainCredentialsProvider (see above)."""
    return str(runner) in CUSTOM_PROVIDER_RUNNERS


def connector_conf(
    table: TableInfo, region: str, endpoint: str | None, budget: int, segments: int, tasks: int, *, custom_provider: bool = True
) -> dict[str, str]:
    """The dynamodb.* Hadoop settings of the connector reader (emr-dynamodb-connector 5.x through
    dev.ddbs3.BudgetedDynamoDBInputFormat, which takes the split count from dynamodb.max.map.tasks).

    `dynamodb.throughput.read` is the plan's budget itself at percent 1.0, and autoscaling stays off:
    with it on, each task would take the table's own capacity from DescribeTable (40000 for an
    on-demand table) and --on-demand-read-units would never reach the reader.
    No credentials here: DefaultChainCredentialsProvider (spark/jvm) reads the standard chain where
    `custom_provider` (custom_provider_for), else the connector's own default provider does."""
    conf = {
        "dynamodb.input.tableName": table.name,
        "dynamodb.region": region,
        "dynamodb.regionid": region,
        "dynamodb.throughput.read": str(budget),
        "dynamodb.throughput.read.percent": "1.0",
        "dynamodb.scan.segments": str(segments),
        "dynamodb.max.map.tasks": str(tasks),
        "dynamodb.yarn.enabled": "false",  # Spark schedules the tasks; YARN math is for MapReduce
        "dynamodb.table.size-bytes": str(max(1, table.size_bytes)),
        "dynamodb.item.count": str(table.item_count),
        # Sizes the first Scan pages. DescribeTable counts a table only every ~6 hours (a new table
        # says 0 bytes); then start from the largest item DynamoDB allows and let the connector
        # learn the real size from ConsumedCapacity. Not from our sample's JSON bytes, which are not
        # DynamoDB's item sizes: measured on a 10-RCU table, that start read 12% over the budget,
        # the 400 KB start within 1% (tests/e2e/test_read_budget.py), a 1-byte start 10% over.
        "dynamodb.item.average.size": str(MAX_ITEM_BYTES if table.size_sampled else table.average_item_size or MAX_ITEM_BYTES),
    }
    if custom_provider:
        conf["dynamodb.customAWSCredentialsProvider"] = "dev.ddbs3.DefaultChainCredentialsProvider"
    if endpoint:
        conf["dynamodb.endpoint"] = endpoint
    return conf
