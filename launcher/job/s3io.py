"""Streaming gzip JSON-lines files into S3 with a bounded buffer, and small manifest writes."""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

from launcher.core.layout import DataFile, data_file_name
from launcher.core.retries import retries_of
from launcher.core.s3args import S3WriteSettings
from launcher.job.scan import report

LINES_BATCH_CHARS = 256 * 1024  # characters of lines compressed in one zlib call
PART_SIZE = 8 * 1024 * 1024  # S3 multipart parts (>= 5 MiB except the last)


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


class GzipS3Object:
    """Writes one .json.gz object: compresses as it goes and uploads 8 MiB parts, so memory stays
    flat whatever the file size. The MD5 is of the stored (compressed) bytes, like the native
    export's md5Checksum. Every upload also carries its SHA-256 (x-amz-checksum-sha256): S3 refuses
    bytes that do not match it and keeps it with the object, and the manifest records it, so a
    later `verify` compares stored checksums instead of reading the data back."""

    def __init__(self, s3: Any, bucket: str, key: str, settings: S3WriteSettings, compressed: bool = False) -> None:
        """compressed: the caller hands over gzip bytes (write_compressed) instead of lines."""
        self.s3, self.bucket, self.key = s3, bucket, key
        self.write_args, self.read_args = settings.write_args(), settings.read_args()
        self._gz = None if compressed else zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: gzip container
        self._buf = bytearray()
        self._lines: list[str] = []  # compressed in batches: one zlib call a line cost ~3 us an item more
        self._lines_chars = 0
        self._md5 = hashlib.md5()
        self._parts: list[dict] = []
        self._part_digests = bytearray()  # raw SHA-256 of each part, for the composite checksum
        self._size = 0
        self._upload_id: str | None = None
        self.items = 0
        self.retries = 0  # S3 calls botocore had to retry (503 SlowDown, 500, resets)

    def write_line(self, line: str) -> None:
        assert self._gz is not None, "write_line on an object opened with compressed=True"
        self._lines.append(line)
        self._lines_chars += len(line)
        self.items += 1
        if self._lines_chars >= LINES_BATCH_CHARS:
            self._compress_lines()

    def _compress_lines(self) -> None:
        assert self._gz is not None
        if self._lines:
            self._lines.append("")  # the last line's line break
            self._buf += self._gz.compress("\n".join(self._lines).encode("utf-8"))
            self._lines.clear()
            self._lines_chars = 0
        while len(self._buf) >= PART_SIZE:
            self._flush_part(bytes(self._buf[:PART_SIZE]))
            del self._buf[:PART_SIZE]

    def write_compressed(self, data: bytes) -> None:
        """The next bytes of the object, already gzip (the JVM writer's chunks)."""
        self._buf += data
        while len(self._buf) >= PART_SIZE:
            self._flush_part(bytes(self._buf[:PART_SIZE]))
            del self._buf[:PART_SIZE]

    def _flush_part(self, data: bytes) -> None:
        self._md5.update(data)
        self._size += len(data)
        if self._upload_id is None:
            created = self.s3.create_multipart_upload(Bucket=self.bucket, Key=self.key, ChecksumAlgorithm="SHA256", **self.write_args)
            self.retries += retries_of(created)
            self._upload_id = created["UploadId"]
        n = len(self._parts) + 1
        digest = hashlib.sha256(data).digest()
        self._part_digests += digest
        sha256 = base64.b64encode(digest).decode()
        resp = self.s3.upload_part(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self._upload_id,
            PartNumber=n,
            Body=data,
            ContentMD5=base64.b64encode(hashlib.md5(data).digest()).decode(),
            ChecksumSHA256=sha256,
            **self.read_args,
        )
        self.retries += retries_of(resp)
        self._parts.append({"PartNumber": n, "ETag": resp["ETag"], "ChecksumSHA256": sha256})

    def close(self, items: int | None = None) -> DataFile:
        """items: the object's line count when they came compressed (write_compressed)."""
        if self._gz is not None:
            self._compress_lines()
            self._buf += self._gz.flush()
        if items is not None:
            self.items = items
        tail = bytes(self._buf)
        self._buf.clear()
        if self._upload_id is None:
            self._md5.update(tail)
            self._size += len(tail)
            sha256 = sha256_b64(tail)
            resp = self.s3.put_object(
                Bucket=self.bucket,
                Key=self.key,
                Body=tail,
                ContentMD5=base64.b64encode(hashlib.md5(tail).digest()).decode(),
                ChecksumAlgorithm="SHA256",  # named as well as given, so that every S3 implementation keeps it
                ChecksumSHA256=sha256,
                **self.write_args,
            )
        else:
            if tail:
                self._flush_part(tail)
            resp = self.s3.complete_multipart_upload(
                Bucket=self.bucket,
                Key=self.key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
                **self.read_args,
            )
            sha256 = f"{sha256_b64(bytes(self._part_digests))}-{len(self._parts)}"  # S3's composite checksum
        self.retries += retries_of(resp)
        if self.retries:
            report(f"data file {self.key.rsplit('/', 1)[-1]}: {self.retries} S3 requests retried, file written")
        return DataFile(
            itemCount=self.items,
            md5Checksum=base64.b64encode(self._md5.digest()).decode(),
            etag=resp["ETag"].strip('"'),
            dataFileS3Key=self.key,
            size=self._size,
            sha256Checksum=sha256,
        )

    def abort(self) -> None:
        if self._upload_id is not None:
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id, **self.read_args)


def write_data_files(
    s3: Any, bucket: str, data_prefix: str, partition: int, lines: Iterable[str], max_items: int, settings: S3WriteSettings
) -> Iterator[DataFile]:
    """Write a partition's lines into one or more data files (rotating at max_items); yield their
    manifest entries. An empty partition writes one empty file, as the native export does."""
    seq = 0
    obj = GzipS3Object(s3, bucket, data_prefix + data_file_name(partition, seq), settings)
    try:
        for line in lines:
            if obj.items >= max_items:
                yield obj.close()
                seq += 1
                obj = GzipS3Object(s3, bucket, data_prefix + data_file_name(partition, seq), settings)
            obj.write_line(line)
        yield obj.close()
    except BaseException:
        obj.abort()
        raise


DATA, FILE_END, TASK_END = b"D", b"F", b"S"  # frame tags of spark/jvm dev.ddbs3.GzipExportChunks


def write_gzipped_files(
    s3: Any,
    bucket: str,
    data_prefix: str,
    partition: int,
    frames: Iterable[bytes],
    settings: S3WriteSettings,
    task: dict[str, Any],
) -> Iterator[DataFile]:
    """The connector reader's side of a task: the JVM (spark/jvm GzipExportChunks) read the items,
    wrote each as its line and gzipped the lines into data files of at most max_items_per_file
    items; here its frames (a tag byte, then gzip bytes or a small JSON) become the same S3 objects
    and manifest entries as write_data_files makes. `task` gets the JVM's count for the task:
    items, bytes (the lines' characters) and first/last (epoch ms of its first and last item)."""
    seq = 0
    obj: GzipS3Object | None = None
    try:
        for frame in frames:
            tag, body = frame[:1], frame[1:]
            if tag == DATA:
                if obj is None:
                    obj = GzipS3Object(s3, bucket, data_prefix + data_file_name(partition, seq), settings, compressed=True)
                obj.write_compressed(body)
            elif tag == FILE_END:
                if obj is None:
                    raise ValueError(f"partition {partition}: a data file ended before it began")
                yield obj.close(items=json.loads(body)["items"])
                obj = None
                seq += 1
            elif tag == TASK_END:
                task.update(json.loads(body))
            else:
                raise ValueError(f"partition {partition}: unknown frame {tag!r} from the JVM writer")
        if obj is not None:
            raise ValueError(f"partition {partition}: the JVM writer stopped inside a data file")
    except BaseException:
        if obj is not None:
            obj.abort()
        raise
