"""The Hive engine's render: golden DDL for a few tables, every rendered script through Hive's own
parser, hostile names that cannot change the statements, the two EMR steps."""

from __future__ import annotations

import difflib
from functools import partial

import pytest

from helpers import GOLDEN as TEST_GOLDEN
from helpers import plan_for, table_description
from launcher.core.errors import BadInput
from launcher.core.hive_columns import parse_hive_columns
from launcher.export.render import render_export
from launcher.export.render.base import Target
from launcher.export.render.hive import CONVERT_SCRIPT, HQL_SCRIPT
from launcher.options import build_request

pytestmark = pytest.mark.unit

GOLDEN = TEST_GOLDEN / "hive"
HOSTILE = (
    "pk:string,it's:string,back`tick:bigint,a.b:double,select:boolean,semi;$x{y}:binary,tags:array<string>,"
    'nums:array<double>,blobs:array<binary>,"dq" -- ;DROP TABLE t:string'
)


# `--engine hive --to s3://lab-backups/ddb/nightly`, planned for 2 local cores
hive_plan = partial(plan_for, to="s3://lab-backups/ddb/nightly", engine="hive", local_cores=2)


CASES = {
    "whole_item": hive_plan,
    "whole_item_endpoint": lambda: hive_plan(table_description("orders.v2-prod"), endpoint="http://127.0.0.1:8000", read_percent=1.0),
    "typed_hash_range": lambda: hive_plan(
        table_description("Events", (("user", "HASH", "S"), ("ts", "RANGE", "N"))),
        hive_columns="user:string,ts:bigint,payload:string,flags:array<string>",
    ),
    "typed_hostile": lambda: hive_plan(hive_columns=HOSTILE),
}


def rendered(case):
    return render_export(CASES[case](), Target.emr("s3://lab-backups/_ddb_s3_artifacts/run"))


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_ddl(case):
    """The goldens are written by hand (tests/golden/README.md), never from the renderer's output: a
    difference fails with the diff, and a wanted change is made to the golden file in review."""
    text = rendered(case).files[HQL_SCRIPT]
    golden = GOLDEN / f"{case}.hql"
    want = golden.read_text()
    diff = "".join(
        difflib.unified_diff(
            want.splitlines(keepends=True), text.splitlines(keepends=True), fromfile=str(golden), tofile=f"rendered {case}"
        )
    )
    assert text == want, f"rendered {case} differs from {golden}:\n{diff}"


def test_steps_are_hive_script_then_spark_convert():
    out = rendered("whole_item")
    hive, convert = out.steps
    assert hive["HadoopJarStep"] == {
        "Jar": "command-runner.jar",
        "Args": ["hive-script", "--run-hive-script", "--args", "-f", "s3://lab-backups/_ddb_s3_artifacts/run/export.hql"],
    }
    args = convert["HadoopJarStep"]["Args"]
    assert args[0] == "spark-submit" and args[-1].endswith("/" + CONVERT_SCRIPT)
    compile(out.files[CONVERT_SCRIPT], CONVERT_SCRIPT, "exec")


def test_no_credentials_in_any_artifact(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAHIVESECRETKEYID0")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "hive/secret+access/key/0123456789abcdef")
    out = rendered("typed_hostile")
    blob = "\n".join(str(v) for v in out.files.values() if isinstance(v, str)) + repr(out.steps)
    for secret in ("AKIAHIVESECRETKEYID0", "hive/secret+access", "awsAccessKeyId", "awsSecretAccessKey"):
        assert secret not in blob


def test_column_spec_errors_are_one_line_bad_input():
    with pytest.raises(BadInput, match="not attribute:type"):
        parse_hive_columns("pk")
    with pytest.raises(BadInput, match="is not one of"):
        parse_hive_columns("pk:varchar")
    with pytest.raises(BadInput, match="listed twice"):
        parse_hive_columns("pk:string,pk:string")
    with pytest.raises(BadInput, match=r"column\.mapping cannot"):
        parse_hive_columns("a:b:string")
    with pytest.raises(BadInput, match="--hive-columns"):
        build_request({"table": "tbl", "to": "s3://bkt-x/p", "hive_columns": "x:float"}, environ={})


def test_typed_columns_must_list_keys_with_matching_types():
    with pytest.raises(BadInput, match="must list the key attribute 'pk'"):
        hive_plan(hive_columns="other:string")
    with pytest.raises(BadInput, match="key 'pk' is S"):
        hive_plan(hive_columns="pk:bigint")


# ---------------------------------------------------------------- Hive's own parser (JVM)


def check(case, tmp_path):
    from launcher.export.run.hive_local import hql_check

    script = tmp_path / f"{case}.hql"
    script.write_text(rendered(case).files[HQL_SCRIPT])
    return hql_check(script)


@pytest.mark.integration
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_rendered_script_parses_into_the_expected_statements(case, tmp_path):
    statements = check(case, tmp_path)
    kinds = [s["tree"].split()[0].lstrip("(") if s["kind"] == "hiveql" else "set" for s in statements]
    assert kinds == ["set"] * 4 + [
        "tok_droptable",
        "tok_createtable",
        "tok_query",
        "tok_query",
        "tok_droptable",
    ]  # the rows, then the done marker


@pytest.mark.integration
def test_hostile_names_reach_hive_unchanged_and_change_nothing(tmp_path):
    statements = check("typed_hostile", tmp_path)
    assert len(statements) == 9
    create = statements[5]
    columns = parse_hive_columns(HOSTILE)
    props = dict(zip(create["strings"][len(columns) + 1 :: 2], create["strings"][len(columns) + 2 :: 2], strict=False))
    # the column comments are the attribute names, exactly
    assert create["strings"][: len(columns)] == [c.attribute for c in columns]
    assert props["dynamodb.table.name"] == "LabResults"
    assert props["dynamodb.column.mapping"] == ",".join(f"{c.column}:{c.attribute}" for c in columns)
    assert props["dynamodb.type.mapping"] == "c6:SS,c7:NS,c8:BS"
    assert "tok_droptable" not in create["tree"] and statements[8]["tree"].count("tok_droptable") == 1


@pytest.mark.integration
def test_parser_check_can_fail(tmp_path):
    from launcher.core.errors import DdbS3Error
    from launcher.export.run.hive_local import hql_check

    bad = tmp_path / "bad.hql"
    bad.write_text("CREATE EXTERNAL TABLE t (a string) STORED BY 'x' TBLPROPERTIES ('a' = 'it's');\n")
    with pytest.raises(DdbS3Error, match="cannot parse"):
        hql_check(bad)


def test_on_demand_read_units_reach_the_hive_table_as_its_read_throughput():
    """emr-ddb 5.x's storage handler takes 40000 units for an on-demand table unless the table says
    dynamodb.throughput.read: the plan's budget goes there, at percent 1.0, as in the Spark reader."""
    from launcher.export.render.hive import tblproperties

    plan = hive_plan(table_description(billing="PAY_PER_REQUEST"), on_demand_read_units=1000, read_percent=0.5)
    props = dict(tblproperties(plan))
    assert props["dynamodb.throughput.read"] == "500" == str(int(plan.read_units_per_second))
    assert props["dynamodb.throughput.read.percent"] == "1.0"


def test_a_hive_job_on_yarn_ships_every_part_the_full_hive_exec_would_carry(tmp_path):
    """On the local EMR's YARN a map task has only what its job ships (launcher/dev/yarn_cluster.py):
    each part of HIVE_EXEC_BUNDLED is one of pyspark's jars, shipped with the connector; none is left
    out by a renamed jar, and the Hive CLI submits to the node's YARN, not to local mode."""
    from launcher.export.run.hive_local import HIVE_EXEC_BUNDLED, HiveSession, hive_local_command, hive_task_jars

    jars = hive_task_jars()
    for part in HIVE_EXEC_BUNDLED:
        assert sum(j.stem.rsplit("-", 1)[0] == part for j in jars) == 1, part
    assert any(j.name.startswith("emr-dynamodb-hive-") for j in jars)
    script = tmp_path / "export.hql"
    script.write_text("SELECT 1;\n")
    args = ["hive-script", "--run-hive-script", "--args", "-f", str(script)]
    session = HiveSession("us-east-1", {"dynamodb": None, "s3": None})
    on_yarn = hive_local_command(args, session, hadoop_conf=tmp_path / "etc" / "hadoop")
    assert on_yarn[on_yarn.index("-cp") + 1].startswith(str(tmp_path / "etc" / "hadoop"))
    assert "mapreduce.framework.name=local" not in on_yarn and any(a.startswith("tmpjars=file:") for a in on_yarn)
    assert "mapreduce.framework.name=local" in hive_local_command(args, session)
