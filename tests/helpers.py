"""Plain helpers shared by the test folders (importable from any of them: pyproject's
[tool.pytest.ini_options] puts tests/ on sys.path). Fixtures stay in conftest.py.

The launcher modules that may still move (the export request and plan) are imported inside the
functions that need them, so a rename breaks the tests that plan, not every test."""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from launcher.export.plan import ExportPlan

TESTS = Path(__file__).resolve().parent
REPO_ROOT = TESTS.parent
FIXTURES = TESTS / "fixtures"
GOLDEN = TESTS / "golden"


# --------------------------------------------------------------------------- names and processes


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def process_alive(pid: int) -> bool:
    """True while pid runs (a zombie counts as gone), from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# --------------------------------------------------------------------------- DescribeTable and plans

GIB = 1024**3
# The default planning clock (an instant with milliseconds, so export ids show them).
NOW = datetime(2026, 11, 27, 12, 0, 0, 123000, tzinfo=UTC)


def table_description(
    name: str = "LabResults",
    keys: tuple[tuple[str, str, str], ...] = (("pk", "HASH", "S"),),
    *,
    definitions: tuple[tuple[str, str], ...] | None = None,
    billing: str = "PROVISIONED",
    read_units: int = 400,
    write_units: int = 100,
    item_count: int = 1000,
    size_bytes: int = 10_000_000,
    region: str = "eu-west-1",
) -> dict[str, Any]:
    """A DescribeTable 'Table' dict. keys: (attribute, HASH|RANGE, S|N|B) in KeySchema order;
    definitions: (attribute, type) in AttributeDefinitions order, by default the keys' own."""
    if definitions is None:
        definitions = tuple((n, t) for n, _, t in keys)
    d: dict[str, Any] = {
        "TableName": name,
        "TableArn": f"arn:aws:dynamodb:{region}:123456789012:table/{name}",
        "KeySchema": [{"AttributeName": n, "KeyType": k} for n, k, _ in keys],
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in definitions],
        "ProvisionedThroughput": {"ReadCapacityUnits": read_units, "WriteCapacityUnits": write_units},
        "ItemCount": item_count,
        "TableSizeBytes": size_bytes,
        "TableStatus": "ACTIVE",
    }
    if billing != "PROVISIONED":
        d["BillingModeSummary"] = {"BillingMode": billing}
    return d


# The table the EMR request and runner tests plan for: 100 RCU, 3 GiB.
EMR_TABLE = table_description(read_units=100, write_units=5, size_bytes=3 * GIB)


def plan_for(
    table: dict[str, Any] | None = None,
    *,
    to: str = "s3://lab-backups/ddb",
    endpoint: str | None = None,
    region: str = "eu-west-1",
    now: datetime = NOW,
    token: str = "abcd1234",
    local_cores: int | None = None,
    pitr_enabled: bool = False,
    **flags: Any,
) -> ExportPlan:
    """The plan of `ddb-s3 export --table <table's name> --to <to> --<flag> ...` for a described
    table (table_description() by default), with no environment, a fixed clock and token, and
    `endpoint` as the DynamoDB endpoint. local_cores=None leaves make_plan's own default (the
    machine's cores)."""
    from launcher.core.table import table_info_from_description
    from launcher.export.plan import make_plan
    from launcher.options import build_request

    table = table if table is not None else table_description()
    request = build_request({"table": table["TableName"], "to": to} | flags, environ={})
    extra = {} if local_cores is None else {"local_cores": local_cores}
    return make_plan(
        request,
        table_info_from_description(table, pitr_enabled=pitr_enabled),
        region=region,
        endpoints={"dynamodb": endpoint, "s3": None},
        now=now,
        token=token,
        **extra,
    )


def emr_plan(**flags: Any) -> ExportPlan:
    """plan_for EMR_TABLE with --runner emr, as the EMR request and runner tests use it."""
    flags = {"runner": "emr", "now": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)} | flags
    return plan_for(EMR_TABLE, **flags)


LAB_KEYS = ["patient_id", "sample_id"]  # sample_data's LabResults key


def table_items(ddb: Any, table: str, keys: list[str] = LAB_KEYS) -> dict[tuple, dict]:
    """Every item of a table as export JSON, by its key (what an export must hold, item for item)."""
    from launcher.core.codec import item_key, wire_to_json

    items = {}
    for page in ddb.get_paginator("scan").paginate(TableName=table):
        for raw in page["Items"]:
            item = wire_to_json(raw)
            items[item_key(item, keys)] = item
    return items


# --------------------------------------------------------------------------- backup fixtures

BACKUPS = FIXTURES / "backups"
NATIVE = BACKUPS / "native-full" / "AWSDynamoDB" / "01716790307109-5f9d6aaa"
INCR = BACKUPS / "native-incremental" / "AWSDynamoDB" / "01716791487000-6ddcf8cf"
DP = BACKUPS / "datapipeline"


def expected(name: str) -> list[dict]:
    """The items a backup fixture holds (tests/fixtures/backups/expected-<name>.jsonl)."""
    return [json.loads(line) for line in (BACKUPS / f"expected-{name}.jsonl").read_text().splitlines()]


# --------------------------------------------------------------------------- exports on disk

# The schema write_export records: LabResults with a GSI (as sample_data.create_lab_table makes it).
LAB_SCHEMA = {
    "KeySchema": [{"AttributeName": "patient_id", "KeyType": "HASH"}, {"AttributeName": "sample_id", "KeyType": "RANGE"}],
    "AttributeDefinitions": [
        {"AttributeName": "patient_id", "AttributeType": "S"},
        {"AttributeName": "sample_id", "AttributeType": "S"},
        {"AttributeName": "test_code", "AttributeType": "S"},
    ],
    "BillingMode": "PAY_PER_REQUEST",
    "GlobalSecondaryIndexes": [
        {
            "IndexName": "by_test",
            "KeySchema": [{"AttributeName": "test_code", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }
    ],
    "LocalSecondaryIndexes": [],
}

# Items of every shape convert has to flatten: exact and huge numbers, binary, sets, nesting, and
# an attribute whose type differs between items.
CONVERT_ITEMS = [
    {
        "pk": {"S": "a"},
        "n": {"N": "12345678901234567890.123456789"},
        "b": {"B": "AAEC"},
        "ss": {"SS": ["z", "y"]},
        "m": {"M": {"x": {"N": "1.5"}, "l": {"L": [{"BOOL": True}, {"NULL": True}]}}},
        "mixed": {"S": "text"},
        "big": {"N": "1E+125"},
        "bs": {"BS": ["AQ==", "AA=="]},
        "flag": {"BOOL": False},
    },
    {"pk": {"S": "b"}, "n": {"N": "-7"}, "mixed": {"N": "42"}, "extra": {"NULL": True}, "big": {"N": "3"}},
]


def write_export(root: Path, items: list[dict], table: str = "LabResults", files: int = 4, schema: dict | None = None) -> Path:
    """An export in our layout (local folder), as the Spark job writes it."""
    from launcher.core import layout
    from launcher.core.codec import item_line

    eid = "01700000000000-0badcafe"
    folder = root / "AWSDynamoDB" / eid
    (folder / "data").mkdir(parents=True)
    entries = []
    for f in range(files):
        part = items[f::files]
        data = gzip.compress("".join(item_line(i) + "\n" for i in part).encode(), mtime=0)
        key = f"AWSDynamoDB/{eid}/data/{layout.data_file_name(f, 0)}"
        (root / key).write_bytes(data)
        entries.append(layout.DataFile(len(part), layout.md5_b64(data), "x", key))
    (folder / layout.MANIFEST_FILES).write_text(layout.manifest_files_text(entries))
    summary = {
        "exportId": eid,
        "tableName": table,
        "itemCount": len(items),
        "outputFormat": "DYNAMODB_JSON",
        "tableSchema": schema or LAB_SCHEMA,
        "exporter": {"tool": "ddb-s3"},
    }
    (folder / layout.MANIFEST_SUMMARY).write_text(json.dumps(summary))
    return folder


def fake_clock() -> Any:
    """A launcher.core.wait.Clock whose sleep advances its time at once: waits run without sleeping.
    Its `slept` list holds every sleep asked for."""
    from launcher.core.wait import Clock

    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    clock = Clock(now=lambda: now[0], sleep=sleep)
    object.__setattr__(clock, "slept", slept)  # frozen dataclass: the list rides along for the tests
    return clock


def stream_admin(endpoint: str, op: str, body: dict[str, Any]) -> dict[str, Any]:
    """A DdbS3Local.<op> admin call to the local stack's streams stand-in (launcher/dev/dynalite_streams.js):
    unsigned, answered by dynalite's port itself."""
    import json
    import urllib.request

    req = urllib.request.Request(
        endpoint,
        data=json.dumps(body).encode(),
        headers={"X-Amz-Target": f"DdbS3Local.{op}", "Content-Type": "application/x-amz-json-1.0"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return dict(json.loads(resp.read()))


def cluster_state_after_termination(emr: Any, cluster_id: str, timeout: float = 60) -> str:
    """The cluster's state once it has left TERMINATING: EMR (and the local EMR) shows TERMINATING
    while the nodes go, after a TerminateJobFlows or the last step."""
    from launcher.core.wait import poll_until

    def state() -> str:
        return str(emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"])

    return poll_until(state, lambda s: s != "TERMINATING", every=0.1, timeout=timeout, what=f"{cluster_id} to leave TERMINATING")
