"""The bad-input matrix: wrong inputs across the CLI and the config file. Each one gives exactly one
stderr line naming the problem, a non-zero exit, and writes nothing (every object in the bucket,
every table and its items, and the work folder are the same before and after).

Run in-process through launcher.cli.main with file-descriptor capture (so anything printed by any
layer, tracebacks included, is counted). The cases that need a Spark run are not here (see
tests/faults/test_faults_*.py)."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest

from helpers import unique_name
from launcher.cli import main
from launcher.core import layout
from launcher.core.codec import item_line, wire_to_json
from launcher.core.s3args import S3WriteSettings
from launcher.dev.sample_data import create_lab_table, lab_items, load_items
from launcher.job import commit, s3io

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def world(local_stack, tmp_path_factory):
    """Two tables, a bucket with one good export and broken copies of it, config files."""
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    table, other = unique_name("bad"), unique_name("other")
    for t in (table, other):
        create_lab_table(ddb, t)
    load_items(ddb, table, lab_items(30))
    load_items(ddb, other, lab_items(5, seed=99))
    bucket = unique_name("bad").lower()
    s3.create_bucket(Bucket=bucket)

    def export(prefix: str) -> str:
        root = layout.export_root(prefix, layout.new_export_id(datetime.now(UTC)))
        commit.write_started(s3, bucket, root, S3WriteSettings())
        files = list(
            s3io.write_data_files(s3, bucket, root + "data/", 0, (item_line(wire_to_json(i)) for i in lab_items(30)), 10, S3WriteSettings())
        )
        desc = ddb.describe_table(TableName=table)["Table"]
        commit.commit(
            s3,
            bucket,
            root,
            files,
            {
                "exportId": root.split("/")[-2],
                "tableName": table,
                "tableArn": desc["TableArn"],
                "tableSchema": {"KeySchema": desc["KeySchema"], "AttributeDefinitions": desc["AttributeDefinitions"]},
            },
            S3WriteSettings(),
        )
        return root

    roots = {name: export(name) for name in ("good", "badmanifest", "truncated", "md5", "nosummary", "badsummary")}

    def key_of(root: str, n: int = 0) -> str:
        return json.loads(s3.get_object(Bucket=bucket, Key=root + "manifest-files.json")["Body"].read().decode().splitlines()[n])[
            "dataFileS3Key"
        ]

    bad_manifest = b'{"itemCount": 10, "md5Che\n'
    s3.put_object(Bucket=bucket, Key=roots["badmanifest"] + "manifest-files.json", Body=bad_manifest)
    s3.put_object(Bucket=bucket, Key=roots["badmanifest"] + "manifest-files.md5", Body=layout.md5_b64(bad_manifest).encode())
    roots["manifestmd5"] = export("manifestmd5")
    s3.put_object(Bucket=bucket, Key=roots["manifestmd5"] + "manifest-files.md5", Body=b"AAAAAAAAAAAAAAAAAAAAAA==")
    body = s3.get_object(Bucket=bucket, Key=key_of(roots["truncated"]))["Body"].read()
    s3.put_object(Bucket=bucket, Key=key_of(roots["truncated"]), Body=body[: len(body) // 2])
    s3.put_object(
        Bucket=bucket, Key=key_of(roots["md5"], 1), Body=gzip.compress(item_line(wire_to_json(next(lab_items(1)))).encode() + b"\n")
    )
    s3.delete_object(Bucket=bucket, Key=roots["nosummary"] + "manifest-summary.json")
    s3.put_object(Bucket=bucket, Key=roots["badsummary"] + "manifest-summary.json", Body=b"{not json")
    s3.put_object(Bucket=bucket, Key=roots["badsummary"] + "manifest-summary.md5", Body=layout.md5_b64(b"{not json").encode())

    cfg = tmp_path_factory.mktemp("cfg")
    (cfg / "bad.toml").write_text("[default\nread_percent = 0.5\n")
    (cfg / "unknown.toml").write_text("[default]\nread_persent = 0.5\n")
    (cfg / "value.toml").write_text("[default]\nread_percent = 7\n")
    (cfg / "ok.toml").write_text('[default]\nreader = "segments"\n[profiles.nightly]\nread_percent = 0.25\n')
    (cfg / "binary.toml").write_bytes(b"\xff\xfe\x00garbage")
    return {
        "table": table,
        "other": other,
        "bucket": bucket,
        "cfg": cfg,
        "work": tmp_path_factory.mktemp("work"),
        **{f"root_{k}": v for k, v in roots.items()},
    }


# (case id, argv template, expected text in the one line, extra env)
CASES = [
    # export: the table, region, destination
    ("unknown-table", "export --table NoSuchTable --to s3://{bucket}/x", "table 'NoSuchTable' not found", {}),
    ("bad-table-name", "export --table a --to s3://{bucket}/x", "--table", {}),
    ("table-name-injection", "export --table t';DROP --to s3://{bucket}/x", "--table", {}),
    ("invalid-region-name", "export --table {table} --to s3://{bucket}/x --region us_east_1!", "not a valid AWS region", {}),
    ("to-not-s3", "export --table {table} --to s3:/{bucket}/x", "is not an s3:// URI", {}),
    ("to-foreign-scheme", "export --table {table} --to gs://{bucket}/x", "is not an s3:// URI", {}),
    ("to-https-url", "export --table {table} --to https://{bucket}.s3.amazonaws.com/x", "is not an s3:// URI", {}),
    ("to-bad-bucket", "export --table {table} --to s3://Bad_Bucket/x", "invalid bucket name", {}),
    ("to-empty-segment", "export --table {table} --to s3://{bucket}/a//b", "empty path segment", {}),
    (
        "to-inside-an-export",
        "export --table {table} --to s3://{bucket}/good/AWSDynamoDB/01796600000001-cafecafe/data",
        "inside an exports folder (AWSDynamoDB/): give the prefix above it",
        {},
    ),
    ("to-the-exports-folder", "export --table {table} --to s3://{bucket}/AWSDynamoDB", "at or inside an exports folder", {}),
    ("read-percent-high", "export --table {table} --to s3://{bucket}/x --read-percent 1.6", "--read-percent", {}),
    ("read-percent-zero", "export --table {table} --to s3://{bucket}/x --read-percent 0", "--read-percent", {}),
    ("read-percent-text", "export --table {table} --to s3://{bucket}/x --read-percent lots", "read-percent", {}),
    ("unknown-engine", "export --table {table} --to s3://{bucket}/x --engine pig", "--engine", {}),
    ("unknown-reader", "export --table {table} --to s3://{bucket}/x --reader magic", "--reader", {}),
    ("segments-zero", "export --table {table} --to s3://{bucket}/x --segments 0", "--segments", {}),
    (
        "instance-type-typo",
        "export --table {table} --to s3://{bucket}/x --runner emr --instance-type m5.xlrge",
        "--instance-type 'm5.xlrge' is not an EC2 instance type (did you mean m5.xlarge?)",
        {},
    ),
    (
        "consistent-connector",
        "export --table {table} --to s3://{bucket}/x --consistent-read",
        "--consistent-read needs --reader segments",
        {},
    ),
    ("kms-key-without-kms", "export --table {table} --to s3://{bucket}/x --sse-kms-key-id k", "--sse-kms-key-id needs --sse aws:kms", {}),
    ("unknown-sse", "export --table {table} --to s3://{bucket}/x --sse rot13", "--sse", {}),
    ("cluster-id-malformed", "export --table {table} --to s3://{bucket}/x --runner emr --cluster cluster-1", "--cluster", {}),
    ("cluster-id-unknown", "export --table {table} --to s3://{bucket}/x --runner emr --cluster j-DOESNOTEXIST", "j-DOESNOTEXIST", {}),
    ("unknown-runner", "export --table {table} --to s3://{bucket}/x --runner lambda", "--runner", {}),
    (
        "doctor-local-runner",
        "doctor --table {table} --to s3://{bucket}/x",
        "doctor checks an account for a cloud runner: give --runner emr|emr-serverless|glue",
        {},
    ),
    ("unknown-flag", "export --table {table} --to s3://{bucket}/x --read-persent 0.5", "--read-persent", {}),
    ("missing-to", "export --table {table}", "--to is required", {}),
    ("native-without-pitr", "export --table {table} --to s3://{bucket}/x --engine native", "point-in-time recovery", {}),
    # config file and environment
    ("bad-toml", "export --config {cfg}/bad.toml --table {table} --to s3://{bucket}/x", "not valid TOML", {}),
    ("binary-toml", "export --config {cfg}/binary.toml --table {table} --to s3://{bucket}/x", "not valid TOML", {}),
    ("unknown-config-key", "export --config {cfg}/unknown.toml --table {table} --to s3://{bucket}/x", "unknown option(s) read_persent", {}),
    ("bad-config-value", "export --config {cfg}/value.toml --table {table} --to s3://{bucket}/x", "read_percent in ", {}),
    (
        "unknown-profile",
        "export --config {cfg}/ok.toml --config-profile weekly --table {table} --to s3://{bucket}/x",
        "profile 'weekly' not found",
        {},
    ),
    ("missing-config", "export --config {cfg}/nope.toml --table {table} --to s3://{bucket}/x", "not found", {}),
    ("bad-env-value", "export --table {table} --to s3://{bucket}/x", "DDB_S3_READ_PERCENT: ", {"DDB_S3_READ_PERCENT": "half"}),
    ("bad-env-config", "export --table {table} --to s3://{bucket}/x", "not valid TOML", {"DDB_S3_CONFIG": "{cfg}/bad.toml"}),
    # verify / download / restore of broken exports
    ("verify-no-export", "verify s3://{bucket}/nothing/here/", "/nothing/here/: give an export's folder (ddb-s3 exports list", {}),
    ("verify-no-summary", "verify s3://{bucket}/{root_nosummary}", "incomplete", {}),
    ("verify-summary-not-json", "verify s3://{bucket}/{root_badsummary}", "not valid JSON", {}),
    ("verify-malformed-manifest", "verify s3://{bucket}/{root_badmanifest}", "line 1 is malformed", {}),
    ("verify-manifest-md5", "verify s3://{bucket}/{root_manifestmd5}", "manifest-files.json does not match manifest-files.md5", {}),
    ("verify-truncated-gzip", "verify --deep s3://{bucket}/{root_truncated}", "not a valid gzip file", {}),
    ("verify-truncated-stored", "verify s3://{bucket}/{root_truncated}", "bytes, manifest says", {}),
    ("verify-md5-mismatch", "verify --deep s3://{bucket}/{root_md5}", "md5 does not match", {}),
    ("verify-replaced-stored", "verify s3://{bucket}/{root_md5}", "manifest says", {}),
    ("verify-missing-folder", "verify {work}/no/such/folder", "does not exist", {}),
    ("verify-foreign-uri", "verify ftp://{bucket}/x", "neither an s3:// URI nor a local folder", {}),
    ("verify-no-bucket", "verify s3://no-such-bucket-{table_lc}/x/", "does not exist", {}),
    ("download-slash-missing", "download s3:/{bucket}/x {work}/dl0", "is not an s3:// URI", {}),
    ("download-incomplete", "download s3://{bucket}/{root_nosummary} {work}/dl1", "incomplete", {}),
    ("download-truncated", "download s3://{bucket}/{root_truncated} {work}/dl2", "gzip", {}),
    ("download-md5", "download s3://{bucket}/{root_md5} {work}/dl3", "md5", {}),
    ("restore-other-table", "restore s3://{bucket}/{root_good} --table {other}", "another table", {}),
    ("restore-missing-table", "restore s3://{bucket}/{root_good} --table NoSuchTarget", "does not exist", {}),
    (
        "restore-bad-table-name",
        "restore s3://{bucket}/{root_good} --table a!",
        "--table: must be 3-255 characters of a-z A-Z 0-9 _ . -",
        {},
    ),
    ("restore-truncated", "restore s3://{bucket}/{root_truncated} --table {table}", "bytes, manifest says", {}),
    ("restore-md5", "restore s3://{bucket}/{root_md5} --table {table} --overwrite", "md5", {}),
    ("restore-incomplete", "restore s3://{bucket}/{root_nosummary} --table {table}", "incomplete", {}),
    ("restore-write-percent", "restore s3://{bucket}/{root_good} --table {table} --write-percent 2", "--write-percent", {}),
    ("iam-unknown-runner", "iam-policy --runner lambda --table {table} --bucket {bucket}", "--runner", {}),
    ("iam-bad-account", "iam-policy --runner local --table {table} --bucket {bucket} --account 12", "--account", {}),
    ("iam-bucket-uri", "iam-policy --runner local --table {table} --bucket s3://{bucket}", "--bucket", {}),
    # render, convert, exports, clusters
    ("render-bad-table-name", "render --table a --to s3://{bucket}/x --out {work}/rendered", "--table", {}),
    ("convert-unknown-format", "convert s3://{bucket}/{root_good} --to xml --out {work}/o.xml", "--to", {}),
    ("convert-incomplete", "convert s3://{bucket}/{root_nosummary} --format jsonl --out {work}/o.jsonl", "incomplete", {}),
    ("exports-list-foreign-uri", "exports list ftp://{bucket}/x", "is not an s3:// URI", {}),
    ("exports-show-unknown-id", "exports show s3://{bucket}/good/ nosuchid", "nosuchid", {}),
    ("exports-prune-bad-age", "exports prune s3://{bucket}/good/ --older-than soon", "--older-than", {}),
    ("clusters-list-bad-region", "clusters list --region us_east_1!", "not a valid AWS region", {}),
    ("clusters-terminate-malformed", "clusters terminate cluster-1", "cluster-1", {}),
]


# README: exit 3 "for an incomplete or corrupt export, whichever command met it"; every other case
# here is bad input, exit 2.
BROKEN_EXPORT = {
    "verify-no-summary",
    "verify-summary-not-json",
    "verify-malformed-manifest",
    "verify-manifest-md5",
    "verify-truncated-gzip",
    "verify-truncated-stored",
    "verify-md5-mismatch",
    "verify-replaced-stored",
    "download-incomplete",
    "download-truncated",
    "download-md5",
    "restore-truncated",
    "restore-md5",
    "restore-incomplete",
    "convert-incomplete",
}
# Commands that take input but are covered elsewhere, each with the reason.
NOT_IN_MATRIX = {"local up"}  # starts servers of its own; run as a process in tests/cli/test_local.py


def exit_code(case: str) -> int:
    return 3 if case in BROKEN_EXPORT else 2


def snapshot(world, s3, ddb) -> dict:
    objs = {
        o["Key"]: o["ETag"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket=world["bucket"]) for o in p.get("Contents", [])
    }
    tables = sorted(ddb.list_tables()["TableNames"])
    items = {}
    for t in (world["table"], world["other"]):
        digest = hashlib.sha256()
        rows = sorted(
            json.dumps(wire_to_json(i), sort_keys=True) for p in ddb.get_paginator("scan").paginate(TableName=t) for i in p["Items"]
        )
        for r in rows:
            digest.update(r.encode())
        items[t] = (len(rows), digest.hexdigest())
    files = sorted(str(p.relative_to(world["work"])) for p in Path(world["work"]).rglob("*"))
    buckets = sorted(b["Name"] for b in s3.list_buckets()["Buckets"])
    return {"objects": objs, "tables": tables, "items": items, "files": files, "buckets": buckets}


def _id(c) -> str:
    return c.values[0] if hasattr(c, "values") else c[0]


@pytest.mark.parametrize("case, argv, expected, env", CASES, ids=[_id(c) for c in CASES])
def test_bad_input(world, case, argv, expected, env, capfd, monkeypatch, s3, ddb):
    fmt = dict(world, table_lc=world["table"].lower())
    for k, v in env.items():
        monkeypatch.setenv(k, v.format(**fmt))
    monkeypatch.chdir(world["work"])  # no ./ddb-s3.toml here
    args = [a.format(**fmt) for a in argv.split()]
    if args[0] == "export":
        args += ["--work-dir", str(world["work"] / "runs")]
    before = snapshot(world, s3, ddb)
    capfd.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(args)
    captured = capfd.readouterr()
    # Progress lines (plan: ..., downloading ..., verifying ...) may come first; the error is one
    # line, prefixed 'ddb-s3: ', and the last.
    lines = [ln for ln in captured.err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("ddb-s3: ")]
    # README: "2 for bad input, 3 for an incomplete or corrupt export, 1 for other failures"
    assert exit_.value.code == exit_code(case), (exit_.value.code, captured.err)
    assert len(errors) == 1 and lines[-1] == errors[0], f"expected one error line, got:\n{captured.err}"
    assert expected in errors[0], errors[0]
    assert "Traceback" not in captured.err + captured.out
    after = snapshot(world, s3, ddb)
    if args[0] == "download":
        # download is resumable: files that passed their check may stay, but never a manifest, so
        # the folder is not a backup (verify says incomplete)
        dest = Path(args[2])
        assert not (dest / "manifest-summary.json").exists() and not (dest / "manifest-files.json").exists()
        after["files"] = [f for f in after["files"] if not f.startswith(dest.name)]
        from launcher.backup.storage import open_location
        from launcher.backup.verify import verify
        from launcher.core.errors import IncompleteExport

        if dest.exists():
            with pytest.raises(IncompleteExport):
                verify(open_location(str(dest)))
    assert after == before, "a failed command changed something"


def test_matrix_reaches_every_command_and_layer():
    """The docstring's claim, "wrong inputs across the CLI and the config file", checked against the
    real click group: every command that takes input (a new one fails here until it has a case), each
    option layer (config file, profile, environment), and both exit codes the README gives for bad
    input (2) and a broken export (3)."""
    import click

    from launcher.cli import cli

    def commands(group, prefix=()):
        for name, cmd in group.commands.items():
            if isinstance(cmd, click.Group):
                yield from commands(cmd, (*prefix, name))
            elif cmd.params:
                yield " ".join((*prefix, name))

    covered = {c[1] for c in CASES}
    cmds = set(commands(cli)) - NOT_IN_MATRIX
    missing = sorted(c for c in cmds if not any(argv == c or argv.startswith(c + " ") for argv in covered))
    assert not missing, f"commands with no bad-input case: {missing}"
    layers = {
        "--config": any("--config " in c[1] for c in CASES),
        "--config-profile": any("--config-profile " in c[1] for c in CASES),
        "DDB_S3_ env": any(any(k.startswith("DDB_S3_") for k in c[3]) for c in CASES),
    }
    assert all(layers.values()), layers
    assert {exit_code(_id(c)) for c in CASES} == {2, 3}
    assert len({_id(c) for c in CASES}) == len(CASES), "case ids must be unique"


@pytest.mark.integration
def test_export_to_missing_bucket_is_one_clear_line(world, capfd, monkeypatch):
    monkeypatch.chdir(world["work"])
    with pytest.raises(SystemExit) as exit_:
        main(
            [
                "export",
                "--table",
                world["table"],
                "--to",
                "s3://no-such-bucket-zz9/x",
                "--reader",
                "segments",
                "--work-dir",
                str(world["work"] / "runs-missing"),
            ]
        )
    lines = [ln for ln in capfd.readouterr().err.splitlines() if ln.startswith("ddb-s3: ")]
    assert len(lines) == 1 and "bucket" in lines[0] and "does not exist" in lines[0]
    assert exit_.value.code == 2, lines  # README: 2 for bad input


def test_a_corrupt_export_exits_3_from_every_command(world, capfd, monkeypatch):
    """README: 3 for an incomplete or corrupt export, whichever command met it."""
    monkeypatch.chdir(world["work"])
    uri = f"s3://{world['bucket']}/{world['root_md5']}"
    codes = {}
    for args in (
        ["verify", uri],
        ["verify", "--deep", uri],
        ["restore", uri, "--table", world["table"]],
        ["download", uri, str(world["work"] / "dl-corrupt")],
    ):
        with pytest.raises(SystemExit) as exit_:
            main(args)
        codes[" ".join(args[:2])] = exit_.value.code
    assert set(codes.values()) == {3}, codes
