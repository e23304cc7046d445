"""Athena-ready output registered in moto's Glue server, Parquet uploaded to moto's S3."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest
from botocore.stub import Stubber

from helpers import CONVERT_ITEMS, write_export
from launcher.aws.glue import register_dynamodb_json
from launcher.backup.convert import convert
from launcher.core.errors import DdbS3Error

# Tests that use the local stack are marked integration by conftest; the stubbed ones are unit.


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


def test_an_upload_stages_in_a_folder_it_always_removes(s3: Any, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """convert to S3 writes the file in a temporary folder first; the folder goes whether the
    upload worked or not (it used to stay in /tmp after every run)."""
    export = write_export(tmp_path / "exp", CONVERT_ITEMS, files=1)
    staging_root = tmp_path / "tmp"
    staging_root.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(staging_root))
    convert(str(export), "jsonl", f"s3://{bucket}/lab.jsonl")
    assert s3.head_object(Bucket=bucket, Key="lab.jsonl")["ContentLength"] > 0
    assert list(staging_root.iterdir()) == []
    # the upload fails: one line naming the bucket, exit 2 (it was a traceback), and the folder goes too
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "ddb-s3"),
            "convert",
            str(export),
            "--format",
            "jsonl",
            "--out",
            f"s3://{bucket}-missing/lab.jsonl",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(staging_root)},
    )
    assert (proc.returncode, proc.stderr.strip()) == (2, f"ddb-s3: bucket '{bucket}-missing' does not exist"), proc.stderr
    assert list(staging_root.iterdir()) == []


def test_dynamodb_json_registered(local_stack) -> None:
    glue = boto3.client("glue")
    register_dynamodb_json(glue, "rawdb", "lab_raw", "s3://b/ddb/AWSDynamoDB/x/data/", {"pk": {"S"}, "n": {"N", "S"}})
    cols = glue.get_table(DatabaseName="rawdb", Name="lab_raw")["Table"]["StorageDescriptor"]["Columns"]
    assert cols == [{"Name": "item", "Type": "struct<n:struct<N:string,S:string>,pk:struct<S:string>>"}]


def stubbed_glue() -> tuple[Any, Stubber]:
    glue = boto3.client("glue", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return glue, Stubber(glue)


@pytest.mark.unit
def test_a_refused_catalog_call_is_one_line() -> None:
    """Stubbed: moto's Glue refuses nothing (no IAM), and a database made between our GetDatabase and
    CreateDatabase (another run) is a race no local server shows."""
    glue, stub = stubbed_glue()
    stub.add_client_error("get_database", "AccessDeniedException", "User is not authorized to perform: glue:GetDatabase")
    with stub, pytest.raises(DdbS3Error) as err:
        register_dynamodb_json(glue, "rawdb", "lab_raw", "s3://b/data/", {"pk": {"S"}})
    assert type(err.value) is DdbS3Error
    assert str(err.value) == "Glue GetDatabase 'rawdb' failed: AccessDeniedException: User is not authorized to perform: glue:GetDatabase"


@pytest.mark.unit
def test_a_database_made_meanwhile_and_an_existing_table_are_updated() -> None:
    glue, stub = stubbed_glue()
    stub.add_client_error("get_database", "EntityNotFoundException")
    stub.add_client_error("create_database", "AlreadyExistsException")
    stub.add_client_error("create_table", "AlreadyExistsException")
    stub.add_response("update_table", {})
    stub.add_client_error("get_database", "EntityNotFoundException")
    stub.add_client_error("create_database", "ResourceNumberLimitExceededException", "too many databases")
    with stub:
        register_dynamodb_json(glue, "rawdb", "lab_raw", "s3://b/data/", {"pk": {"S"}})
        with pytest.raises(
            DdbS3Error, match=r"^Glue CreateDatabase 'rawdb' failed: ResourceNumberLimitExceededException: too many databases$"
        ):
            register_dynamodb_json(glue, "rawdb", "lab_raw", "s3://b/data/", {"pk": {"S"}})
    stub.assert_no_pending_responses()
