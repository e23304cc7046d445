"""DescribeTable (+ DescribeContinuousBackups): the facts the planner needs, as plain data."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from .aws import Aws
from .errors import BadInput, DdbS3Error


@dataclass(frozen=True)
class TableInfo:
    name: str
    arn: str
    key_schema: list[dict[str, str]]  # [{"AttributeName", "KeyType"}]
    attribute_definitions: list[dict[str, str]]
    billing_mode: str  # PROVISIONED | PAY_PER_REQUEST
    read_capacity: int  # 0 for on-demand
    write_capacity: int
    item_count: int
    size_bytes: int
    pitr_enabled: bool = False
    global_secondary_indexes: list[dict[str, Any]] = field(default_factory=list)
    local_secondary_indexes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key_names(self) -> list[str]:
        return [k["AttributeName"] for k in sorted(self.key_schema, key=lambda k: k["KeyType"])]  # HASH < RANGE

    @property
    def hash_key(self) -> str:
        return next(k["AttributeName"] for k in self.key_schema if k["KeyType"] == "HASH")

    @property
    def average_item_size(self) -> int:
        return self.size_bytes // self.item_count if self.item_count else 0

    def schema(self) -> dict[str, Any]:
        """What restore needs to recreate the table (recorded in manifest-summary.json)."""
        def index(ix: dict[str, Any]) -> dict[str, Any]:
            return {k: ix[k] for k in ("IndexName", "KeySchema", "Projection") if k in ix}

        return {
            "KeySchema": self.key_schema,
            "AttributeDefinitions": self.attribute_definitions,
            "BillingMode": self.billing_mode,
            "ProvisionedThroughput": {"ReadCapacityUnits": self.read_capacity, "WriteCapacityUnits": self.write_capacity},
            "GlobalSecondaryIndexes": [index(i) for i in self.global_secondary_indexes],
            "LocalSecondaryIndexes": [index(i) for i in self.local_secondary_indexes],
        }


def table_info_from_description(desc: dict[str, Any], pitr_enabled: bool = False) -> TableInfo:
    """Pure: a DescribeTable 'Table' dict to TableInfo."""
    billing = (desc.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
    throughput = desc.get("ProvisionedThroughput") or {}
    return TableInfo(
        name=desc["TableName"],
        arn=desc.get("TableArn", ""),
        key_schema=desc["KeySchema"],
        attribute_definitions=desc.get("AttributeDefinitions", []),
        billing_mode=billing,
        read_capacity=int(throughput.get("ReadCapacityUnits") or 0) if billing == "PROVISIONED" else 0,
        write_capacity=int(throughput.get("WriteCapacityUnits") or 0) if billing == "PROVISIONED" else 0,
        item_count=int(desc.get("ItemCount") or 0),
        size_bytes=int(desc.get("TableSizeBytes") or 0),
        pitr_enabled=pitr_enabled,
        global_secondary_indexes=desc.get("GlobalSecondaryIndexes", []),
        local_secondary_indexes=desc.get("LocalSecondaryIndexes", []),
    )


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
    except NoCredentialsError:
        raise DdbS3Error("no AWS credentials found: configure a profile, env vars or a role") from None
    if desc.get("TableStatus") not in ("ACTIVE", "UPDATING"):
        raise BadInput(f"table {table!r} is {desc.get('TableStatus')}, not ACTIVE: wait and try again")
    pitr = False
    try:
        cb = ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
        pitr = cb.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") == "ENABLED"
    except ClientError:
        pass  # PITR is only needed by the native engine, which checks again and says why
    return table_info_from_description(desc, pitr)
