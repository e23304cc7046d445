"""The spine end to end: `ddb-s3 export` on local Spark with the real connector jar, dynalite as
DynamoDB and moto's server as S3; then verify and read back, compared by value and type."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from faults.fixtures import faulty  # noqa: F401  (fixture)
from helpers import table_items, unique_name
from launcher.core.codec import item_key, items_equal, parse_item_line
from launcher.core.paths import runs_dir
from launcher.dev.sample_data import create_lab_table, lab_items, load_items

pytestmark = pytest.mark.e2e
KEYS = ["patient_id", "sample_id"]
DDB_S3 = str(Path(sys.executable).parent / "ddb-s3")


def edge_items() -> list[dict[str, Any]]:
    """Values at DynamoDB's limits, beside the lab items' everyday mix of every type."""
    deep: dict[str, Any] = {"S": "bottom"}
    for _ in range(30):
        deep = {"M": {"d": deep}}
    return [
        {
            "patient_id": {"S": "EDGE"},
            "sample_id": {"S": "numbers"},
            "big": {"N": "99999999999999999999999999999999999999"},
            "tiny": {"N": "1E-130"},
            "huge": {"N": "9.9999999999999999999999999999999999999E+125"},
            "neg": {"N": "-0.000001"},
            "ns": {"NS": ["1", "1.5", "-3E+10"]},
        },
        {
            "patient_id": {"S": "EDGE"},
            "sample_id": {"S": "text"},
            "empty": {"S": ""},
            "uni": {"S": "Grüße \u0000 😀 \U0001d11e \u202e"},
            "ss": {"SS": ["", "a", "😀"]},
            "empties": {"M": {"l": {"L": []}, "m": {"M": {}}, "b": {"B": b""}}},
        },
        {
            "patient_id": {"S": "EDGE"},
            "sample_id": {"S": "binary"},
            "bin": {"B": bytes(range(256))},
            "bs": {"BS": [b"\x00", b"\xff\xfe", b""]},
            "nested": {"L": [{"B": b"\x01"}, {"M": {"x": {"BS": [b"\x02"]}}}]},
        },
        {"patient_id": {"S": "EDGE"}, "sample_id": {"S": "deep"}, "deep": deep},
        {"patient_id": {"S": "EDGE"}, "sample_id": {"S": "large"}, "blob": {"B": os.urandom(300_000)}, "text": {"S": "x" * 90_000}},
    ]


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([DDB_S3, *args], capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"ddb-s3 {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc


def read_back(s3: Any, bucket: str, root: str) -> dict[tuple, dict]:
    out = {}
    for entry in s3.get_object(Bucket=bucket, Key=root + "manifest-files.json")["Body"].read().decode().splitlines():
        key = json.loads(entry)["dataFileS3Key"]
        for line in gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).decode().splitlines():
            item = parse_item_line(line)
            out[item_key(item, KEYS)] = item
    return out


@pytest.fixture(scope="module")
def source(local_stack):
    import boto3

    ddb = boto3.client("dynamodb")
    name = unique_name("e2e")
    create_lab_table(ddb, name)
    load_items(ddb, name, iter(list(lab_items(600)) + edge_items()))
    items = table_items(ddb, name)
    bucket = unique_name("e2e-bucket").lower().replace("_", "-")
    boto3.client("s3").create_bucket(Bucket=bucket)
    yield name, bucket, items
    ddb.delete_table(TableName=name)


@pytest.mark.parametrize("reader, extra", [("connector", []), ("segments", ["--consistent-read"])])
def test_export_verify_read_back(source, s3, request, reader, extra):
    """The run goes through faulty's recording proxy in front of dynalite (no faults added): every
    DynamoDB request of it, the CLI's, Spark's and the connector's JVM client's alike."""
    proxy = request.getfixturevalue("faulty")
    table, bucket, items = source
    proc = run_cli("export", "--table", table, "--to", f"s3://{bucket}/{reader}", "--reader", reader, "--segments", "4", "--json", *extra)
    # What was sent: with --consistent-read every Scan of the run asks for ConsistentRead, and
    # without it none does (the connector leaves it out or false)
    scans = [json.loads(r.body) for r in proxy.plan.requests("dynamodb", "Scan")]
    assert scans and all(s["TableName"] == table for s in scans), scans[:3]
    flags = [s.get("ConsistentRead") for s in scans]
    if "--consistent-read" in extra:
        assert all(f is True for f in flags), f"{flags.count(True)} of {len(flags)} Scans had ConsistentRead true"
    else:
        assert all(f in (False, None) for f in flags), (
            f"{len(flags) - flags.count(None) - flags.count(False)} of {len(flags)} Scans were consistent"
        )
    result = json.loads(proc.stdout)
    assert result["itemCount"] == len(items) == 605
    root = result["exportUri"].split(bucket + "/", 1)[1]
    summary = json.loads(s3.get_object(Bucket=bucket, Key=root + "manifest-summary.json")["Body"].read())
    assert summary["itemCount"] == 605 and summary["ddbS3"]["tableName"] == table
    assert summary["ddbS3"]["reader"] == reader
    assert summary["ddbS3"]["consistentRead"] is (reader == "segments")
    # 4 segments really run in parallel: one task per segment group (as many as cores) for both
    # readers; the connector's splits are the plan's tasks (BudgetedDynamoDBInputFormat).
    tasks = min(4, os.cpu_count() or 1)
    assert summary["ddbS3"]["segments"] == 4
    assert summary["ddbS3"]["inputPartitions"] == tasks > 1
    if reader == "connector":
        log = (runs_dir() / result["exportId"] / "step-1.log").read_text()
        assert f"DynamoDBInputFormat gave {tasks} input partitions" in log
    verify = run_cli("verify", result["exportUri"])
    assert "605 items" in verify.stderr
    back = read_back(s3, bucket, root)
    assert back.keys() == items.keys()
    diffs = [k for k in items if not items_equal(items[k], back[k])]
    assert not diffs, f"{len(diffs)} items differ, e.g. {diffs[:3]}"
    # exact, not just equal after normalisation: the raw JSON is what DynamoDB returned
    key = (("S", "EDGE"), ("S", "numbers"))
    assert back[key] == items[key]
    assert back[key]["big"] == {"N": "99999999999999999999999999999999999999"}


def test_engine_python_writes_the_spark_jobs_export_without_a_jvm(source, s3):
    """--engine auto on the local runner picks the in-process path for a small table (issue 26.1):
    the same job functions in threads, no spark-submit (no step log). Its data files are byte for
    byte those of the Spark job's segments reader with the same segments, and it verifies."""
    table, bucket, items = source

    def export(prefix: str, *args: str) -> tuple[dict, str, list[str]]:
        proc = run_cli("export", "--table", table, "--to", f"s3://{bucket}/{prefix}", "--segments", "4", "--json", *args)
        result = json.loads(proc.stdout)
        root = result["exportUri"].split(bucket + "/", 1)[1]
        entries = [
            json.loads(line) for line in s3.get_object(Bucket=bucket, Key=root + "manifest-files.json")["Body"].read().decode().splitlines()
        ]
        return result, proc.stderr, sorted((e["itemCount"], e["md5Checksum"]) for e in entries)

    python, err, python_files = export("python", "--engine", "auto")
    assert "with engine python (a small table (605 items, at most 100,000)" in err, err
    assert not (runs_dir() / python["exportId"] / "step-1.log").exists()  # no step ran
    spark, _, spark_files = export("spark-segments", "--engine", "spark", "--reader", "segments")
    assert python["itemCount"] == spark["itemCount"] == len(items)
    assert python_files == spark_files  # the same objects, as the same functions wrote them
    assert run_cli("verify", python["exportUri"]).returncode == 0
    back = read_back(s3, bucket, python["exportUri"].split(bucket + "/", 1)[1])
    assert back.keys() == items.keys() and all(items_equal(items[k], back[k]) for k in items)


def test_on_a_terminal_the_export_draws_a_live_display(source):
    """stderr on a pseudo-terminal, as in a user's shell: rich draws the read's display (items of the
    table's count, MB, items/s against the budget) instead of the plain lines logs get."""
    import pty

    table, bucket, items = source
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [DDB_S3, "export", "--table", table, "--to", f"s3://{bucket}/tty", "--json"],
        stdout=subprocess.PIPE,
        stderr=secondary,
        text=True,
        env=dict(os.environ, COLUMNS="200"),
    )
    os.close(secondary)
    drawn = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the terminal's other side is closed: the process is done with it
            break
        if not chunk:
            break
        drawn += chunk
    os.close(primary)
    out = proc.communicate(timeout=120)[0]
    assert proc.returncode == 0, drawn.decode(errors="replace")[-3000:]
    assert json.loads(out)["itemCount"] == len(items)
    screen = drawn.decode(errors="replace")
    # the table's count is unknown to DescribeTable here (dynalite, a new table): items without "of N"
    assert f"{len(items)} items, " in screen and "(budget " in screen, screen[-2000:]
    # a rate only once the read has lasted long enough to say one (605 items may come in one count)
    assert not re.search(r"[^\d,]0 items/s", screen), screen[-2000:]
    assert "━" in screen  # the bar
    assert not re.search(r"^read \d", screen, re.MULTILINE)  # not the plain line logs get ("read 605 items, ...")


def started_root(s3, bucket: str, prefix: str) -> str:
    """The export root under `prefix` once its job wrote `_started` (waited for, at most 120 s)."""
    from launcher.core.wait import poll_until

    def started() -> list[str]:
        return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []) if o["Key"].endswith("/_started")]

    found = poll_until(started, bool, every=0.2, timeout=120, what="the export's _started")
    return found[0][: -len("_started")]


def test_killed_export_is_incomplete_and_rerun_is_complete(source, s3):
    table, bucket, items = source
    prefix = "killed"
    proc = subprocess.Popen(
        [DDB_S3, "export", "--table", table, "--to", f"s3://{bucket}/{prefix}", "--segments", "4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    root = started_root(s3, bucket, prefix)
    os.killpg(proc.pid, signal.SIGKILL)  # the CLI, spark-submit and the Spark JVM: nothing gets to clean up
    proc.wait()
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=root + "manifest-summary.json")
    verify = run_cli("verify", f"s3://{bucket}/{root}", check=False)
    assert verify.returncode == 3
    assert "incomplete" in verify.stderr and len(verify.stderr.strip().splitlines()) == 1
    rerun = json.loads(run_cli("export", "--table", table, "--to", f"s3://{bucket}/{prefix}", "--json").stdout)
    assert rerun["itemCount"] == len(items)
    assert run_cli("verify", rerun["exportUri"]).returncode == 0


def test_the_second_local_run_maps_the_class_archive_the_first_wrote(source, tmp_path):
    """Class data sharing (launcher/export/run/class_sharing.py) on Spark's real class path: the first
    export writes the archive, the second one's driver JVM loads Spark's classes from it. A JVM that
    rejects the archive (another class path, another Java) says nothing and loads none from it."""
    table, bucket, items = source
    env = {**os.environ, "DDB_S3_CLASS_SHARING_DIR": str(tmp_path / "jvm")}
    args = [DDB_S3, "export", "--table", table, "--to", f"s3://{bucket}/cds", "--json"]
    first = subprocess.run(args, capture_output=True, text=True, timeout=600, env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    assert sorted(p.suffix for p in (tmp_path / "jvm").iterdir()) == [".jsa", ".source"]  # kept, and no .part left
    logs = tmp_path / "class-load"
    logs.mkdir()
    env["JAVA_TOOL_OPTIONS"] = f"-Xlog:class+load=info:file={logs}/%p.log"  # every JVM of the run, one file each
    second = subprocess.run(args, capture_output=True, text=True, timeout=600, env=env)
    assert second.returncode == 0 and json.loads(second.stdout)["itemCount"] == len(items), second.stderr[-3000:]
    shared = [p.name for p in logs.iterdir() if "org.apache.spark.SparkContext source: shared objects file (top)" in p.read_text()]
    assert shared, "no JVM of the second run loaded SparkContext from the archive"


def test_ctrl_c_mid_export_names_the_incomplete_export_and_exits_130(source, s3):
    """Ctrl-C (SIGINT to the foreground process group, as a terminal sends it) once the job has
    started: the run tears down, names the export it left incomplete and how to remove it."""
    table, bucket, _ = source
    prefix = "ctrl-c"
    proc = subprocess.Popen(
        [DDB_S3, "export", "--table", table, "--to", f"s3://{bucket}/{prefix}", "--segments", "4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    root = started_root(s3, bucket, prefix)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if "Contents" in s3.list_objects_v2(Bucket=bucket, Prefix=root + "manifest-summary.json"):
        pytest.skip("the export committed before the interrupt reached it")  # a 400-item export is quick
    assert proc.returncode == 130, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines[-1] == "ddb-s3: interrupted", err
    assert f"export s3://{bucket}/{root} is incomplete" in lines[-2] and "ddb-s3 exports prune" in lines[-2], err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--table", "NoSuchTable", "--to", "s3://{bucket}/x"], "table 'NoSuchTable' not found"),
        (["--table", "{table}", "--to", "s3:/{bucket}/x"], "is not an s3:// URI"),
        (
            ["--table", "{table}", "--to", "s3://{bucket}/x", "--read-percent", "1.6"],
            "--read-percent: must be a fraction of the capacity in (0, 1.5]",
        ),
        (["--table", "{table}", "--to", "s3://{bucket}/x", "--engine", "pig"], "--engine: Input should be"),
    ],
)
def test_bad_input_one_line_nothing_created(source, s3, args, message):
    table, bucket, _ = source
    before = s3.list_objects_v2(Bucket=bucket, Prefix="x/").get("KeyCount", 0)
    proc = run_cli("export", *[a.format(table=table, bucket=bucket) for a in args], check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert s3.list_objects_v2(Bucket=bucket, Prefix="x/").get("KeyCount", 0) == before == 0
