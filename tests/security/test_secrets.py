"""Security: no credential in any artifact, log, step argument or error message; SSE and
ExpectedBucketOwner on every S3 call (seen on the wire by the proxy, and on every object with
HeadObject); hostile names cannot change the structure of a rendered program.

moto does not enforce ExpectedBucketOwner (a wrong owner is accepted), so a bucket "owned by another
account" cannot be refused here; instead the proxy checks that the header is on every S3 request."""

from __future__ import annotations

import ast
import contextlib
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest

from faults.fixtures import faulty  # noqa: F401  (fixture)
from helpers import table_description, unique_name
from launcher.core import layout
from launcher.core.codec import item_line, wire_to_json
from launcher.core.s3args import S3WriteSettings
from launcher.core.table import table_info_from_description
from launcher.dev.sample_data import create_lab_table, lab_items, load_items
from launcher.export.plan import make_plan
from launcher.export.render import render_export
from launcher.export.render.base import JOB_SCRIPT, Target
from launcher.job import commit, s3io
from launcher.options import build_request

DDB_S3 = str(Path(sys.executable).parent / "ddb-s3")
KEY_ID = "AKIAQ3EGRZ7VX2WJ4KPL"  # real-looking, fake
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzq8Tn3Xk2e"  # 40 characters
TOKEN = "IQoJb3JpZ2luX2VjEPr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDx8kN3FAKE" + "Zm9vYmFy" * 30
OWNER = "123456789012"  # moto's account
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
WRITES = {"PutObject", "CreateMultipartUpload"}


def leaks(text: str | bytes) -> list[str]:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return [
        name
        for name, s in (
            ("key id", KEY_ID),
            ("secret", SECRET),
            ("session token", TOKEN),
            ("token prefix", TOKEN[:24]),
            ("secret prefix", SECRET[:16]),
        )
        if s in text
    ]


@pytest.fixture
def fake_credentials(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)


@pytest.mark.e2e
def test_export_with_sse_kms_and_owner_leaks_nothing(local_stack, faulty, fake_credentials, tmp_path):
    ddb = boto3.client("dynamodb", endpoint_url=local_stack.dynamodb_endpoint)
    s3 = boto3.client("s3", endpoint_url=local_stack.s3_endpoint)
    table, bucket = unique_name("sec"), unique_name("sec").lower()
    create_lab_table(ddb, table)
    load_items(ddb, table, lab_items(120))
    s3.create_bucket(Bucket=bucket)
    work = tmp_path / "runs"
    proc = subprocess.run(
        [
            DDB_S3,
            "export",
            "--table",
            table,
            "--to",
            f"s3://{bucket}/sec",
            "--reader",
            "segments",
            "--segments",
            "2",
            "--sse",
            "aws:kms",
            "--sse-kms-key-id",
            KMS_KEY,
            "--expected-bucket-owner",
            OWNER,
            "--max-items-per-file",
            "50",
            "--json",
            "--work-dir",
            str(work),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    # A failing command's message too (the job's own exceptions surface through the same path).
    bad = subprocess.run([DDB_S3, "verify", f"s3://{bucket}/sec/nope/"], capture_output=True, text=True)
    dry = subprocess.run(
        [DDB_S3, "export", "--table", table, "--to", f"s3://{bucket}/sec", "--runner", "emr", "--dry-run"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and dry.returncode == 0, dry.stderr  # 2: no export at that prefix
    scanned = {
        "export stdout": proc.stdout,
        "export stderr": proc.stderr,
        "verify error": bad.stderr,
        "emr dry-run (artifacts, steps, RunJobFlow)": dry.stdout + dry.stderr,
    }
    files = [p for p in work.rglob("*") if p.is_file()]
    assert any(p.name == "step-1.log" for p in files) and any(p.name == JOB_SCRIPT for p in files)
    for p in files:  # rendered script, job zip, steps.json (step arguments), step logs
        scanned[str(p)] = p.read_bytes()
    found = {where: leaks(text) for where, text in scanned.items() if leaks(text)}
    assert not found, f"credentials leaked: {found}"

    # On the wire: every S3 call carried ExpectedBucketOwner; every object write carried SSE-KMS.
    calls = [r for r in faulty.plan.requests("s3") if bucket in r.path]
    assert len(calls) > 10
    # The CLI's own verify after the job (GetObject, HeadObject of manifests) is told apart from the job.
    last = max(i for i, r in enumerate(calls) if r.op == "PutObject" and r.path.endswith("manifest-summary.json"))
    job, cli_verify = calls[: last + 1], calls[last + 1 :]
    missing_owner = [(r.op, r.path) for r in job if r.headers.get("x-amz-expected-bucket-owner") != OWNER]
    assert not missing_owner, f"job S3 calls without ExpectedBucketOwner: {missing_owner[:5]}"
    # (only the export's own calls: the later `verify .../nope/` and the dry run set no owner)
    cli_gap = [(r.op, r.path) for r in cli_verify if result["exportId"] in r.path and r.headers.get("x-amz-expected-bucket-owner") != OWNER]
    assert any(result["exportId"] in r.path for r in cli_verify)  # the CLI's verify did run
    writes = [r for r in calls if r.op in WRITES]
    assert len(writes) >= 6  # _started, 3 data files, 2 manifests, summary
    no_sse = [
        r.path
        for r in writes
        if r.headers.get("x-amz-server-side-encryption") != "aws:kms"
        or r.headers.get("x-amz-server-side-encryption-aws-kms-key-id") != KMS_KEY
    ]
    assert not no_sse, f"objects written without SSE-KMS: {no_sse}"
    # And on every object stored.
    root = result["exportUri"].split(bucket + "/", 1)[1]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=root)["Contents"]]
    assert {layout.STARTED, layout.MANIFEST_SUMMARY, layout.MANIFEST_FILES} <= {k[len(root) :] for k in keys}
    for key in keys:
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head.get("ServerSideEncryption") == "aws:kms" and head.get("SSEKMSKeyId") == KMS_KEY, key
    assert not cli_gap, f"`ddb-s3 export` made {len(cli_gap)} S3 calls without ExpectedBucketOwner"


@pytest.mark.integration
def test_sse_s3_and_owner_on_every_call_of_the_job_modules(local_stack, faulty, s3, bucket, monkeypatch):
    """SSE-S3 (AES256) through the job's writer and commit (large file: multipart too)."""
    monkeypatch.setattr(s3io, "PART_SIZE", 5 * 1024 * 1024)
    write_args = S3WriteSettings(OWNER, "AES256")
    client = boto3.client("s3")  # through the proxy (the fixture set AWS_ENDPOINT_URL_S3)
    root = layout.export_root("sse", layout.new_export_id(datetime.now(UTC)))
    commit.write_started(client, bucket, root, write_args)
    import base64
    import os

    lines = [item_line(wire_to_json(i)) for i in lab_items(40)]
    lines += [item_line({"pk": {"S": str(i)}, "b": {"B": base64.b64encode(os.urandom(3000)).decode()}}) for i in range(2500)]
    files = list(s3io.write_data_files(client, bucket, root + "data/", 0, lines, 10_000, write_args))
    commit.commit(client, bucket, root, files, {"exportId": "x"}, write_args)
    calls = [r for r in faulty.plan.requests("s3") if bucket in r.path and r.op != "CreateBucket"]
    assert {"PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", "HeadObject", "ListObjectsV2"} <= {
        r.op for r in calls
    }
    assert all(r.headers.get("x-amz-expected-bucket-owner") == OWNER for r in calls), [
        (r.op, r.path) for r in calls if r.headers.get("x-amz-expected-bucket-owner") != OWNER
    ]
    assert all(r.headers.get("x-amz-server-side-encryption") == "AES256" for r in calls if r.op in WRITES)
    for o in s3.list_objects_v2(Bucket=bucket, Prefix=root)["Contents"]:
        assert s3.head_object(Bucket=bucket, Key=o["Key"]).get("ServerSideEncryption") == "AES256", o["Key"]


# --------------------------------------------------------------------------- hostile names

DESC = table_description(
    keys=(("pk", "HASH", "S"), ("sk", "RANGE", "S")), region="us-east-1", read_units=100, write_units=100, item_count=10, size_bytes=1000
)
HOSTILE = [
    "x'); import os; os.system('id') #",
    'x"""\nimport os\n"""',
    "x\\'\n__import__('os').system('id')\n'",
    "{{ 7*7 }}{% raw %}{#",
    "`; DROP TABLE t; --",
    "\u2028\u2029\x85\r\nnewline",
]


def shape(src: str) -> str:
    """The AST with every constant blanked: equal shapes mean no name changed the program."""
    tree = ast.parse(src)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant):
            node.value = None
    return ast.dump(tree, include_attributes=False)


def strings_of(src: str) -> set[str]:
    """Every string the script holds as data: its string constants and, for a constant that is a
    JSON document, every string value and key inside it."""
    found: set[str] = set()

    def walk(v):
        if isinstance(v, str):
            found.add(v)
        elif isinstance(v, dict):
            for k, x in v.items():
                walk(k)
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.add(node.value)
            with contextlib.suppress(ValueError):  # not JSON: the constant itself is enough
                walk(json.loads(node.value))
    return found


def rendered(desc: dict, to: str = "s3://lab-backups/ddb") -> str:
    request = build_request({"table": "LabResults", "to": to, "reader": "segments"}, environ={})
    plan = make_plan(
        request,
        table_info_from_description(desc),
        region="us-east-1",
        endpoints={"dynamodb": None, "s3": None},
        now=datetime(2026, 1, 1, tzinfo=UTC),
        token="abcd1234",
        local_cores=2,
    )
    return render_export(plan, Target("/tmp/x", ["a.jar"])).files[JOB_SCRIPT]


@pytest.mark.unit
@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_attribute_and_table_names_do_not_change_the_python(name):
    benign = shape(rendered(DESC))
    desc = json.loads(json.dumps(DESC))
    desc["KeySchema"][0]["AttributeName"] = desc["AttributeDefinitions"][0]["AttributeName"] = name
    desc["TableName"] = name  # as DescribeTable could return it; the request itself refuses such names
    desc["TableArn"] = "arn:aws:dynamodb:us-east-1:1:table/" + name
    src = rendered(desc)
    assert shape(src) == benign
    # and the name reaches the job as data, unchanged: a string constant of the script holds it, as
    # itself or inside the JSON document the plan is embedded as
    assert name in strings_of(src), "the hostile name is not in the script as data"


@pytest.mark.unit
@pytest.mark.parametrize(
    "prefix",
    [
        "a\nimport os\nos.system('id')\n#",  # reaches the script's header comment (quoted there with python_json)
        "a'b\"c/{{x}}/%s",
    ],
)
def test_hostile_destination_prefix_does_not_change_the_python(prefix):
    from launcher.core.errors import BadInput

    try:
        src = rendered(DESC, "s3://lab-backups/" + prefix)
    except BadInput as e:  # refused up front is fine, if it says why
        assert "--to" in str(e)
        return
    assert shape(src) == shape(rendered(DESC))


def hive_statements(desc: dict) -> list[list[str]]:
    """Per rendered .hql file, the first word of each statement (';' ends a statement: hive_identifier
    refuses ';' in names and hive_string escapes it, so a split on ';' is the Hive CLI's own)."""
    request = build_request({"table": "LabResults", "to": "s3://lab-backups/ddb", "engine": "hive"}, environ={})
    plan = make_plan(
        request,
        table_info_from_description(desc),
        region="us-east-1",
        endpoints={"dynamodb": None, "s3": None},
        now=datetime(2026, 1, 1, tzinfo=UTC),
        token="abcd1234",
        local_cores=2,
    )
    out = []
    for name, text in sorted(render_export(plan, Target("/tmp/x", ["a.jar"])).files.items()):
        if name.endswith(".hql") and isinstance(text, str):
            body = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("--"))
            out.append([st.split()[0].upper() for st in body.split(";") if st.strip()])
    return out


@pytest.mark.unit
@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_cannot_change_the_hiveql(name):
    """A name is either quoted (the statements stay the same) or refused with a clear error."""
    pytest.importorskip("launcher.export.render.hive", reason="Hive engine not there yet")
    benign = hive_statements(DESC)
    assert benign and all(benign)
    desc = json.loads(json.dumps(DESC))
    desc["KeySchema"][0]["AttributeName"] = desc["AttributeDefinitions"][0]["AttributeName"] = name
    desc["TableName"] = name
    try:
        hostile = hive_statements(desc)
    except ValueError as e:  # refused by quoting.hive_identifier: must say which name, in full
        assert repr(name) in str(e) and "Hive identifier" in str(e), e
        return
    assert hostile == benign


# --------------------------------------------------------------------------- IAM policies


@pytest.mark.unit
@pytest.mark.parametrize("runner", ["local", "emr", "emr-serverless", "glue", "native", "restore"])
def test_iam_policies_are_least_privilege(runner, capsys):
    from launcher.aws.iam_policies import actions
    from launcher.cli import main

    main(
        [
            "iam-policy",
            "--runner",
            runner,
            "--table",
            "LabResults",
            "--bucket",
            "lab-backups",
            "--prefix",
            "ddb",
            "--region",
            "eu-west-1",
            "--account",
            "123456789012",
            "--kms-key-arn",
            KMS_KEY,
        ]
    )  # returns: exit 0
    docs = json.loads(capsys.readouterr().out)
    assert set(docs) == {
        "emr": {"launcher", "instance_role"},
        "emr-serverless": {"launcher", "job_role"},
        "glue": {"launcher", "job_role"},
    }.get(runner, {runner})
    allowed = set().union(*(actions(d) for d in docs.values()))
    assert not any(a.endswith("*") for a in allowed)
    assert not allowed & {"dynamodb:DeleteTable", "dynamodb:UpdateTable", "s3:DeleteBucket", "s3:PutBucketPolicy", "iam:CreateRole"}
    for doc in docs.values():
        for st in doc["Statement"]:
            res = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            if "*" in res:  # only EMR actions without a resource ARN: RunJobFlow (tag-conditioned), ListClusters
                assert (
                    st["Action"] in (["elasticmapreduce:RunJobFlow"], ["emr-serverless:CreateApplication"]) and "Condition" in st
                ) or st["Action"] in (["elasticmapreduce:ListClusters"], ["emr-serverless:ListApplications"])
            for r in res:
                assert (
                    r == "*"
                    or "LabResults" in r
                    or "lab-backups" in r
                    or ":role/" in r
                    or ":kms:" in r
                    or ":cluster/" in r
                    or r.startswith(
                        (
                            "arn:aws:emr-serverless:eu-west-1:123456789012:/applications/",
                            "arn:aws:logs:eu-west-1:123456789012:log-group:/aws-glue/jobs/",
                        )
                    )
                    or r == "arn:aws:glue:eu-west-1:123456789012:job/ddb-s3-export-*"
                )
            if any(a in st["Action"] for a in ("emr-serverless:CreateApplication", "emr-serverless:DeleteApplication")):
                assert "Condition" in st  # only with (create) or on (delete) our managed tag
            if st["Action"] == ["s3:ListBucket"]:
                assert st["Condition"]["StringLike"]["s3:prefix"][0].startswith("ddb")
    needs = {
        "local": {"dynamodb:Scan", "s3:PutObject", "s3:DeleteObject", "kms:GenerateDataKey"},
        "native": {"dynamodb:ExportTableToPointInTime", "dynamodb:DescribeExport", "s3:PutObject"},
        "restore": {"dynamodb:BatchWriteItem", "dynamodb:CreateTable", "s3:GetObject", "kms:Decrypt"},
        "emr": {"elasticmapreduce:RunJobFlow", "elasticmapreduce:TerminateJobFlows", "iam:PassRole", "dynamodb:Scan", "s3:PutObject"},
        "glue": {
            "glue:CreateJob",
            "glue:StartJobRun",
            "glue:BatchStopJobRun",
            "glue:DeleteJob",
            "iam:PassRole",
            "logs:GetLogEvents",
            "dynamodb:Scan",
            "s3:PutObject",
        },
        "emr-serverless": {
            "emr-serverless:CreateApplication",
            "emr-serverless:StartJobRun",
            "emr-serverless:CancelJobRun",
            "emr-serverless:DeleteApplication",
            "iam:PassRole",
            "dynamodb:Scan",
            "s3:PutObject",
        },
    }[runner]
    assert needs <= allowed
    if runner == "restore":
        assert not {a for a in allowed if a.startswith("s3:Put") or a == "s3:DeleteObject"}
    if runner == "emr":
        # the launcher scans only to size an uncounted table (PlanSampleSize); the nodes never pass roles
        launcher_scans = [st for st in docs["launcher"]["Statement"] if "dynamodb:Scan" in st["Action"]]
        assert [st["Sid"] for st in launcher_scans] == ["PlanSampleSize"] and "iam:PassRole" not in actions(docs["instance_role"])
    if runner in ("emr-serverless", "glue"):
        launcher_scans = [st for st in docs["launcher"]["Statement"] if "dynamodb:Scan" in st["Action"]]
        assert [st["Sid"] for st in launcher_scans] == ["PlanSampleSize"] and "iam:PassRole" not in actions(docs["job_role"])


@pytest.mark.e2e
@pytest.mark.parametrize("runner", ["emr-serverless", "glue"])
def test_serverless_runners_put_no_credential_in_a_request_or_a_log(local_stack, fake_credentials, runner, monkeypatch, tmp_path_factory):
    """The launcher's credentials reach no request (StartJobRun, CreateJob), no job argument, no line
    of its own and no driver log: the job runs with its role's."""
    import gzip
    import time

    from launcher.dev.localstack import REPO_ROOT

    if local_stack.emr_endpoint is None:
        local_stack.start_local_emr(REPO_ROOT, sys.executable, tmp_path_factory.mktemp("sec-emr"), time.monotonic() + 60, 60)
    for svc in ("EMR_SERVERLESS", "GLUE", "CLOUDWATCH_LOGS"):
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{svc}", local_stack.emr_endpoint)
    ddb = boto3.client("dynamodb", endpoint_url=local_stack.dynamodb_endpoint)
    s3 = boto3.client("s3", endpoint_url=local_stack.s3_endpoint)
    table, bucket = unique_name("secs"), unique_name("secs").lower()
    create_lab_table(ddb, table)
    load_items(ddb, table, lab_items(40))
    s3.create_bucket(Bucket=bucket)
    own = ["--log-uri", f"s3://{bucket}/logs/"] if runner == "emr-serverless" else ["--keep"]  # each runner's own options
    proc = subprocess.run(
        [
            DDB_S3,
            "export",
            "--runner",
            runner,
            "--table",
            table,
            "--to",
            f"s3://{bucket}/sec",
            "--json",
            "--reader",
            "segments",
            *own,
            "--poll-seconds",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    where, run_id = json.loads(proc.stdout)["clusterId"].split("/")
    scanned = {"stdout": proc.stdout, "stderr": proc.stderr}
    if runner == "emr-serverless":
        sls = boto3.client("emr-serverless", endpoint_url=local_stack.emr_endpoint)
        scanned["job run"] = json.dumps(sls.get_job_run(applicationId=where, jobRunId=run_id)["jobRun"], default=str)
        for o in s3.list_objects_v2(Bucket=bucket, Prefix="logs/")["Contents"]:
            scanned[o["Key"]] = gzip.decompress(s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read())
    else:
        glue = boto3.client("glue", endpoint_url=local_stack.emr_endpoint)
        scanned["job"] = json.dumps(glue.get_job(JobName=where)["Job"], default=str)
        scanned["job run"] = json.dumps(glue.get_job_run(JobName=where, RunId=run_id)["JobRun"], default=str)
        logs = boto3.client("logs", endpoint_url=local_stack.emr_endpoint)
        for group in ("/aws-glue/jobs/error", "/aws-glue/jobs/output"):
            events = logs.get_log_events(logGroupName=group, logStreamName=run_id)["events"]
            scanned[group] = "\n".join(e["message"] for e in events)
        glue.delete_job(JobName=where)
    assert len(scanned) > 3
    found = {w: leaks(t) for w, t in scanned.items() if leaks(t)}
    assert not found, f"credentials leaked: {found}"
