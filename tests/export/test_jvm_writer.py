"""The connector reader's JVM writer (spark/jvm dev.ddbs3.GzipExportChunks): the JVM reads, writes
the lines and gzips them; the tasks' Python uploads the bytes (launcher.job.s3io.write_gzipped_files).
Its export must look exactly like the Python writer's: the same manifest-files fields, an MD5 and a
SHA-256 that S3 and `verify` agree with (multipart above 8 MiB, composite "<b64>-N"), the same
billed bytes (characters of the lines, as Python's len counts them), and every S3 call with the
export's SSE and ExpectedBucketOwner. Through the fault proxy, which records the calls."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from faults.fixtures import faulty  # noqa: F401  (fixture)
from helpers import unique_name
from launcher.core import layout
from launcher.job.s3io import PART_SIZE

pytestmark = pytest.mark.e2e
DDB_S3 = str(Path(sys.executable).parent / "ddb-s3")
ACCOUNT = "123456789012"  # moto's
KMS_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
BIG, SMALL, PER_FILE = 42, 4, 38  # 46 items: one file of 38 (>= 34 big ones: > 8 MiB, multipart), one of 8


def _items() -> list[dict]:
    rng = random.Random(5)
    big = [
        {
            "pk": {"S": f"big-{i:03d}"},  # ~380 KB of base64: gzip keeps ~3/4 of it
            "blob": {"S": base64.b64encode(rng.randbytes(285_000)).decode()},
        }
        for i in range(BIG)
    ]
    small = [
        {
            "pk": {"S": f"small-{i:03d}"},
            "uni": {"S": "Grüße 😀 \U0001d11e"},
            "n": {"N": str(i)},
            "l": {"L": [{"BOOL": True}, {"NULL": True}, {"SS": ["a", "é"]}]},
        }
        for i in range(SMALL)
    ]
    return big + small


@pytest.fixture
def table_and_bucket(local_stack):
    ddb = boto3.client("dynamodb", endpoint_url=local_stack.dynamodb_endpoint)
    name = unique_name("jvmw")
    ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
    for item in _items():
        ddb.put_item(TableName=name, Item=item)
    bucket = unique_name("jvmw").lower()
    boto3.client("s3", endpoint_url=local_stack.s3_endpoint).create_bucket(Bucket=bucket)
    yield name, bucket
    ddb.delete_table(TableName=name)


@pytest.mark.parametrize("raw", [True, False], ids=["items-as-sent", "items-unmarshalled"])
def test_jvm_writer_export_matches_the_python_writers_format(local_stack, faulty, table_and_bucket, tmp_path, raw):
    """Both ways the JVM gets an item: as DynamoDB sent it (dev.ddbs3.RawScanItems, the default) and
    unmarshalled by SDK v2 (-Dddbs3.rawScan=false); the same export either way."""
    table, bucket = table_and_bucket
    env = dict(os.environ) | ({} if raw else {"JAVA_TOOL_OPTIONS": "-Dddbs3.rawScan=false"})
    proc = subprocess.run(
        [
            DDB_S3,
            "export",
            "--table",
            table,
            "--to",
            f"s3://{bucket}/jvm",
            "--reader",
            "connector",
            "--segments",
            "1",
            "--max-items-per-file",
            str(PER_FILE),
            "--sse",
            "aws:kms",
            "--sse-kms-key-id",
            KMS_KEY,
            "--expected-bucket-owner",
            ACCOUNT,
            "--json",
            "--work-dir",
            str(tmp_path),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["itemCount"] == BIG + SMALL
    s3 = boto3.client("s3", endpoint_url=local_stack.s3_endpoint)
    root = result["exportUri"].split(bucket + "/", 1)[1]
    text = s3.get_object(Bucket=bucket, Key=root + layout.MANIFEST_FILES)["Body"].read().decode()
    entries = [json.loads(line) for line in text.splitlines()]

    # the same fields, in the same order, as the Python writer's DataFile gives
    python_keys = list(json.loads(layout.manifest_files_text([layout.DataFile(1, "m", "e", "k", 2, "s")])))
    assert [list(e) for e in entries] == [python_keys] * 2
    assert sorted(e["itemCount"] for e in entries) == [BIG + SMALL - PER_FILE, PER_FILE]
    names = [e["dataFileS3Key"].rsplit("/", 1)[1] for e in entries]
    assert all(re.fullmatch(r"part-00000-000[01]-[0-9a-f]{12}\.json\.gz", n) for n in names), names
    assert {n[:15] for n in names} == {"part-00000-0000", "part-00000-0001"}

    lines: list[str] = []
    for e in entries:
        head = s3.head_object(Bucket=bucket, Key=e["dataFileS3Key"], ChecksumMode="ENABLED")
        body = s3.get_object(Bucket=bucket, Key=e["dataFileS3Key"])["Body"].read()
        assert len(body) == e["size"] == head["ContentLength"]
        assert base64.b64encode(hashlib.md5(body).digest()).decode() == e["md5Checksum"]
        assert head["ETag"].strip('"') == e["etag"]
        assert head["ChecksumSHA256"].split("-")[0] == e["sha256Checksum"].split("-")[0]
        if e["size"] > PART_SIZE:  # the S3 composite checksum of the 8 MiB parts
            parts = [body[i : i + PART_SIZE] for i in range(0, len(body), PART_SIZE)]
            digests = b"".join(hashlib.sha256(p).digest() for p in parts)
            assert e["sha256Checksum"] == f"{base64.b64encode(hashlib.sha256(digests).digest()).decode()}-{len(parts)}"
        else:
            assert e["sha256Checksum"] == base64.b64encode(hashlib.sha256(body).digest()).decode()
        file_lines = gzip.decompress(body).decode().splitlines()
        assert len(file_lines) == e["itemCount"]
        lines += file_lines
    assert sorted(e["sha256Checksum"].endswith("-2") for e in entries) == [False, True], [(e["size"], e["itemCount"]) for e in entries]
    assert all(line.startswith('{"Item":{') and line.endswith("}}") for line in lines)
    by_pk = {json.loads(line)["Item"]["pk"]["S"]: json.loads(line)["Item"] for line in lines}
    assert by_pk == {item["pk"]["S"]: item for item in _items()}

    summary = json.loads(s3.get_object(Bucket=bucket, Key=root + layout.MANIFEST_SUMMARY)["Body"].read())
    assert summary["billedSizeBytes"] == sum(len(line) for line in lines)  # as Python's ReadStats counts
    window = summary["ddbS3"]["readWindow"]
    assert window["from"] and window["to"] and window["from"] <= window["to"] and summary["exportTime"] == window["from"]
    assert summary["s3SseAlgorithm"] == "aws:kms" and summary["s3SseKmsKeyId"] == KMS_KEY

    # every S3 call carried the bucket owner; every object created carried the SSE settings
    calls = [r for r in faulty.plan.requests("s3") if f"/{bucket}" in r.path]
    data_calls = [r for r in calls if "/data/" in r.path]
    assert {r.op for r in data_calls} >= {"PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"}
    missing_owner = [(r.op, r.path) for r in calls if r.headers.get("x-amz-expected-bucket-owner") != ACCOUNT]
    assert not missing_owner, missing_owner
    for r in data_calls:
        if r.op in ("PutObject", "CreateMultipartUpload"):
            assert r.headers.get("x-amz-server-side-encryption") == "aws:kms", (r.op, r.headers)
            assert r.headers.get("x-amz-server-side-encryption-aws-kms-key-id") == KMS_KEY, (r.op, r.headers)
        if r.op in ("PutObject", "UploadPart"):
            assert r.headers.get("x-amz-checksum-sha256"), (r.op, r.headers)

    # the JVM tasks' progress lines, which the local runner adds up
    log = (tmp_path / result["exportId"] / "step-1.log").read_text()
    reports = [json.loads(m) for m in re.findall(r"ddb-s3 progress: (\{[^}]*\})", log)]
    assert reports and set(reports[-1]) == {"partition", "items", "bytes", "seconds"}, reports
    assert reports[-1]["seconds"] >= 0 and {k: reports[-1][k] for k in ("partition", "items", "bytes")} == {
        "partition": 0,
        "items": BIG + SMALL,
        "bytes": summary["billedSizeBytes"],
    }

    # how the JVM got the items: every one as sent, or every one unmarshalled
    (how,) = [json.loads(m) for m in re.findall(r"ddb-s3 connector items: (\{[^}]*\})", log)]
    assert how == {"partition": 0, "raw": BIG + SMALL if raw else 0, "unmarshalled": 0 if raw else BIG + SMALL}

    verify = subprocess.run([DDB_S3, "verify", result["exportUri"], "--deep"], check=False, capture_output=True, text=True, timeout=600)
    assert verify.returncode == 0 and f"{BIG + SMALL:,} items" in verify.stderr, verify.stderr[-2000:]
