"""DynamoDB calls made outside Spark: DescribeTable (+ DescribeContinuousBackups) as a TableInfo,
ListTables for the export's --table globs, and DynamoDbHook: a restore's target table (described,
created from an export's recorded schema and waited for until ACTIVE). Every AWS error leaves here
as one line (aws/errors)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable
from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError

from launcher.aws.errors import error_code, error_message, translated
from launcher.aws.session import Aws
from launcher.core.errors import BadInput, DdbS3Error
from launcher.core.table import TableInfo, table_info_from_description
from launcher.core.wait import SYSTEM_CLOCK, Clock, poll_until

NOT_FOUND = "ResourceNotFoundException"
DENIED = ("AccessDeniedException", "UnrecognizedClientException")


def describe_table(aws: Aws, table: str) -> TableInfo:
    ddb = aws.client("dynamodb")
    try:
        desc = ddb.describe_table(TableName=table)["Table"]
    except ClientError as e:
        code = error_code(e)
        if code == NOT_FOUND:
            raise BadInput(f"table {table!r} not found in {aws.region_name}: check --table and --region") from None
        if code in DENIED:
            raise DdbS3Error(f"not allowed to describe table {table!r}: {error_message(e)}") from None
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
        code = error_code(e)
        if code in DENIED:
            raise DdbS3Error(
                f"not allowed to list the tables in {aws.region_name} (dynamodb:ListTables, which a --table glob needs): {error_message(e)}"
            ) from None
        raise DdbS3Error(f"ListTables failed: {code}") from None
    except EndpointConnectionError as e:
        raise DdbS3Error(f"cannot reach DynamoDB at {e.kwargs.get('endpoint_url')}: check --region / AWS_ENDPOINT_URL_DYNAMODB") from None


SAMPLE_WIDTHS = (1000, 100, 10)  # segment 0 of a parallel Scan this wide, widest first
SAMPLE_ENOUGH = 100  # items: a sample this big sizes the table within about 10%
SMALL_TABLE_PAGE = 1000  # items: one page of a plain Scan tells a small table's size exactly


def with_sampled_size(aws: Aws, table: TableInfo) -> TableInfo:
    """DescribeTable counts a table only about every 6 hours (a new table says 0 items, 0 bytes).
    Then size it from reads, so the runner choice, the plan's segments, the connector's first page
    sizes and the estimate start from a size, not from zero:
    - one page of a plain Scan: if it is the whole table, the size is exact;
    - else segment 0 of a 1000-, then 100-, then 10-way parallel Scan, until it holds enough items
      to scale up (a thousandth of a table of a few thousand items is a handful: 5-10x off)."""
    if table.item_count:
        return table
    ddb = aws.client("dynamodb")
    page = ddb.scan(TableName=table.name, Limit=SMALL_TABLE_PAGE)
    if "LastEvaluatedKey" not in page:
        count, size = _count_and_size([page])
        return dataclasses.replace(table, item_count=count, size_bytes=size, size_sampled=True)
    for width in SAMPLE_WIDTHS:
        pages = ddb.get_paginator("scan").paginate(TableName=table.name, Segment=0, TotalSegments=width)
        count, size = _count_and_size(pages)
        if count >= SAMPLE_ENOUGH or width == SAMPLE_WIDTHS[-1]:
            break
    if not count:
        return table  # items exist but the sample missed them: the size stays unknown
    return dataclasses.replace(table, item_count=count * width, size_bytes=size * width, size_sampled=True)


def _count_and_size(pages: Iterable[dict[str, Any]]) -> tuple[int, int]:
    count = size = 0
    for page in pages:
        count += page["Count"]
        size += sum(len(json.dumps(item, default=str)) for item in page["Items"])  # about the stored size
    return count, size


# --------------------------------------------------------------------------- a restore's target table


def create_request(table: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The CreateTable request of `table` from an export's recorded schema (DescribeTable's shape):
    its keys, billing mode and indexes. A provisioned table (and each GSI) gets the recorded
    capacity, at least 1 unit, 5 when none was recorded."""
    billing = schema.get("BillingMode") or "PAY_PER_REQUEST"
    throughput = schema.get("ProvisionedThroughput") or {}
    pt = {
        "ReadCapacityUnits": max(1, int(throughput.get("ReadCapacityUnits") or 5)),
        "WriteCapacityUnits": max(1, int(throughput.get("WriteCapacityUnits") or 5)),
    }
    request: dict[str, Any] = {
        "TableName": table,
        "KeySchema": schema["KeySchema"],
        "AttributeDefinitions": schema["AttributeDefinitions"],
        "BillingMode": billing,
    }
    if billing == "PROVISIONED":
        request["ProvisionedThroughput"] = pt
    gsis = [_index(ix) for ix in schema.get("GlobalSecondaryIndexes") or []]
    if gsis:
        if billing == "PROVISIONED":
            gsis = [dict(ix, ProvisionedThroughput=pt) for ix in gsis]
        request["GlobalSecondaryIndexes"] = gsis
    lsis = [_index(ix) for ix in schema.get("LocalSecondaryIndexes") or []]
    if lsis:
        request["LocalSecondaryIndexes"] = lsis
    return request


def _index(ix: dict[str, Any]) -> dict[str, Any]:
    return {k: ix[k] for k in ("IndexName", "KeySchema", "Projection") if k in ix}


def is_active(desc: dict[str, Any]) -> bool:
    return desc.get("TableStatus") == "ACTIVE"


class DynamoDbHook:
    """The table calls of a restore (describe its target, tell whether it holds items, create it and
    wait, core/wait.poll_until with the clock injected, until it is ACTIVE) and of the native export
    (start one, describe it). Errors leave as one line."""

    CREATE_TIMEOUT = 600.0  # seconds: a table with indexes can take minutes
    POLL_SECONDS = 0.2  # a new table is ACTIVE within seconds (dynalite: ~0.5 s)

    def __init__(self, aws: Aws | None = None, *, ddb: Any = None) -> None:
        """`ddb`: a DynamoDB client to use (else the Aws's, made on first use)."""
        self.aws = aws or Aws()
        self._ddb = ddb

    @property
    def ddb(self) -> Any:
        if self._ddb is None:
            self._ddb = self.aws.client("dynamodb")
        return self._ddb

    def describe(self, name: str) -> dict[str, Any] | None:
        """DescribeTable's 'Table', or None when there is no such table (yet)."""
        with translated(f"DescribeTable {name!r}"):
            try:
                return dict(self.ddb.describe_table(TableName=name)["Table"])
            except ClientError as e:
                if error_code(e) == NOT_FOUND:
                    return None
                raise

    def start_export(self, request: dict[str, Any], table: str) -> dict[str, Any]:
        """ExportTableToPointInTime: its ExportDescription. PITR off, or a bad window, is bad input."""
        pitr_off = f"point-in-time recovery is off on {table!r}: enable it or use --engine spark"
        with translated(
            "ExportTableToPointInTime",
            bad_input=("PointInTimeRecoveryUnavailableException", "InvalidExportTimeException", "ValidationException"),
            messages={"PointInTimeRecoveryUnavailableException": pitr_off},
        ):
            return dict(self.ddb.export_table_to_point_in_time(**request)["ExportDescription"])

    def describe_export(self, arn: str) -> dict[str, Any]:
        with translated(f"DescribeExport {arn}"):
            return dict(self.ddb.describe_export(ExportArn=arn)["ExportDescription"])

    def has_items(self, name: str) -> bool:
        """Whether the table holds at least one item (one Scan of Limit 1)."""
        with translated(f"Scan {name!r}"):
            return bool(self.ddb.scan(TableName=name, Limit=1, Select="COUNT").get("Count"))

    def create(self, request: dict[str, Any]) -> None:
        # the AWS message says what is wrong with the request (an index, a key type, a limit)
        with translated(f"CreateTable {request.get('TableName')!r}"):
            self.ddb.create_table(**request)

    def wait_active(
        self,
        name: str,
        *,
        clock: Clock = SYSTEM_CLOCK,
        timeout: float = CREATE_TIMEOUT,
        every: float = POLL_SECONDS,
        say: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        """Poll DescribeTable until the table is ACTIVE and return its description; WaitTimeout after
        `timeout` seconds. A table not found yet counts as not ACTIVE (DescribeTable may lag a
        CreateTable)."""
        return poll_until(
            lambda: self.describe(name) or {},  # {}: not found yet
            is_active,
            every=every,
            clock=clock,
            timeout=timeout,
            what=f"table {name!r} becoming ACTIVE",
            describe=lambda d: f"table {name} is {d.get('TableStatus', 'not found yet')}",
            say=say,
        )

    def create_and_wait(
        self,
        request: dict[str, Any],
        *,
        clock: Clock = SYSTEM_CLOCK,
        timeout: float = CREATE_TIMEOUT,
        every: float = POLL_SECONDS,
        say: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        """CreateTable, then wait_active: the new table's description once it is ACTIVE."""
        self.create(request)
        return self.wait_active(str(request["TableName"]), clock=clock, timeout=timeout, every=every, say=say)


def describe_stream(aws: Aws, stream_arn: str) -> dict[str, Any]:
    """DescribeStream of a table's stream (its first page of shards is dropped: the job lists them
    all when it reads), for the as-of check before any read."""
    try:
        with translated(f"DescribeStream {stream_arn}"):
            desc: dict[str, Any] = aws.client("dynamodbstreams").describe_stream(StreamArn=stream_arn, Limit=1)["StreamDescription"]
    except EndpointConnectionError as e:
        raise DdbS3Error(
            f"cannot reach DynamoDB Streams at {e.kwargs.get('endpoint_url')}: check --region / AWS_ENDPOINT_URL_DYNAMODB_STREAMS"
        ) from None
    desc.pop("Shards", None)
    return desc
