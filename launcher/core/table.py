"""What the planner and restore know of a table: DescribeTable (+ PITR) as a typed, plain object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
    table_id: str = ""  # DescribeTable's TableId (manifest-summary.json's tableId)
    size_sampled: bool = False  # item_count and size_bytes scaled up from a sample (aws.dynamodb)
    # On-demand: the reads a second the table serves at once (DescribeTable WarmThroughput; a new or
    # just-switched table starts low), and the user's cap (OnDemandThroughput); 0 when not said.
    warm_read_units: int = 0
    max_read_request_units: int = 0
    global_secondary_indexes: list[dict[str, Any]] = field(default_factory=list)
    local_secondary_indexes: list[dict[str, Any]] = field(default_factory=list)
    stream_arn: str = ""  # LatestStreamArn, when the table's stream is enabled (an as-of export reads it)

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
        table_id=desc.get("TableId", ""),
        warm_read_units=max(0, int((desc.get("WarmThroughput") or {}).get("ReadUnitsPerSecond") or 0)),
        max_read_request_units=max(0, int((desc.get("OnDemandThroughput") or {}).get("MaxReadRequestUnits") or 0)),
        global_secondary_indexes=desc.get("GlobalSecondaryIndexes", []),
        local_secondary_indexes=desc.get("LocalSecondaryIndexes", []),
        stream_arn=desc.get("LatestStreamArn", "") if (desc.get("StreamSpecification") or {}).get("StreamEnabled") else "",
    )
