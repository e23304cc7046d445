"""Faults over the wire during a real export (`ddb-s3 export --runner local`, local Spark, both
readers): DynamoDB throttling bursts and S3 5xx/resets on data files and manifests. Every export that
finishes is complete and exact (item for item, type for type); the retries are reported; the proxy's
counts prove the faults really reached the job. Few Spark runs, a small table."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from faults import Rule
from faults.fixtures import faulty  # noqa: F401  (fixture)
from helpers import table_items, unique_name
from launcher.core.codec import item_key, items_equal, parse_item_line
from launcher.dev.sample_data import create_lab_table, lab_items, load_items

pytestmark = pytest.mark.e2e
KEYS = ["patient_id", "sample_id"]
DDB_S3 = str(Path(sys.executable).parent / "ddb-s3")
ITEMS = 300


@pytest.fixture(scope="module")
def source(local_stack):
    """A 300-item table and a bucket, made directly on the servers (not through any proxy)."""
    ddb = boto3.client("dynamodb")
    name = unique_name("faults")
    create_lab_table(ddb, name)
    load_items(ddb, name, lab_items(ITEMS, seed=11))
    items = table_items(ddb, name)
    bucket = unique_name("faults").lower()
    boto3.client("s3").create_bucket(Bucket=bucket)
    yield name, bucket, items
    ddb.delete_table(TableName=name)


def export(table: str, to: str, work_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [DDB_S3, "export", "--table", table, "--to", to, "--segments", "8", "--json", "--work-dir", str(work_dir), *extra],
        capture_output=True,
        text=True,
        timeout=900,
    )


def read_back(bucket: str, export_uri: str) -> dict[tuple, dict]:
    """Items of a finished export read straight from the S3 server (no proxy)."""
    s3 = boto3.client("s3", endpoint_url=_moto())
    root = export_uri.split(bucket + "/", 1)[1]
    out: dict[tuple, dict] = {}
    for entry in s3.get_object(Bucket=bucket, Key=root + "manifest-files.json")["Body"].read().decode().splitlines():
        key = json.loads(entry)["dataFileS3Key"]
        for line in gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).decode().splitlines():
            item = parse_item_line(line)
            assert item_key(item, KEYS) not in out, "an item appears twice in the export"
            out[item_key(item, KEYS)] = item
    return out


_MOTO: list[str] = []


def _moto() -> str:
    return _MOTO[0]


@pytest.fixture(autouse=True)
def _remember_moto(local_stack):
    _MOTO[:] = [local_stack.s3_endpoint]


def assert_exact(items: dict, back: dict) -> None:
    assert back.keys() == items.keys(), f"{len(items.keys() - back.keys())} missing, {len(back.keys() - items.keys())} extra"
    diffs = [k for k in items if not items_equal(items[k], back[k])]
    assert not diffs, f"{len(diffs)} items differ, e.g. {diffs[:2]}"


def reported(stderr: str, what: str) -> int:
    """Sum of the 'N ... retried' progress lines the job printed."""
    return sum(int(m[1]) for m in re.finditer(rf"(?m)^(?:ddb-s3: )?\S.*?: (\d+) {what} requests retried", stderr))


def test_throttled_segments_export_is_exact_and_reports_retries(source, faulty, tmp_path):
    table, bucket, items = source
    faulty.plan.add(
        Rule("dynamodb", "ProvisionedThroughputExceededException", ops={"Scan"}, every=2, times=4),
        Rule("dynamodb", "ThrottlingException", ops={"Scan"}, after=1, every=3, times=2),
        Rule("dynamodb", "RequestLimitExceeded", ops={"Scan"}, after=2, times=1),
        Rule("dynamodb", "InternalServerError", ops={"Scan"}, after=5, times=1),
        Rule("dynamodb", "drop", ops={"Scan"}, after=3, times=1),
        Rule("dynamodb", "slow", ops={"Scan"}, after=4, times=2, delay=0.5),
    )
    proc = export(table, f"s3://{bucket}/throttled-segments", tmp_path, "--reader", "segments")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["itemCount"] == ITEMS
    injected = faulty.plan.total(service="dynamodb", op="Scan") - faulty.plan.total("slow")
    assert injected == 9, faulty.plan.describe()
    # Every injected fault cost exactly one botocore retry, and the job said so.
    assert reported(proc.stderr, "Scan") == injected, proc.stderr[-3000:]
    assert_exact(items, read_back(bucket, result["exportUri"]))
    assert subprocess.run([DDB_S3, "verify", result["exportUri"]], capture_output=True, env=_direct_env(faulty)).returncode == 0


def test_throttled_connector_export_is_exact(source, faulty, tmp_path):
    """The connector's JVM DynamoDB client goes through the proxy too (dynamodb.endpoint from the
    plan). Its retryer backs off on ProvisionedThroughputExceeded / Throttling / 5xx; a
    RequestLimitExceeded is not retried by the connector (#183), but one is absorbed by the SDK's
    own retry, and Spark's task retries absorb the rest."""
    table, bucket, items = source
    faulty.plan.add(
        Rule("dynamodb", "ProvisionedThroughputExceededException", ops={"Scan"}, every=2, times=4),
        Rule("dynamodb", "ThrottlingException", ops={"Scan"}, after=1, every=3, times=2),
        Rule("dynamodb", "InternalServerError", ops={"Scan"}, after=4, times=1),
        Rule("dynamodb", "RequestLimitExceeded", ops={"Scan"}, after=6, times=1),
    )
    proc = export(table, f"s3://{bucket}/throttled-connector", tmp_path, "--reader", "connector")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["itemCount"] == ITEMS
    assert faulty.plan.total(service="dynamodb", op="Scan") == 8, faulty.plan.describe()
    scans = faulty.plan.requests("dynamodb", "Scan")
    assert all(r.headers.get("user-agent", "").lower().find("java") >= 0 for r in scans), "scans not from the JVM"
    assert_exact(items, read_back(bucket, result["exportUri"]))


def test_s3_errors_on_data_files_and_manifests_still_give_an_exact_export(source, faulty, tmp_path):
    table, bucket, items = source
    faulty.plan.add(
        Rule("s3", "SlowDown", ops={"PutObject"}, path=r"/data/", every=2, times=3),
        Rule("s3", "drop", ops={"PutObject"}, path=r"/data/", after=4, times=1),
        Rule("s3", "drop_after", ops={"PutObject"}, path=r"/data/", after=5, times=1),
        Rule("s3", "SlowDown", ops={"HeadObject"}, times=1),
        Rule("s3", "InternalError", ops={"ListObjectsV2"}, times=1),
        Rule("s3", "InternalError", ops={"PutObject"}, path=r"manifest-files\.json", times=1),
        Rule("s3", "SlowDown", ops={"PutObject"}, path=r"manifest-summary\.json", times=1),
        Rule("s3", "drop_after", ops={"PutObject"}, path=r"manifest-summary\.json", times=1),
        Rule("s3", "InternalError", ops={"PutObject"}, path=r"_started", times=1),
    )
    proc = export(table, f"s3://{bucket}/s3-faults", tmp_path, "--reader", "segments", "--max-items-per-file", "20")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["itemCount"] == ITEMS
    assert faulty.plan.total(service="s3") == 11, faulty.plan.describe()
    # The job reported every retry of a data file or manifest write (the _started marker's and the
    # orphan listing's retries are not reported, hence 11 - 2).
    assert reported(proc.stderr, "S3") == 9, proc.stderr[-3000:]
    assert_exact(items, read_back(bucket, result["exportUri"]))
    v = subprocess.run([DDB_S3, "verify", result["exportUri"], "--json"], capture_output=True, text=True, env=_direct_env(faulty))
    assert v.returncode == 0 and json.loads(v.stdout)["ok"] is True


def _direct_env(faulty) -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["AWS_ENDPOINT_URL_S3"] = _moto()
    return env
