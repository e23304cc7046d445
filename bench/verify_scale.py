"""verify as an export grows: exports of N items written straight to the local S3 by the jobs' own
writer (launcher.job.s3io, commit: the same files, checksums and manifests an export has; no table
needed, since only verify is measured), then `ddb-s3 verify` by default (S3's stored checksums) and
with --deep, as whole CLI runs and as the check alone in this process."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from launcher.core.layout import new_export_id
from launcher.core.s3args import S3WriteSettings

from .common import log
from .data import client
from .ours import verify

ITEMS_PER_FILE = 100_000  # the export default (--max-items-per-file)


def _lines(start: int, stop: int) -> Iterator[str]:
    pad = "x" * 700
    for i in range(start, stop):
        yield f'{{"Item":{{"pk":{{"S":"{i:010d}"}},"n":{{"N":"{i}"}},"pad":{{"S":"{pad}"}}}}}}'


def write_export(bucket: str, items: int) -> str:
    from datetime import UTC, datetime

    from launcher.job import commit, s3io

    s3, settings = client("s3"), S3WriteSettings()
    root = f"verify-scale/AWSDynamoDB/{new_export_id(datetime.now(UTC))}/"
    files = []
    for part, start in enumerate(range(0, items, ITEMS_PER_FILE)):
        files += s3io.write_data_files(s3, bucket, root + "data/", part, _lines(start, min(items, start + ITEMS_PER_FILE)),
                                       ITEMS_PER_FILE, settings)
    fields = {"exportArn": None, "startTime": None, "tableArn": "arn:aws:dynamodb:us-east-1:000000000000:table/bench",
              "tableId": None, "exportTime": None, "s3Prefix": "verify-scale", "s3SseAlgorithm": "AES256",
              "s3SseKmsKeyId": None, "billedSizeBytes": 0, "exportType": "FULL_EXPORT", "tool": "ddb-s3",
              "exportId": root.split("/")[-2], "tableName": "bench", "tableSchema": None, "engine": "bench"}
    commit.commit(s3, bucket, root, files, fields, settings)
    return f"s3://{bucket}/{root}"


def verify_scaling(bucket: str, sizes: list[int]) -> list[dict[str, Any]]:
    out = []
    for n in sizes:
        uri = write_export(bucket, n)
        row = {"items": n, "stored": verify(uri, deep=False), "deep": verify(uri, deep=True)}
        assert row["stored"]["items"] == row["deep"]["items"] == n
        log(f"verify-scale {n:,}: stored {row['stored']['seconds']:.1f}s (check {row['stored']['check_s']:.2f}s), "
            f"deep {row['deep']['seconds']:.1f}s (check {row['deep']['check_s']:.2f}s)")
        out.append(row)
    return out
