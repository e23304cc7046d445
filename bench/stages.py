"""Where a task's time goes, per item: each stage of the segments reader's task (and the Python side
of the connector reader's task) timed apart, in this process, on the same items, with the job's own
functions (launcher/job). The Spark job's time is these stages spread over its tasks, plus Spark."""
from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import zlib
from typing import Any

from launcher.core.codec import text_line
from launcher.core.s3args import S3WriteSettings
from launcher.job import runtime, s3io, scan

from .common import Timer
from .data import client


def task_stages(table: str, bucket: str) -> dict[str, Any]:
    """µs per item of each stage, on one segment of `table` read without a budget."""
    ddb, s3 = client("dynamodb"), client("s3")
    bodies: list[str] = []
    # Registered before scan_segments registers its own handler, so it sees the body as sent.
    ddb.meta.events.register("before-parse.dynamodb.Scan", lambda response_dict, **_: bodies.append(response_dict["body"].decode()))
    with Timer() as whole_scan:
        lines = list(scan.scan_segments(ddb, table, [0], 1, False, 1e9, 1024))
    n = len(lines)
    with Timer() as split:
        texts = [t for body in bodies for t in scan.split_items(body)[0]]
    with Timer() as line:
        for t in texts:
            text_line(t)
    with Timer() as watch, contextlib.redirect_stderr(io.StringIO()):
        for _ in runtime.ReadStats(report_seconds=1e9).watch(lines):
            pass
    with Timer() as gzip:  # as GzipS3Object: level 6, the lines a batch at a time
        gz = zlib.compressobj(6, zlib.DEFLATED, 31)
        step = 256
        data = b"".join(gz.compress(("\n".join(lines[i : i + step]) + "\n").encode()) for i in range(0, n, step)) + gz.flush()
    with Timer() as digests:  # md5 of the file (manifest), md5 and sha256 of the request (S3 checks both)
        hashlib.md5(data).digest(), hashlib.md5(data).digest(), hashlib.sha256(data).digest()
    with Timer() as upload:
        s3.put_object(Bucket=bucket, Key="stages/raw.json.gz", Body=data, ContentMD5=base64.b64encode(hashlib.md5(data).digest()).decode())
    settings = S3WriteSettings()
    with Timer() as writer:
        list(s3io.write_data_files(s3, bucket, "stages/segments/", 0, iter(lines), 10**9, settings))
    frames = [s3io.DATA + data, s3io.FILE_END + b'{"items": %d}' % n, s3io.TASK_END + b"{}"]
    with Timer() as upload_frames:
        list(s3io.write_gzipped_files(s3, bucket, "stages/connector/", 0, iter(frames), settings, {}))

    def us(seconds: float) -> float:
        return seconds / n * 1e6

    return {
        "items": n, "pages": len(bodies), "data_bytes": len(data),
        "segments": {
            "Scan requests (dynalite, HTTP, botocore)": us(whole_scan.seconds - split.seconds - line.seconds),
            "page split into item texts": us(split.seconds),
            "export line per item": us(line.seconds),
            "read stats (ReadStats.watch)": us(watch.seconds),
            "gzip (level 6)": us(gzip.seconds),
            "md5 + sha256 of the file": us(digests.seconds),
            "S3 upload (moto)": us(upload.seconds),
        },
        "segments_writer": us(writer.seconds),  # gzip + digests + upload as write_data_files does them
        "connector_python": us(upload_frames.seconds),  # the connector task's Python side: upload the JVM's gzip
    }
