"""Planning and rendering are pure: same inputs, same plan and artifacts."""

import ast
import dataclasses
import json
import operator
import re
from functools import partial, reduce

import pytest

from helpers import GIB, plan_for, table_description
from launcher.core.table import table_info_from_description
from launcher.export.plan import connector_conf, connector_rate, connector_tasks
from launcher.export.render import render_export
from launcher.export.render.base import JOB_SCRIPT, Target, plan_json

pytestmark = pytest.mark.unit

# LabResults keyed (patient_id HASH, sample_id RANGE), the KeySchema listed RANGE first as
# DescribeTable may: 1M items, 5 GiB, 400 RCU.
DESC = table_description(
    keys=(("sample_id", "RANGE", "S"), ("patient_id", "HASH", "S")),
    definitions=(("patient_id", "S"), ("sample_id", "S")),
    item_count=1_000_000,
    size_bytes=5 * GIB,
)
# `--to s3://lab-backups/ddb/nightly`, planned for 4 local cores
nightly_plan = partial(plan_for, DESC, to="s3://lab-backups/ddb/nightly", local_cores=4)


def test_plan_is_pure_and_shaped_like_a_native_export():
    a, b = nightly_plan(), nightly_plan()
    assert a == b
    assert a.export_id == "01795780800123-abcd1234"
    assert re.fullmatch(r"\d{14}-[0-9a-f]{8}", a.export_id)
    assert a.export_root == "ddb/nightly/AWSDynamoDB/01795780800123-abcd1234/"
    assert a.export_uri == "s3://lab-backups/ddb/nightly/AWSDynamoDB/01795780800123-abcd1234/"


def test_read_budget_and_segments():
    p = nightly_plan(read_percent=0.5)
    assert p.read_units_per_second == 200  # 400 RCU * 0.5
    assert p.segments == 5  # one per GiB of table beats the 4 local cores
    assert len(p.segment_groups) == 4 and sorted(reduce(operator.iadd, p.segment_groups, [])) == list(range(5))
    assert p.task_read_units_per_second == 50
    assert nightly_plan(segments=16).segments == 16


@pytest.mark.parametrize(
    ("items", "cores", "segments"),
    [
        (200, 8, 1),  # one Scan, one task, one file: not 8 files of 25 items
        (45_000, 8, 3),  # a segment per 20,000 items
        (1_000_000, 8, 8),  # then one per core
        (0, 8, 8),  # not counted: no reason to read slower
    ],
)
def test_a_small_table_gets_a_segment_per_20000_items_not_one_per_core(items: int, cores: int, segments: int):
    desc = table_description(item_count=items, size_bytes=items * 100)
    assert plan_for(desc, to="s3://lab-backups/x", local_cores=cores).segments == segments


def test_on_demand_uses_assumed_capacity():
    desc = DESC | {"BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"}}
    p = plan_for(desc, to="s3://lab-backups/x", read_percent=0.25, on_demand_read_units=1000, token="00000000", local_cores=2)
    assert p.read_units_per_second == 250
    assert p.estimate.read_cost_usd > 0


def test_connector_conf_carries_the_budget_and_the_split_count():
    p = nightly_plan(segments=4, read_percent=0.5)
    conf = p.connector_conf
    # ReadIopsCalculator: per task floor(read * percent) / segments * local segments
    assert conf["dynamodb.throughput.read"] == "200" and conf["dynamodb.throughput.read.percent"] == "1.0"
    assert "dynamodb.throughput.read.autoscaling" not in conf  # on, it would re-read the table's own capacity
    assert conf["dynamodb.scan.segments"] == "4" and conf["dynamodb.max.map.tasks"] == "4"
    assert p.effective_read_units_per_second == 200
    assert "dynamodb.endpoint" not in conf  # AWS's own endpoint unless one is configured
    assert not any("secret" in k.lower() or "accesskey" in k.lower() for k in conf)
    info = table_info_from_description(DESC)
    with_endpoint = connector_conf(info, "us-east-1", "http://127.0.0.1:9000", 400, 4, 4)
    assert with_endpoint["dynamodb.endpoint"] == "http://127.0.0.1:9000"


@pytest.mark.parametrize(
    ("budget", "segments", "cores", "tasks", "rate"),
    [
        (5, 2, 2, 1, 5),  # two tasks would read 2 + 2
        (5, 8, 8, 5, 5),  # eight tasks would each round up to 1/s: 8/s
        (200, 5, 4, 4, 200),
        (1000, 3, 3, 3, 999),  # 0.1% under the budget is worth three tasks
        (20000, 16, 16, 16, 20000),
        (1, 4, 4, 1, 1),
    ],
)
def test_connector_tasks_keep_the_real_rate_at_or_under_the_budget(budget, segments, cores, tasks, rate):
    assert connector_tasks(budget, segments, cores) == tasks
    assert connector_rate(budget, segments, tasks) == rate
    # what the connector would read at with one task per core, the old plan
    if (budget, cores) == (5, 8):
        assert connector_rate(budget, segments, cores) == 8


def test_small_budget_plans_fewer_connector_tasks_and_on_demand_units_reach_the_connector():
    small = table_description(read_units=10, item_count=500_000)  # a small budget, not a small table
    p = plan_for(small, to="s3://lab-backups/x", read_percent=0.5, local_cores=8)
    assert p.read_units_per_second == 5 and p.effective_read_units_per_second == 5
    assert len(p.segment_groups) == int(p.connector_conf["dynamodb.max.map.tasks"]) <= 5
    on_demand = DESC | {"BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"}}
    p = plan_for(on_demand, to="s3://lab-backups/x", read_percent=0.5, on_demand_read_units=300, local_cores=4)
    assert p.connector_conf["dynamodb.throughput.read"] == "150"
    segments_reader = plan_for(small, to="s3://lab-backups/x", read_percent=0.5, local_cores=8, reader="segments")
    assert len(segments_reader.segment_groups) == 8 and segments_reader.task_read_units_per_second == 5 / 8


def test_engine_auto():
    assert nightly_plan(engine="auto").engine == "spark"
    p = plan_for(DESC, to="s3://lab-backups/x", engine="auto", pitr_enabled=True, token="00000000")
    assert p.engine == "native" and "point-in-time recovery is on" in p.engine_reason


def test_rendered_job_is_valid_python_with_the_plan_inside():
    p = nightly_plan(reader="segments", consistent_read=True)
    rendered = render_export(p, Target.emr("s3://lab-backups/_art/x"))
    script = rendered.files[JOB_SCRIPT]
    tree = ast.parse(script)
    assert any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body)
    assert p.export_id in script
    assert render_export(p, Target.emr("s3://lab-backups/_art/x")).files == rendered.files  # deterministic
    step = rendered.steps[0]
    args = step["HadoopJarStep"]["Args"]
    assert step["HadoopJarStep"]["Jar"] == "command-runner.jar"
    assert args[0] == "spark-submit" and args[-1] == "s3://lab-backups/_art/x/export_job.py"
    assert "/usr/share/aws/emr/ddb/lib/emr-ddb-hadoop.jar" in args[args.index("--jars") + 1]


def test_plan_json_survives_hostile_strings():
    """The plan reaches the script only as one repr()'d JSON string, so no value can break out."""
    hostile = 'x\'"\\\n{{ 7*7 }}"""; import os'
    p = nightly_plan(to="s3://lab-backups/" + "p", log_uri="s3://lab-logs/a")
    p = p.model_copy(update={"table": dataclasses.replace(p.table, name=hostile)})
    script = render_export(p, Target("/tmp/x", ["a.jar"])).files[JOB_SCRIPT]
    tree = ast.parse(script)
    assigns = [n for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "PLAN"]
    literal = assigns[0].value.args[0].value
    assert json.loads(literal)["table"]["name"] == hostile


def test_the_plan_users_read_is_camel_case_and_reads_back_while_the_job_reads_field_names():
    """docs/json.md: `export --dry-run --json` and render's plan.json are camelCase; the keys of the
    plan's free-form maps (connector conf, endpoints, the CreateTable schema) are kept as they are."""
    from launcher.export.plan import ExportPlan

    p = nightly_plan(runner="emr", log_uri="s3://lab-logs/a")
    doc = p.document()
    maps = {"connectorConf", "endpoints", "tableSchema"}

    def keys(node, path=()):
        if isinstance(node, dict):
            for k, v in node.items():
                yield (*path, k)
                if k not in maps:
                    yield from keys(v, (*path, k))
        elif isinstance(node, list):
            for v in node:
                yield from keys(v, path)

    snake = [".".join(k) for k in keys(doc) if "_" in k[-1]]
    assert not snake, snake
    assert {"exportId", "segmentGroups", "engineReason"} <= set(doc) and "keySchema" in doc["table"]
    assert doc["estimate"]["totalSeconds"] > 0 and doc["cluster"]["releaseLabel"]
    assert ExportPlan.model_validate(doc) == p == ExportPlan.model_validate_json(p.model_dump_json())
    assert "export_id" in plan_json(p) and "key_schema" in plan_json(p)["table"]  # what the job reads


@pytest.mark.parametrize(
    "line",
    [
        'ddb-s3 result: {"exportId": "x", "itemCount": 3}\n',
        'ddb-s3 result: {"exportId": "x", "itemCount": 3}26/11/27 23:08:40 INFO SparkContext: stopped\n',
        '26/11/27 INFO Executor: done ddb-s3 result: {"exportId": "x", "itemCount": 3}\n',
    ],
)
def test_local_runner_reads_the_result_line_even_when_the_jvm_shares_it(line):
    from launcher.core.result_line import parse_result

    assert parse_result(line) == {"exportId": "x", "itemCount": 3}
    assert parse_result("INFO nothing here\n") is None


def test_an_instance_type_without_a_price_is_priced_as_unknown_never_zero():
    p = nightly_plan(runner="emr", instance_type="r6i.2xlarge", core_nodes=2)
    assert p.parallelism == 16  # 2 nodes x 8 vCPUs, from the size name
    assert p.estimate.cluster_cost_usd is None
    assert "cluster price unknown for this instance type" in p.estimate_text and "$0.00 (" not in p.estimate_text
    assert nightly_plan(runner="emr").estimate.cluster_cost_usd > 0


def test_engine_reason_says_default_when_nothing_was_asked():
    assert nightly_plan().engine_reason == "the default engine"
    assert nightly_plan(engine="spark").engine_reason == "--engine spark was asked for"


def test_with_export_id_repoints_the_plan_as_a_fresh_plan_of_that_id_would():
    """An Airflow retry goes on with an earlier try's export: the plan it rebuilds equals the plan
    made with that export's id (its root, its artifacts, a Glue job named after it)."""
    earlier = nightly_plan(token="0badcafe")
    assert nightly_plan().with_export_id(earlier.export_id) == earlier
    for flags in (
        {"artifacts_uri": "s3://lab-art/runs/"},
        {"runner": "glue"},
        {"runner": "glue", "glue_job": "mine"},
        {"to": "s3://lab-backups"},
    ):
        earlier = nightly_plan(token="0badcafe", **flags)
        assert nightly_plan(**flags).with_export_id(earlier.export_id) == earlier, flags
    moved = nightly_plan(runner="glue").with_export_id("01700000000000-00000000")
    assert moved.export_root == "ddb/nightly/AWSDynamoDB/01700000000000-00000000/"
    assert moved.artifacts_uri == "s3://lab-backups/ddb/nightly/_ddb_s3_artifacts/01700000000000-00000000"
    assert moved.glue.job_name == "ddb-s3-export-01700000000000-00000000"


def test_engine_auto_exports_a_small_local_table_in_this_process():
    """--engine auto on the local runner: a table DescribeTable counts at most IN_PROCESS_MAX_ITEMS
    items goes through the in-process path (segments reader, the run's start ~1 s, no steps);
    bigger ones and other runners keep Spark; --engine python elsewhere is refused in one line."""
    from launcher.core.errors import BadInput
    from launcher.export.plan import IN_PROCESS_MAX_ITEMS

    small = table_description(item_count=2000, size_bytes=2_000_000)
    p = plan_for(small, engine="auto", local_cores=4)
    assert p.engine == "python" and p.reader == "segments" and "a small table (2,000 items" in p.engine_reason
    assert p.estimate.total_seconds < 5
    assert render_export(p, Target("/tmp/run", [])).steps == []
    big = table_description(item_count=IN_PROCESS_MAX_ITEMS + 1, size_bytes=10**9)
    assert plan_for(big, engine="auto").engine == "spark"
    assert plan_for(small, engine="auto", runner="emr").engine == "spark"
    with pytest.raises(BadInput, match="--engine python runs in this process: it needs --runner local"):
        plan_for(small, engine="python", runner="emr")
    with pytest.raises(BadInput, match="--engine python reads with boto3's parallel Scan"):
        plan_for(small, engine="python", reader="connector")
