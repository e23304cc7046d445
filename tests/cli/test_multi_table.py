"""`ddb-s3 export` with several tables (issue 15): `--table A --table B` or a glob, one export per
table, one after the other; a failing table does not stop the others; a summary at the end."""

from __future__ import annotations

import gzip
import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from helpers import LAB_KEYS, table_items, unique_name
from launcher.cli.export import expand_tables, is_glob
from launcher.core.codec import item_key, items_equal, parse_item_line
from launcher.core.errors import BadInput
from launcher.dev.sample_data import create_lab_table, lab_items, load_items

DDB_S3 = str(Path(sys.executable).parent / "ddb-s3")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([DDB_S3, *args], check=False, capture_output=True, text=True, timeout=600)


# --------------------------------------------------------------------------- the expansion (pure)

LISTED = ["orders-2024", "orders-2025", "Orders-old", "users", "orders-archive", "lab"]


@pytest.mark.unit
@pytest.mark.parametrize(
    "values, tables",
    [
        (["users"], ["users"]),
        (["users", "lab"], ["users", "lab"]),  # names in the order given
        (["lab", "users", "lab"], ["lab", "users"]),  # each once, where it first appears
        (["orders-*"], ["orders-2024", "orders-2025", "orders-archive"]),  # a glob: sorted, case-sensitive
        (["users", "orders-202?"], ["users", "orders-2024", "orders-2025"]),
        (["orders-2025", "orders-*"], ["orders-2025", "orders-2024", "orders-archive"]),
        (["[Oo]rders-[!2]*"], ["Orders-old", "orders-archive"]),
        (["not-listed"], ["not-listed"]),  # a plain name is not checked here: its export says it is missing
    ],
)
def test_expand_tables(values, tables):
    assert expand_tables(values, LISTED, "eu-west-1") == tables


@pytest.mark.unit
def test_a_glob_matching_nothing_is_bad_input_naming_it():
    with pytest.raises(BadInput, match=r"--table 'order-\*' matches none of the 6 tables in eu-west-1"):
        expand_tables(["users", "order-*"], LISTED, "eu-west-1")
    with pytest.raises(BadInput, match="matches none of the 0 tables"):
        expand_tables(["*"], [])


@pytest.mark.unit
def test_is_glob():
    assert [is_glob(v) for v in ("orders-*", "a?c", "[ab]c", "orders-2024", "a.b_c-d")] == [True, True, True, False, False]


@pytest.mark.unit
def test_render_takes_one_table():
    from launcher.cli import cli

    for args in (["--table", "abc", "--table", "abd"], ["--table", "ab*"]):
        res = CliRunner().invoke(cli, ["render", *args, "--to", "s3://b/x", "--out", "out"], standalone_mode=False)
        assert isinstance(res.exception, BadInput) and "render writes one table's artifacts" in str(res.exception)


@pytest.mark.unit
def test_export_help_says_how_several_tables_run():
    from launcher.cli import cli

    text = " ".join(CliRunner().invoke(cli, ["export", "--help"], terminal_width=200).output.split())
    assert "repeat it" in text and "glob" in text and "transient cluster of its own" in text


# --------------------------------------------------------------------------- the CLI on the local stack


@pytest.fixture(scope="module")
def world(local_stack):
    """Two small lab tables sharing a prefix no other table has, and a bucket."""
    ddb = boto3.client("dynamodb")
    prefix = f"multi-{uuid.uuid4().hex[:8]}"
    tables = [f"{prefix}-a", f"{prefix}-b"]
    for name, n in zip(tables, (30, 45), strict=True):
        create_lab_table(ddb, name)
        load_items(ddb, name, lab_items(n, seed=n))
    bucket = unique_name("multi").lower()
    boto3.client("s3").create_bucket(Bucket=bucket)
    yield {"prefix": prefix, "tables": tables, "bucket": bucket, "items": {t: table_items(ddb, t) for t in tables}}
    for name in tables:
        ddb.delete_table(TableName=name)


def read_back(s3: Any, export_uri: str) -> dict[tuple, dict]:
    bucket, root = export_uri.removeprefix("s3://").split("/", 1)
    assert s3.get_object(Bucket=bucket, Key=root + "manifest-summary.json")  # complete
    items = {}
    for entry in s3.get_object(Bucket=bucket, Key=root + "manifest-files.json")["Body"].read().decode().splitlines():
        key = json.loads(entry)["dataFileS3Key"]
        for line in gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).decode().splitlines():
            item = parse_item_line(line)
            items[item_key(item, LAB_KEYS)] = item
    return items


def assert_same_items(s3: Any, export_uri: str, items: dict[tuple, dict]) -> None:
    back = read_back(s3, export_uri)
    assert back.keys() == items.keys()
    assert all(items_equal(items[k], back[k]) for k in items)


@pytest.mark.e2e
def test_flags_and_a_glob_export_each_table_once(world, s3):
    a, b = world["tables"]
    to = f"s3://{world['bucket']}/both"
    # b by name, then the glob (a and b, sorted: b already there), then a again: b, a
    proc = run_cli("export", "--table", b, "--table", f"{world['prefix']}-*", "--table", a, "--to", to, "--runner", "local")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr.count("plan: export ") == 2 and proc.stderr.count("exported ") == 2  # each says its plan and result
    assert proc.stderr.index(f"plan: export {b} ") < proc.stderr.index(f"plan: export {a} ")
    summary = [line.split() for line in proc.stdout.strip().splitlines()]  # a line per table: name, export URI
    assert [row[0] for row in summary] == [b, a] and all(len(row) == 2 for row in summary)
    uris = {row[0]: row[1] for row in summary}
    assert len(set(uris.values())) == 2 and all(u.startswith(f"{to}/AWSDynamoDB/") for u in uris.values())
    for table in (a, b):
        assert_same_items(s3, uris[table], world["items"][table])
        verify = run_cli("verify", uris[table])
        assert verify.returncode == 0, verify.stderr


@pytest.mark.e2e
def test_a_failing_table_does_not_stop_the_others(world, s3):
    a, _ = world["tables"]
    missing = f"{world['prefix']}-missing"
    proc = run_cli("export", "--table", missing, "--table", a, "--to", f"s3://{world['bucket']}/one-fails", "--json")
    assert proc.returncode == 2, proc.stderr[-3000:]  # the failing table's own exit code (not found: bad input)
    docs = json.loads(proc.stdout)  # one document: a list of the per-table ones
    assert [d["table"] for d in docs] == [missing, a]
    assert docs[0]["exitCode"] == 2 and "not found" in docs[0]["error"] and "exportUri" not in docs[0]
    assert docs[1]["itemCount"] == len(world["items"][a]) and "error" not in docs[1]
    assert_same_items(s3, docs[1]["exportUri"], world["items"][a])
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ddb-s3: 1 of 2 tables failed: ") and missing in last and a not in last


@pytest.mark.e2e
def test_ctrl_c_stops_the_whole_command(world, s3):
    a, b = world["tables"]
    prefix = "interrupted"
    proc = subprocess.Popen(
        [DDB_S3, "export", "--table", a, "--table", b, "--to", f"s3://{world['bucket']}/{prefix}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if any(o["Key"].endswith("/_started") for o in s3.list_objects_v2(Bucket=world["bucket"], Prefix=prefix).get("Contents", [])):
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the first export ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)  # Ctrl-C while the first table's Spark job runs
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-3000:]
    assert f"plan: export {a} " in stderr and f"plan: export {b} " not in stderr  # the second never started
    assert f"stopped at table {a}; 1 more not started" in stderr and stderr.strip().endswith("ddb-s3: interrupted")
    assert stdout == ""


@pytest.mark.integration
def test_a_glob_matching_nothing_is_one_line_and_exit_2(world, s3):
    pattern = f"{world['prefix']}-zz*"
    proc = run_cli("export", "--table", world["tables"][0], "--table", pattern, "--to", f"s3://{world['bucket']}/none")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and repr(pattern) in lines[0] and "matches none" in lines[0], proc.stderr
    assert proc.stdout == ""
    assert s3.list_objects_v2(Bucket=world["bucket"], Prefix="none/").get("KeyCount", 0) == 0  # nothing started


@pytest.mark.integration
def test_dry_run_json_plans_each_table(world, s3):
    a, b = world["tables"]
    proc = run_cli("export", "--table", f"{world['prefix']}-?", "--to", f"s3://{world['bucket']}/dry", "--dry-run", "--json")
    assert proc.returncode == 0, proc.stderr
    docs = json.loads(proc.stdout)
    assert [d["table"] for d in docs] == [a, b] == [d["plan"]["table"]["name"] for d in docs]
    assert all("export_job.py" in d["artifacts"] and d["steps"] for d in docs)
    assert docs[0]["plan"]["exportId"] != docs[1]["plan"]["exportId"]
    assert proc.stderr.count("plan: export ") == 2
    assert s3.list_objects_v2(Bucket=world["bucket"], Prefix="dry/").get("KeyCount", 0) == 0  # nothing started


@pytest.mark.integration
def test_render_writes_every_artifact_its_steps_name_and_the_runners_request(world, tmp_path):
    """`render --out` writes what the run would upload and send (issue 24.3): every artifact a step
    names is in the folder, the helper jar included; the default runner gets EMR's RunJobFlow (what
    render is for), --runner glue its job and run requests; --runner local is refused."""
    from launcher.cli import cli
    from launcher.export.run.jars import helper_jar_path

    table, bucket = world["tables"][0], world["bucket"]

    def render(*args: str) -> tuple[Any, Path]:
        out = tmp_path / "-".join(args or ("default",))
        res = CliRunner().invoke(
            cli, ["render", "--table", table, "--to", f"s3://{bucket}/r", "--out", str(out), *args], standalone_mode=False
        )
        return res, out

    res, out = render()
    assert res.exception is None, res.output
    plan = json.loads((out / "plan.json").read_text())
    steps = json.loads((out / "steps.json").read_text())
    named = {
        a.rsplit("/", 1)[1]
        for s in steps
        for arg in s["HadoopJarStep"]["Args"]
        for a in arg.split(",")
        if a.startswith(plan["artifactsUri"] + "/")
    }
    assert "ddb-s3-spark-helpers.jar" in named and named <= {p.name for p in out.iterdir()}, named
    assert (out / "ddb-s3-spark-helpers.jar").read_bytes() == helper_jar_path().read_bytes()
    assert json.loads((out / "run-job-flow.json").read_text())["Steps"] == steps

    res, out = render("--runner", "glue")
    assert res.exception is None, res.output
    assert {"glue-job.json", "start-job-run.json"} <= {p.name for p in out.iterdir()}

    res, _ = render("--runner", "local")
    assert isinstance(res.exception, BadInput) and "render writes a cloud runner's artifacts" in str(res.exception)
