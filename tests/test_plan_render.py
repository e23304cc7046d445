"""Planning and rendering are pure: same inputs, same plan and artifacts."""
import ast
import dataclasses
import json
import re
from datetime import datetime, timezone

import pytest

from launcher.core.table import table_info_from_description
from launcher.export.plan import connector_conf, make_plan
from launcher.export.render.base import JOB_SCRIPT, Target
from launcher.export.render import render_export
from launcher.options import build_request

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 27, 12, 0, 0, 123000, tzinfo=timezone.utc)
DESC = {
    "TableName": "LabResults",
    "TableArn": "arn:aws:dynamodb:eu-west-1:123456789012:table/LabResults",
    "KeySchema": [{"AttributeName": "sample_id", "KeyType": "RANGE"}, {"AttributeName": "patient_id", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "patient_id", "AttributeType": "S"}, {"AttributeName": "sample_id", "AttributeType": "S"}],
    "ProvisionedThroughput": {"ReadCapacityUnits": 400, "WriteCapacityUnits": 100},
    "ItemCount": 1_000_000,
    "TableSizeBytes": 5 * 1024**3,
    "TableStatus": "ACTIVE",
}


def plan_for(**flags):
    request = build_request({"table": "LabResults", "to": "s3://lab-backups/ddb/nightly"} | flags, environ={})
    info = table_info_from_description(DESC)
    return make_plan(request, info, region="eu-west-1", endpoints={"dynamodb": None, "s3": None}, now=NOW,
                     token="abcd1234", local_cores=4)


def test_plan_is_pure_and_shaped_like_a_native_export():
    a, b = plan_for(), plan_for()
    assert a == b
    assert a.export_id == "01795780800123-abcd1234"
    assert re.fullmatch(r"\d{14}-[0-9a-f]{8}", a.export_id)
    assert a.export_root == "ddb/nightly/AWSDynamoDB/01795780800123-abcd1234/"
    assert a.export_uri == "s3://lab-backups/ddb/nightly/AWSDynamoDB/01795780800123-abcd1234/"


def test_read_budget_and_segments():
    p = plan_for(read_percent=0.5)
    assert p.read_units_per_second == 200  # 400 RCU * 0.5
    assert p.segments == 5  # one per GiB of table beats the 4 local cores
    assert len(p.segment_groups) == 4 and sorted(sum(p.segment_groups, [])) == list(range(5))
    assert p.task_read_units_per_second == 50
    assert plan_for(segments=16).segments == 16


def test_on_demand_uses_assumed_capacity():
    desc = DESC | {"BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"}}
    request = build_request({"table": "LabResults", "to": "s3://lab-backups/x", "read_percent": 0.25,
                             "on_demand_read_units": 1000}, environ={})
    p = make_plan(request, table_info_from_description(desc), region="eu-west-1",
                  endpoints={"dynamodb": None, "s3": None}, now=NOW, token="00000000", local_cores=2)
    assert p.read_units_per_second == 250
    assert p.estimate["read_cost_usd"] > 0


def test_connector_conf_makes_one_split_per_segment():
    p = plan_for(segments=4, read_percent=0.5)
    conf = p.connector_conf
    # getSplits: splits = min(segments, floor(read * percent) / 100)
    assert int(float(conf["dynamodb.throughput.read"]) * 0.5) // 100 >= 4
    assert conf["dynamodb.scan.segments"] == "4"
    assert conf["dynamodb.throughput.read.autoscaling"] == "true"
    assert "dynamodb.endpoint" not in conf  # AWS's own endpoint unless one is configured
    assert not any("secret" in k.lower() or "accesskey" in k.lower() for k in conf)
    info = table_info_from_description(DESC)
    request = build_request({"table": "LabResults", "to": "s3://lab-backups/x"}, environ={})
    with_endpoint = connector_conf(request, info, "us-east-1", "http://127.0.0.1:9000", 400, 4)
    assert with_endpoint["dynamodb.endpoint"] == "http://127.0.0.1:9000"


def test_engine_auto():
    assert plan_for(engine="auto").engine == "spark"
    info = table_info_from_description(DESC, pitr_enabled=True)
    request = build_request({"table": "LabResults", "to": "s3://lab-backups/x", "engine": "auto"}, environ={})
    p = make_plan(request, info, region="eu-west-1", endpoints={"dynamodb": None, "s3": None}, now=NOW, token="00000000")
    assert p.engine == "native" and "point-in-time recovery is on" in p.engine_reason


def test_rendered_job_is_valid_python_with_the_plan_inside():
    p = plan_for(reader="segments", consistent_read=True)
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
    hostile = "x'\"\\\n{{ 7*7 }}\"\"\"; import os"
    p = plan_for(to="s3://lab-backups/" + "p", log_uri="s3://lab-logs/a")
    p = p.model_copy(update={"table": dataclasses.replace(p.table, name=hostile)})
    script = render_export(p, Target("/tmp/x", ["a.jar"])).files[JOB_SCRIPT]
    tree = ast.parse(script)
    assigns = [n for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "PLAN"]
    literal = assigns[0].value.args[0].value
    assert json.loads(literal)["table"]["name"] == hostile


@pytest.mark.parametrize("line", [
    'ddb-s3 result: {"exportId": "x", "itemCount": 3}\n',
    'ddb-s3 result: {"exportId": "x", "itemCount": 3}26/11/27 23:08:40 INFO SparkContext: stopped\n',
    '26/11/27 INFO Executor: done ddb-s3 result: {"exportId": "x", "itemCount": 3}\n',
])
def test_local_runner_reads_the_result_line_even_when_the_jvm_shares_it(line):
    from launcher.core.result_line import parse_result

    assert parse_result(line) == {"exportId": "x", "itemCount": 3}
    assert parse_result("INFO nothing here\n") is None
