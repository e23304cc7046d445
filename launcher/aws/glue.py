"""Athena-ready output: register converted Parquet, or an export's DynamoDB JSON data folder, as a
table in the Glue Data Catalog (database created when missing; an existing table is updated)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from launcher.aws.errors import error_code, translated
from launcher.core.errors import BadInput

_NAME = re.compile(r"^[a-z0-9_]{1,255}$")

PARQUET_SERDE = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
}
JSON_SERDE = {
    "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
    "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"},
}


def glue_type(arrow_type: str) -> str:
    """pyarrow type text (as convert reports it) to a Hive/Glue type."""
    t = arrow_type
    if t.startswith("decimal128("):
        return "decimal(" + t[len("decimal128(") :]
    if t.startswith("list<"):
        inner = t[t.index(":") + 1 : -1].strip() if ":" in t else t[5:-1]
        return f"array<{glue_type(inner)}>"
    return {"string": "string", "bool": "boolean", "binary": "binary", "null": "string"}.get(t, "string")


def check_name(what: str, name: str) -> None:
    if not _NAME.match(name):
        raise BadInput(f"{what} {name!r}: use 1-255 lower-case letters, digits and _ (what Athena accepts)")


def _ensure_database(glue: Any, database: str) -> None:
    with translated(f"Glue GetDatabase {database!r}"):
        try:
            glue.get_database(Name=database)
            return
        except ClientError as e:
            if error_code(e) != "EntityNotFoundException":
                raise
    with translated(f"Glue CreateDatabase {database!r}"):
        try:
            glue.create_database(DatabaseInput={"Name": database, "Description": "created by ddb-s3"})
        except ClientError as e:
            if error_code(e) != "AlreadyExistsException":  # made meanwhile by another run
                raise


def _put_table(glue: Any, database: str, table_input: dict[str, Any]) -> None:
    """CreateTable, or UpdateTable when the table is there already."""
    name = f"{database}.{table_input['Name']}"
    with translated(f"Glue CreateTable {name}"):
        try:
            glue.create_table(DatabaseName=database, TableInput=table_input)
            return
        except ClientError as e:
            if error_code(e) != "AlreadyExistsException":
                raise
    with translated(f"Glue UpdateTable {name}"):
        glue.update_table(DatabaseName=database, TableInput=table_input)


def register_parquet(
    glue: Any, database: str, table: str, location: str, column_types: dict[str, str], say: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """`location` is the S3 folder holding the Parquet file(s), ending with '/'."""
    check_name("--glue-database", database)
    check_name("--glue-table", table)
    _ensure_database(glue, database)
    columns = [{"Name": name, "Type": glue_type(t)} for name, t in column_types.items()]
    table_input = {
        "Name": table,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "parquet", "created_by": "ddb-s3"},
        "StorageDescriptor": dict(PARQUET_SERDE, Columns=columns, Location=location),
    }
    _put_table(glue, database, table_input)
    if say:
        say(f"registered {database}.{table} in Glue: {len(columns)} columns over {location}")
    return table_input


def dynamodb_json_columns(attribute_types: dict[str, set[str]]) -> list[dict[str, str]]:
    """One column `Item` of struct<attr: struct<S:string, N:string, ...>> for an export's data files:
    the layout Athena's own docs use for native exports. Maps and lists become string subfields
    (the JSON SerDe hands nested JSON over as its text)."""
    sub = {
        "S": "string",
        "N": "string",
        "B": "string",
        "BOOL": "boolean",
        "NULL": "boolean",
        "SS": "array<string>",
        "NS": "array<string>",
        "BS": "array<string>",
        "M": "string",
        "L": "string",
    }
    fields = []
    for name in sorted(attribute_types):
        inner = ",".join(f"{t}:{sub[t]}" for t in sorted(attribute_types[name]))
        fields.append(f"{name}:struct<{inner}>")
    return [{"Name": "item", "Type": "struct<" + ",".join(fields) + ">"}]


def register_dynamodb_json(
    glue: Any, database: str, table: str, data_location: str, attribute_types: dict[str, set[str]], say: Callable[[str], None] | None = None
) -> dict[str, Any]:
    check_name("--glue-database", database)
    check_name("--glue-table", table)
    _ensure_database(glue, database)
    table_input = {
        "Name": table,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "json", "compressionType": "gzip", "created_by": "ddb-s3"},
        "StorageDescriptor": dict(JSON_SERDE, Columns=dynamodb_json_columns(attribute_types), Location=data_location),
    }
    _put_table(glue, database, table_input)
    if say:
        say(f"registered {database}.{table} in Glue over the DynamoDB JSON in {data_location}")
    return table_input
