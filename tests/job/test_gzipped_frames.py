"""The Python side of the connector reader's JVM writer (s3io.write_gzipped_files and
runtime.write_gzipped), fed frames as spark/jvm GzipExportChunks makes them, against a stub S3
client: the same objects, checksums and manifest entries as write_data_files, parts at 8 MiB, the
task's count, and an upload left unfinished is aborted."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os

import pytest

from launcher.core.s3args import S3WriteSettings
from launcher.job import runtime, s3io

pytestmark = pytest.mark.unit
SETTINGS = S3WriteSettings(expected_bucket_owner="123456789012", sse="AES256")


class StubS3:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.objects: dict[str, bytes] = {}
        self.parts: dict[str, list[bytes]] = {}

    def put_object(self, **kw):
        self.calls.append(("PutObject", kw))
        self.objects[kw["Key"]] = kw["Body"]
        return {"ETag": '"e-put"'}

    def create_multipart_upload(self, **kw):
        self.calls.append(("CreateMultipartUpload", kw))
        self.parts[kw["Key"]] = []
        return {"UploadId": "u1"}

    def upload_part(self, **kw):
        self.calls.append(("UploadPart", kw))
        self.parts[kw["Key"]].append(kw["Body"])
        return {"ETag": f'"p{kw["PartNumber"]}"'}

    def complete_multipart_upload(self, **kw):
        self.calls.append(("CompleteMultipartUpload", kw))
        self.objects[kw["Key"]] = b"".join(self.parts.pop(kw["Key"]))
        return {"ETag": '"e-mpu"'}

    def abort_multipart_upload(self, **kw):
        self.calls.append(("AbortMultipartUpload", kw))
        self.parts.pop(kw["Key"])
        return {}


def frames_of(files: list[list[str]], chunk: int = 1 << 20, first: int = 1700000000123, last: int = 1700000001456):
    """What GzipExportChunks sends: each file's gzip bytes in D frames, then F; S at the end."""
    count = chars = 0
    for lines in files:
        data = gzip.compress("".join(line + "\n" for line in lines).encode())
        for i in range(0, len(data), chunk):
            yield b"D" + data[i : i + chunk]
        yield b"F" + json.dumps({"items": len(lines)}).encode()
        count += len(lines)
        chars += sum(len(line) for line in lines)
    yield b"S" + json.dumps({"items": count, "bytes": chars, "first": first, "last": last}).encode()


def test_frames_become_the_same_objects_and_manifest_entries():
    s3 = StubS3()
    small = ['{"Item":{"pk":{"S":"a"}}}', '{"Item":{"pk":{"S":"é😀"}}}']
    big = ['{"Item":{"b":{"S":"' + base64.b64encode(os.urandom(300_000)).decode() + '"}}}' for _ in range(30)]
    written = list(
        runtime.write_gzipped(lambda task: s3io.write_gzipped_files(s3, "bkt", "exp/data/", 7, frames_of([small, big]), SETTINGS, task), 7)
    )
    files = [w[0] for w in written]
    assert [f.itemCount for f in files] == [2, 30]
    assert [f.dataFileS3Key.rsplit("/", 1)[1][:15] for f in files] == ["part-00007-0000", "part-00007-0001"]
    for f in files:
        body = s3.objects[f.dataFileS3Key]
        assert f.size == len(body) and f.md5Checksum == base64.b64encode(hashlib.md5(body).digest()).decode()
    assert files[0].sha256Checksum == base64.b64encode(hashlib.sha256(s3.objects[files[0].dataFileS3Key]).digest()).decode()
    assert files[0].etag == "e-put" and files[1].etag == "e-mpu"
    big_body = s3.objects[files[1].dataFileS3Key]
    assert len(big_body) > s3io.PART_SIZE and files[1].sha256Checksum.endswith("-2")
    ups = [kw for op, kw in s3.calls if op == "UploadPart"]
    assert [len(kw["Body"]) for kw in ups] == [s3io.PART_SIZE, len(big_body) - s3io.PART_SIZE]
    assert all(kw["ExpectedBucketOwner"] == "123456789012" for _, kw in s3.calls)
    assert all(kw["ServerSideEncryption"] == "AES256" for op, kw in s3.calls if op in ("PutObject", "CreateMultipartUpload"))
    # the task's count on the first file only, the times as layout.iso writes them
    assert [w[3] for w in written] == [sum(len(x) for x in small + big), 0]
    assert written[0][1] == "2023-11-14T22:13:20.123Z" and written[0][2] == "2023-11-14T22:13:21.456Z"


def test_an_empty_task_gives_one_empty_file_and_no_read_window():
    s3 = StubS3()
    frames = [b"D" + gzip.compress(b""), b'F{"items": 0}', b'S{"items": 0, "bytes": 0, "first": null, "last": null}']
    (written,) = runtime.write_gzipped(lambda task: s3io.write_gzipped_files(s3, "bkt", "d/", 0, frames, SETTINGS, task))
    assert written[0].itemCount == 0 and gzip.decompress(s3.objects[written[0].dataFileS3Key]) == b""
    assert written[1:] == (None, None, 0)


def test_a_task_that_fails_inside_a_multipart_file_aborts_its_upload():
    s3 = StubS3()
    data = os.urandom(s3io.PART_SIZE + 10)

    def frames():
        yield b"D" + data
        raise RuntimeError("the connector failed")

    with pytest.raises(RuntimeError, match="connector failed"):
        list(s3io.write_gzipped_files(s3, "bkt", "d/", 0, frames(), SETTINGS, {}))
    assert [op for op, _ in s3.calls] == ["CreateMultipartUpload", "UploadPart", "AbortMultipartUpload"]


def test_frames_out_of_order_or_unknown_are_errors_not_files():
    with pytest.raises(ValueError, match="ended before it began"):
        list(s3io.write_gzipped_files(StubS3(), "bkt", "d/", 0, [b'F{"items": 1}'], SETTINGS, {}))
    with pytest.raises(ValueError, match="unknown frame"):
        list(s3io.write_gzipped_files(StubS3(), "bkt", "d/", 0, [b"X"], SETTINGS, {}))
    with pytest.raises(ValueError, match="inside a data file"):
        list(s3io.write_gzipped_files(StubS3(), "bkt", "d/", 0, [b"Dabc"], SETTINGS, {}))
    with pytest.raises(RuntimeError, match="without its task count"):
        list(runtime.write_gzipped(lambda task: iter([]), 3))


def test_lines_compressed_in_batches_make_the_file_a_line_at_a_time_would(monkeypatch):
    """write_data_files compresses its lines a batch at a time (one zlib call per line was ~3 us an
    item more): the bytes stored are what compressing each line in turn gives, across batches,
    parts and file rotation."""
    import random
    import zlib

    monkeypatch.setattr(s3io, "PART_SIZE", 64 * 1024)  # several parts a file with few lines
    rng = random.Random(7)
    lines = [json.dumps({"Item": {"k": {"S": str(i)}, "pad": {"S": os.urandom(rng.randint(1, 400)).hex()}}}) for i in range(3000)]
    s3 = StubS3()
    files = list(s3io.write_data_files(s3, "b", "data/", 0, iter(lines), 2000, SETTINGS))
    assert [f.itemCount for f in files] == [2000, 1000]
    for f, chunk in zip(files, (lines[:2000], lines[2000:]), strict=False):
        one_by_one = zlib.compressobj(6, zlib.DEFLATED, 31)
        expected = b"".join(one_by_one.compress(line.encode() + b"\n") for line in chunk) + one_by_one.flush()
        stored = s3.objects[f.dataFileS3Key]
        assert stored == expected and f.size == len(stored)
        assert f.md5Checksum == base64.b64encode(hashlib.md5(stored).digest()).decode()
    assert sum(1 for name, _ in s3.calls if name == "UploadPart") > 2
