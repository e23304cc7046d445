"""ArtifactStore (the job's files put under the artifacts root) and S3Logs (a log's presence and
text) against the local stack's moto S3."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from helpers import unique_name
from launcher.aws.artifacts import ArtifactStore
from launcher.aws.logs import S3Logs
from launcher.aws.session import Aws
from launcher.core.errors import BadInput, DdbS3Error
from launcher.core.s3args import S3WriteSettings

# Tests that use the local stack are marked integration by conftest; the stubbed ones are unit.


def body(s3: Any, bucket: str, key: str) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


# --------------------------------------------------------------------------- ArtifactStore


def test_upload_puts_rendered_then_local_files_under_the_root(s3: Any, bucket: str, tmp_path: Path) -> None:
    jar = tmp_path / "helper.jar"
    jar.write_bytes(b"PK\x03\x04jar")
    store = ArtifactStore(s3, S3WriteSettings(sse="AES256"))
    uris = store.upload(f"s3://{bucket}/ddb/_artifacts/e1/", {"job.py": "print('é')", "ddl.hql": b"CREATE"}, {"helper.jar": jar})
    assert uris == [f"s3://{bucket}/ddb/_artifacts/e1/{n}" for n in ("job.py", "ddl.hql", "helper.jar")]
    assert body(s3, bucket, "ddb/_artifacts/e1/job.py") == "print('é')".encode()
    assert body(s3, bucket, "ddb/_artifacts/e1/ddl.hql") == b"CREATE"
    assert body(s3, bucket, "ddb/_artifacts/e1/helper.jar") == b"PK\x03\x04jar"
    # the plan's write settings reach every PutObject
    assert s3.head_object(Bucket=bucket, Key="ddb/_artifacts/e1/helper.jar")["ServerSideEncryption"] == "AES256"


def test_upload_to_a_bucket_root_and_through_an_aws(s3: Any, bucket: str) -> None:
    (uri,) = ArtifactStore(Aws()).upload(f"s3://{bucket}", {"job.py": "x"}, {})
    assert uri == f"s3://{bucket}/job.py" and body(s3, bucket, "job.py") == b"x"


def test_upload_to_a_missing_bucket_is_one_line(local_stack: Any) -> None:
    missing = unique_name("nobucket")
    with pytest.raises(DdbS3Error) as err:
        ArtifactStore(boto3.client("s3")).upload(f"s3://{missing}/a", {"job.py": "x"}, {})
    assert str(err.value) == f"upload of artifact s3://{missing}/a/job.py failed: NoSuchBucket: The specified bucket does not exist"


def test_upload_refuses_a_root_that_is_no_s3_uri() -> None:
    with pytest.raises(BadInput):
        ArtifactStore(boto3.client("s3", region_name="us-east-1")).upload("/tmp/artifacts", {"job.py": "x"}, {})


# --------------------------------------------------------------------------- S3Logs


def test_exists_is_the_exact_key_not_a_sibling_with_its_prefix(s3: Any, bucket: str) -> None:
    logs = S3Logs(s3)
    uri = f"s3://{bucket}/logs/j-1/steps/s-1/stdout.gz"
    assert logs.exists(uri) is False
    s3.put_object(Bucket=bucket, Key="logs/j-1/steps/s-1/stdout.gz.1", Body=b"")
    assert logs.exists(uri) is False
    s3.put_object(Bucket=bucket, Key="logs/j-1/steps/s-1/stdout.gz", Body=b"")
    assert logs.exists(uri) is True


def test_exists_in_a_missing_bucket_is_one_line(local_stack: Any) -> None:
    missing = unique_name("nobucket")
    with pytest.raises(DdbS3Error) as err:
        S3Logs(Aws()).exists(f"s3://{missing}/logs/stderr.gz")
    assert str(err.value) == f"listing of log s3://{missing}/logs/stderr.gz failed: NoSuchBucket: The specified bucket does not exist"


def test_read_gunzips_keeps_the_tail_and_is_none_while_absent(s3: Any, bucket: str) -> None:
    logs = S3Logs(s3)
    gz, plain = f"s3://{bucket}/l/stderr.gz", f"s3://{bucket}/l/stderr"
    assert logs.read(gz) is None  # NoSuchKey
    assert logs.read(f"s3://{unique_name('nobucket')}/l/stderr.gz") is None  # NoSuchBucket
    s3.put_object(Bucket=bucket, Key="l/stderr.gz", Body=gzip.compress(b"line 1\nline 2\n"))
    assert logs.read(gz) == "line 1\nline 2\n"
    assert logs.read(gz, max_bytes=7) == "line 2\n"
    s3.put_object(Bucket=bucket, Key="l/stderr", Body=gzip.compress(b"gzip without .gz"))
    assert logs.read(plain) == "gzip without .gz"  # recognised by its magic bytes
    s3.put_object(Bucket=bucket, Key="l/stderr", Body=b"plain \xff text")
    assert logs.read(plain) == "plain \ufffd text"
    s3.put_object(Bucket=bucket, Key="l/stderr.gz", Body=gzip.compress(b"x" * 1000)[:20])  # cut mid-upload
    assert logs.read(gz) is None


def stubbed_s3() -> tuple[Any, Stubber]:
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return client, Stubber(client)


@pytest.mark.unit
def test_read_is_none_when_refused_and_one_line_on_other_errors() -> None:
    """Stubbed: moto never refuses a GetObject (403 is what a prefix-limited ListBucket gives for a
    key not there yet), nor throttles one."""
    client, stub = stubbed_s3()
    stub.add_client_error("get_object", "AccessDenied", http_status_code=403)
    stub.add_client_error("get_object", "SlowDown", "Please reduce your request rate.", http_status_code=503)
    with stub:
        assert S3Logs(client).read("s3://lab-logs/j-1/stderr.gz") is None
        with pytest.raises(DdbS3Error) as err:
            S3Logs(client).read("s3://lab-logs/j-1/stderr.gz")
    assert str(err.value) == "read of log s3://lab-logs/j-1/stderr.gz failed: SlowDown: Please reduce your request rate."
    stub.assert_no_pending_responses()


@pytest.mark.unit
def test_reads_carry_the_expected_bucket_owner() -> None:
    client, stub = stubbed_s3()
    owner = {"ExpectedBucketOwner": "123456789012"}
    stub.add_response(
        "list_objects_v2", {"Contents": [{"Key": "l/stderr"}]}, {"Bucket": "lab-logs", "Prefix": "l/stderr", "MaxKeys": 1, **owner}
    )
    stub.add_client_error(
        "get_object", "NoSuchKey", http_status_code=404, expected_params={"Bucket": "lab-logs", "Key": "l/stderr", **owner}
    )
    with stub:
        logs = S3Logs(client, S3WriteSettings(expected_bucket_owner="123456789012"))
        assert logs.exists("s3://lab-logs/l/stderr") is True
        assert logs.read("s3://lab-logs/l/stderr") is None
    stub.assert_no_pending_responses()
