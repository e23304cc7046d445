"""Issue 14: our summary has every key of AWS's documented full export, in its order (and ours under one key), both
manifests have their .md5, the data files carry a SHA-256 that S3 verified on arrival and stores,
and `verify` of an S3 export compares those stored checksums without reading a data byte (counted on
the wire), while `--deep` reads every line. moto stores and returns the checksums as S3 does."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest

from faults.fixtures import faulty  # noqa: F401  (fixture)
from helpers import unique_name
from launcher.backup.verify import verify_export
from launcher.core import layout
from launcher.core.codec import item_line, wire_to_json
from launcher.core.errors import IncompleteExport
from launcher.core.s3args import S3WriteSettings
from launcher.dev.sample_data import lab_items
from launcher.job import commit, runtime, s3io

# AWS's example summary, byte for byte from "DynamoDB table export output format" (the folder's README)
DOCUMENTED_SUMMARY = Path(__file__).parents[1] / "fixtures/backups/aws-docs/AWSDynamoDB/01234567890123-a1b2c3d4/manifest-summary.json"
PLAN = {
    "export_id": "01795780800123-abcd1234",
    "started_at": "2026-11-28T18:00:00.000Z",
    "prefix": "nightly",
    "table": {
        "name": "LabResults",
        "arn": "arn:aws:dynamodb:eu-west-1:123456789012:table/LabResults",
        "table_id": "5f2c1e0a-0000-4000-8000-000000000001",
    },
    "table_schema": {"KeySchema": []},
    "engine": "spark",
    "read_percent": 0.5,
    "consistent_read": False,
    "s3": {},
    "region": "eu-west-1",
    "endpoints": {},
}


def random_lines(n: int, size: int):
    """Items whose gzip is about as large as they are (random base64), to force multipart uploads."""
    for i in range(n):
        yield json.dumps({"Item": {"pk": {"S": f"k{i}"}, "blob": {"S": base64.b64encode(os.urandom(size)).decode()}}})


def write_ours(s3, bucket: str, n_items: int, per_file: int, lines=None) -> str:
    root = layout.export_root("nightly", layout.new_export_id(datetime.now(UTC)))
    settings = S3WriteSettings()
    commit.write_started(s3, bucket, root, settings)
    lines = lines or (item_line(wire_to_json(i)) for i in lab_items(n_items))
    results = list(
        runtime.write_watched(lambda watched: s3io.write_data_files(s3, bucket, root + "data/", 0, watched, per_file, settings), lines)
    )
    files, read = runtime.merge_read_stats(results)
    commit.commit(
        s3, bucket, root, files, runtime.summary_fields(dict(PLAN, export_id=root.split("/")[-2]), {"reader": "segments"}, read), settings
    )
    return root


@pytest.mark.unit
def test_summary_has_every_key_of_the_documented_full_export_in_its_order():
    documented = json.loads(DOCUMENTED_SUMMARY.read_text())
    fields = runtime.summary_fields(
        PLAN, {"reader": "connector"}, {"from": "2026-11-28T18:00:01.000Z", "to": "2026-11-28T18:00:09.000Z", "bytes": 1234}
    )
    files = [layout.DataFile(3, "md5", "etag", "nightly/AWSDynamoDB/x/data/a.json.gz", 10, "sha")]

    class FakeS3:
        def __init__(self):
            self.put = {}

        def head_object(self, **kw):
            return {"ETag": '"etag"'}

        def get_paginator(self, _):
            return type("P", (), {"paginate": lambda self, **kw: [{}]})()

        def put_object(self, Key, Body, **kw):
            self.put[Key] = Body
            return {}

    s3 = FakeS3()  # the keys and bytes commit writes; S3 itself is in the tests below
    summary = commit.commit(s3, "lab-backups", "nightly/AWSDynamoDB/x/", files, fields, S3WriteSettings())
    body = s3.put["nightly/AWSDynamoDB/x/manifest-summary.json"]
    assert list(json.loads(body))[: len(documented)] == list(documented)  # every documented key, in the page's order
    assert set(json.loads(body)) - set(documented) == {"exportType", "ddbS3"}
    assert s3.put["nightly/AWSDynamoDB/x/manifest-summary.md5"] == layout.md5_b64(body).encode()
    assert list(s3.put)[-1].endswith("manifest-summary.json")  # the commit marker comes last
    assert summary["exportArn"] is None and summary["exportType"] == "FULL_EXPORT"
    assert summary["tableId"] == PLAN["table"]["table_id"] and summary["s3SseAlgorithm"] == "AES256"
    assert summary["exportTime"] == "2026-11-28T18:00:01.000Z" and summary["billedSizeBytes"] == 1234
    assert summary["ddbS3"]["readWindow"] == {"from": "2026-11-28T18:00:01.000Z", "to": "2026-11-28T18:00:09.000Z"}
    assert summary["ddbS3"]["tool"] == "ddb-s3" and summary["ddbS3"]["dataFileCount"] == 1


@pytest.fixture
def bucket(local_stack):
    name = unique_name("vstored").lower()
    boto3.client("s3", endpoint_url=local_stack.s3_endpoint).create_bucket(Bucket=name)
    return name


def test_data_files_carry_the_sha256_s3_stores_single_and_multipart(local_stack, bucket):
    s3 = boto3.client("s3", endpoint_url=local_stack.s3_endpoint)
    root = write_ours(s3, bucket, 1300, 1300, random_lines(1300, 7500))  # one ~10 MB gzip file: two parts
    entries = [json.loads(x) for x in s3.get_object(Bucket=bucket, Key=root + layout.MANIFEST_FILES)["Body"].read().splitlines()]
    assert all(e["sha256Checksum"].endswith("-2") for e in entries), [e["sha256Checksum"] for e in entries]
    small = write_ours(s3, bucket, 30, 100)
    (one,) = [json.loads(x) for x in s3.get_object(Bucket=bucket, Key=small + layout.MANIFEST_FILES)["Body"].read().splitlines()]
    for e in [*entries, one]:
        head = s3.head_object(Bucket=bucket, Key=e["dataFileS3Key"], ChecksumMode="ENABLED")
        assert head["ContentLength"] == e["size"]
        assert head["ChecksumSHA256"].split("-")[0] == e["sha256Checksum"].split("-")[0]


def test_verify_reads_no_data_and_deep_reads_all(local_stack, bucket, faulty):
    s3 = boto3.client("s3", endpoint_url=local_stack.s3_endpoint)
    root = write_ours(s3, bucket, 300, 50)
    uri = f"s3://{bucket}/{root}"

    def data_gets() -> int:
        return len([r for r in faulty.plan.requests("s3", "GetObject") if "/data/" in r.path])

    report = verify_export(uri)
    assert report.ok and not report.deep and report.item_count == 300 and len(report.files) == 6
    assert data_gets() == 0  # no data byte read
    assert len(faulty.plan.requests("s3", "HeadObject")) == 6
    assert "eventually consistent" in report.read_window
    deep = verify_export(uri, deep=True)
    assert deep.ok and deep.deep and deep.item_count == 300
    assert data_gets() == 6


def test_verify_catches_a_replaced_file_and_a_damaged_summary_md5(local_stack, bucket):
    s3 = boto3.client("s3", endpoint_url=local_stack.s3_endpoint)
    root = write_ours(s3, bucket, 100, 50)
    uri = f"s3://{bucket}/{root}"
    first = json.loads(s3.get_object(Bucket=bucket, Key=root + layout.MANIFEST_FILES)["Body"].read().splitlines()[0])
    body = s3.get_object(Bucket=bucket, Key=first["dataFileS3Key"])["Body"].read()
    swapped = body[:-9] + bytes([body[-9] ^ 1]) + body[-8:]  # same size, one bit off
    s3.put_object(Bucket=bucket, Key=first["dataFileS3Key"], Body=swapped, ChecksumAlgorithm="SHA256")
    report = verify_export(uri)
    assert not report.ok and not report.deep
    assert report.problems == [f"{first['dataFileS3Key'].split(root)[1]}: SHA-256 checksum stored by S3 does not match the manifest"]
    s3.put_object(Bucket=bucket, Key=first["dataFileS3Key"], Body=swapped)  # uploaded without a checksum: read, and refused
    (problem,) = verify_export(uri).problems
    assert problem.startswith(first["dataFileS3Key"].split(root)[1] + ": ")
    s3.put_object(Bucket=bucket, Key=root + layout.MANIFEST_SUMMARY_MD5, Body=b"AAAAAAAAAAAAAAAAAAAAAA==")
    with pytest.raises(IncompleteExport, match=r"manifest-summary\.json does not match manifest-summary\.md5"):
        verify_export(uri)


def test_an_export_copied_without_its_checksums_is_read_and_verifies(local_stack, bucket):
    """Exercise (issue 24): `aws s3 cp --recursive` copies an export without the SHA-256 S3 stored
    with each object; verify reads those files (MD5, item count) and says so, instead of failing a
    good export. A flipped byte in such a copy still fails."""
    s3 = boto3.client("s3", endpoint_url=local_stack.s3_endpoint)
    root = write_ours(s3, bucket, 120, 50)  # 3 data files
    copy = "copied/" + root.split("/", 1)[1]  # copied/AWSDynamoDB/<id>/
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=root)["Contents"]]
    for key in keys:  # plain put_object, no ChecksumAlgorithm: what copying tools do
        s3.put_object(Bucket=bucket, Key=copy + key[len(root) :], Body=s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    uri = f"s3://{bucket}/{copy}"
    report = verify_export(uri)
    assert report.ok, report.problems
    assert not report.deep and report.item_count == 120 and report.read_in_full == 3
    assert "3 file(s) without a stored checksum (copied?) read in full" in report.checked
    assert "no data read" not in report.checked
    data = sorted(k for k in keys if "/data/" in k)[0]
    body = s3.get_object(Bucket=bucket, Key=data)["Body"].read()
    s3.put_object(Bucket=bucket, Key=copy + data[len(root) :], Body=body[:20] + bytes([body[20] ^ 1]) + body[21:])
    report = verify_export(uri)
    assert not report.ok and len(report.problems) == 1 and report.problems[0].startswith(data[len(root) :] + ": ")
