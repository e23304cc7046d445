"""DynamoDB calls made outside Spark: DescribeTable (+ DescribeContinuousBackups) as a TableInfo, and
ListTables for the export's --table globs."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError

from launcher.aws.session import Aws
from launcher.core.errors import BadInput, DdbS3Error
from launcher.core.table import TableInfo, table_info_from_description


def describe_table(aws: Aws, table: str) -> TableInfo:
    ddb = aws.client("dynamodb")
    try:
        desc = ddb.describe_table(TableName=table)["Table"]
    except ClientError as e:
        code = e.response["Error"]["Code"]
        if code == "ResourceNotFoundException":
            raise BadInput(f"table {table!r} not found in {aws.region_name}: check --table and --region") from None
        if code in ("AccessDeniedException", "UnrecognizedClientException"):
            raise DdbS3Error(f"not allowed to describe table {table!r}: {e.response['Error'].get('Message', code)}") from None
        raise DdbS3Error(f"DescribeTable {table!r} failed: {code}") from None
    except EndpointConnectionError as e:
        raise DdbS3Error(f"cannot reach DynamoDB at {e.kwargs.get('endpoint_url')}: check --region / AWS_ENDPOINT_URL_DYNAMODB") from None
    if desc.get("TableStatus") not in ("ACTIVE", "UPDATING"):
        raise BadInput(f"table {table!r} is {desc.get('TableStatus')}, not ACTIVE: wait and try again")
    pitr = False
    try:
        cb = ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
        pitr = cb.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") == "ENABLED"
    except ClientError:
        pass  # PITR is only needed by the native engine, which checks again and says why
    return table_info_from_description(desc, pitr)


def list_tables(aws: Aws) -> list[str]:
    """Every table name in the region, all pages of ListTables (what a --table glob matches against)."""
    ddb = aws.client("dynamodb")
    try:
        return [name for page in ddb.get_paginator("list_tables").paginate() for name in page["TableNames"]]
    except ClientError as e:
        code = e.response["Error"]["Code"]
        if code in ("AccessDeniedException", "UnrecognizedClientException"):
            raise DdbS3Error(
                f"not allowed to list the tables in {aws.region_name} (dynamodb:ListTables, which a --table glob needs): "
                f"{e.response['Error'].get('Message', code)}"
            ) from None
        raise DdbS3Error(f"ListTables failed: {code}") from None
    except EndpointConnectionError as e:
        raise DdbS3Error(f"cannot reach DynamoDB at {e.kwargs.get('endpoint_url')}: check --region / AWS_ENDPOINT_URL_DYNAMODB") from None


SAMPLE_SEGMENTS = 1000  # the sample is one segment of a parallel Scan this wide: a thousandth of the table
SMALL_TABLE_PAGE = 1000  # items: when the sampled segment is empty, one page tells a small table's size exactly


def with_sampled_size(aws: Aws, table: TableInfo) -> TableInfo:
    """DescribeTable counts a table only about every 6 hours (a new table says 0 items, 0 bytes).
    Then read one segment of a 1000-way parallel Scan and scale it up, so the plan's segments, the
    connector's first page sizes and the estimate start from a size, not from zero. A table whose
    sampled segment is empty is read one page far: if that page is the whole table, it is exact."""
    if table.item_count:
        return table
    ddb = aws.client("dynamodb")
    pages = ddb.get_paginator("scan").paginate(TableName=table.name, Segment=0, TotalSegments=SAMPLE_SEGMENTS)
    count, size = _count_and_size(pages)
    if count:
        return dataclasses.replace(table, item_count=count * SAMPLE_SEGMENTS, size_bytes=size * SAMPLE_SEGMENTS, size_sampled=True)
    page = ddb.scan(TableName=table.name, Limit=SMALL_TABLE_PAGE)
    if "LastEvaluatedKey" in page:
        return table  # items exist but the sample missed them: the size stays unknown
    count, size = _count_and_size([page])
    return dataclasses.replace(table, item_count=count, size_bytes=size, size_sampled=True)


def _count_and_size(pages: Iterable[dict[str, Any]]) -> tuple[int, int]:
    count = size = 0
    for page in pages:
        count += page["Count"]
        size += sum(len(json.dumps(item, default=str)) for item in page["Items"])  # about the stored size
    return count, size
