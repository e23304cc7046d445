"""Athena-ready output registered in moto's Glue server, Parquet uploaded to moto's S3."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest

from launcher.backup.convert import convert
from launcher.aws.glue import register_dynamodb_json

from helpers import CONVERT_ITEMS, write_export

pytestmark = pytest.mark.integration


def test_parquet_registered_in_glue(s3: Any, bucket: str, tmp_path: Path) -> None:
    export = write_export(tmp_path / "exp", CONVERT_ITEMS, files=1)
    out = f"s3://{bucket}/lab/parquet/lab.parquet"
    result = convert(str(export), "parquet", out, glue_database="labdb", glue_table="lab_results")
    glue = boto3.client("glue")
    t = glue.get_table(DatabaseName="labdb", Name="lab_results")["Table"]
    cols = {c["Name"]: c["Type"] for c in t["StorageDescriptor"]["Columns"]}
    assert cols["n"] == "decimal(38, 9)" and cols["b"] == "binary" and cols["ss"] == "array<string>"
    assert t["StorageDescriptor"]["Location"] == f"s3://{bucket}/lab/parquet/"
    local = tmp_path / "back.parquet"
    s3.download_file(bucket, "lab/parquet/lab.parquet", str(local))
    assert pq.read_table(local).num_rows == result.items == 2
    # registering again updates the table instead of failing
    convert(str(export), "parquet", out, glue_database="labdb", glue_table="lab_results")


def test_dynamodb_json_registered(local_stack) -> None:  # noqa: ANN001
    glue = boto3.client("glue")
    register_dynamodb_json(glue, "rawdb", "lab_raw", "s3://b/ddb/AWSDynamoDB/x/data/", {"pk": {"S"}, "n": {"N", "S"}})
    cols = glue.get_table(DatabaseName="rawdb", Name="lab_raw")["Table"]["StorageDescriptor"]["Columns"]
    assert cols == [{"Name": "item", "Type": "struct<n:struct<N:string,S:string>,pk:struct<S:string>>"}]
