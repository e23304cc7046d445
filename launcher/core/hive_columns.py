"""--hive-columns: the Hive engine's typed-column form, parsed once (the options validate it, the
plan keeps the parsed columns, render and the runners read them from the plan)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from launcher.core.errors import BadInput
from launcher.core.table import TableInfo

# Hive type -> DynamoDB type of the typed-column form (what dynamodb.type.mapping states).
HIVE_TYPES = {
    "string": "S",
    "bigint": "N",
    "double": "N",
    "boolean": "BOOL",
    "binary": "B",
    "array<string>": "SS",
    "array<bigint>": "NS",
    "array<double>": "NS",
    "array<binary>": "BS",
}
_KEY_TYPES = {"S": {"string"}, "N": {"bigint", "double"}, "B": {"binary"}}


@dataclass(frozen=True)
class HiveColumn:
    """One typed column: Hive names it c<n> (attribute names need not be Hive names)."""

    attribute: str
    hive_type: str
    ddb_type: str
    column: str


def parse_hive_columns(spec: str) -> list[HiveColumn]:
    """'attr:type,attr:type' -> columns. The connector's dynamodb.column.mapping is
    'col:attr,col:attr', so attribute names with ',' or ':' cannot be mapped (the whole-item form
    exports them)."""
    columns: list[HiveColumn] = []
    seen: set[str] = set()
    for n, part in enumerate(spec.split(",")):
        if ":" not in part:
            raise BadInput(f"--hive-columns: {part!r} is not attribute:type")
        attribute, hive_type = part.rsplit(":", 1)
        hive_type = re.sub(r"\s+", "", hive_type).lower()
        if not attribute:
            raise BadInput(f"--hive-columns: empty attribute name in {part!r}")
        if ":" in attribute:
            raise BadInput(
                f"--hive-columns: attribute {attribute!r} holds ':' which dynamodb.column.mapping cannot "
                "express; use the whole-item form (no --hive-columns)"
            )
        if hive_type not in HIVE_TYPES:
            raise BadInput(f"--hive-columns: type {hive_type!r} of {attribute!r} is not one of {', '.join(HIVE_TYPES)}")
        if attribute in seen:
            raise BadInput(f"--hive-columns: attribute {attribute!r} is listed twice")
        seen.add(attribute)
        columns.append(HiveColumn(attribute=attribute, hive_type=hive_type, ddb_type=HIVE_TYPES[hive_type], column=f"c{n}"))
    return columns


def check_key_columns(columns: list[HiveColumn], table: TableInfo) -> None:
    """The storage handler refuses a key column whose type does not match, and every item has its
    keys, so the typed form must list every key with a matching type."""
    by_attr = {c.attribute: c for c in columns}
    key_types = {d["AttributeName"]: d["AttributeType"] for d in table.attribute_definitions}
    for key in table.key_names:
        col = by_attr.get(key)
        if col is None:
            raise BadInput(f"--hive-columns must list the key attribute {key!r}")
        if col.hive_type not in _KEY_TYPES[key_types[key]]:
            raise BadInput(
                f"--hive-columns: key {key!r} is {key_types[key]} in DynamoDB; "
                f"use {' or '.join(sorted(_KEY_TYPES[key_types[key]]))}, not {col.hive_type}"
            )
