"""engine=native. dynalite has no ExportTableToPointInTime, and moto's server (5.2.5) accepts the call
but writes a bare data file under a random folder with no manifest-summary.json / manifest-files.json
and returns no ExportManifest, so neither can show the documented behaviour: the request and the
polling sequence are tested with a botocore Stubber (the real client's parameter validation runs),
and the reading side with tests/fixtures/backups/native-* built from the documented format."""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import boto3
import pytest
from botocore.stub import Stubber

from launcher.errors import BadInput, DdbS3Error
from launcher.native import export_request, run_native_export

pytestmark = pytest.mark.unit

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/LabResults"
EXPORT_ARN = ARN + "/export/01716790307109-5f9d6aaa"


def plan(**req) -> SimpleNamespace:
    request = SimpleNamespace(expected_bucket_owner=None, sse=None, sse_kms_key_id=None, export_from=None, export_to=None)
    request.__dict__.update(req)
    return SimpleNamespace(request=request, table={"arn": ARN, "name": "LabResults"}, bucket="lab-backups",
                           prefix="ddb", export_id="01700000000000-0badcafe", region="us-east-1")


def test_full_request() -> None:
    args = export_request(plan(sse="aws:kms", sse_kms_key_id="k", expected_bucket_owner="123456789012"))
    assert args == {"TableArn": ARN, "S3Bucket": "lab-backups", "S3Prefix": "ddb", "ExportFormat": "DYNAMODB_JSON",
                    "ClientToken": "01700000000000-0badcafe", "S3BucketOwner": "123456789012",
                    "S3SseAlgorithm": "KMS", "S3SseKmsKeyId": "k", "ExportType": "FULL_EXPORT"}


def test_incremental_request_and_bad_windows() -> None:
    args = export_request(plan(export_from="2024-05-27T06:00:00Z", export_to="2024-05-27T07:00:00Z"))
    assert args["ExportType"] == "INCREMENTAL_EXPORT"
    assert args["IncrementalExportSpecification"] == {
        "ExportFromTime": datetime(2024, 5, 27, 6, tzinfo=timezone.utc),
        "ExportToTime": datetime(2024, 5, 27, 7, tzinfo=timezone.utc), "ExportViewType": "NEW_AND_OLD_IMAGES"}
    for bad in ({"export_to": "2024-05-27T07:00:00Z"}, {"export_from": "yesterday"},
                {"export_from": "2024-05-27T07:00:00Z", "export_to": "2024-05-27T06:00:00Z"}):
        with pytest.raises(BadInput):
            export_request(plan(**bad))


class FakeAws:
    def __init__(self, client) -> None:  # noqa: ANN001
        self._client = client

    def client(self, _service: str):  # noqa: ANN201
        return self._client


def stubbed():  # noqa: ANN201
    client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return client, Stubber(client)


def desc(status: str, **extra) -> dict:
    return {"ExportDescription": {"ExportArn": EXPORT_ARN, "ExportStatus": status, "S3Bucket": "lab-backups", **extra}}


def test_starts_polls_and_finds_the_export_folder() -> None:
    client, stub = stubbed()
    stub.add_response("export_table_to_point_in_time", desc("IN_PROGRESS"), export_request(plan()))
    stub.add_response("describe_export", desc("IN_PROGRESS"), {"ExportArn": EXPORT_ARN})
    stub.add_response("describe_export", desc("COMPLETED", ItemCount=40,
                      ExportManifest="ddb/AWSDynamoDB/01716790307109-5f9d6aaa/manifest-summary.json"), {"ExportArn": EXPORT_ARN})
    lines: list[str] = []
    with stub:
        result = run_native_export(plan(), lines.append, aws=FakeAws(client), poll_seconds=0)
    stub.assert_no_pending_responses()
    assert result.export_uri == "s3://lab-backups/ddb/AWSDynamoDB/01716790307109-5f9d6aaa/"
    assert result.result["itemCount"] == 40 and result.result["exportId"] == "01716790307109-5f9d6aaa"
    assert any("in progress" in line for line in lines)


def test_failed_export_and_pitr_off() -> None:
    client, stub = stubbed()
    stub.add_response("export_table_to_point_in_time",
                      desc("FAILED", FailureCode="S3NoSuchBucket", FailureMessage="no bucket"), export_request(plan()))
    with stub, pytest.raises(DdbS3Error, match="FAILED: S3NoSuchBucket"):
        run_native_export(plan(), lambda _m: None, aws=FakeAws(client), poll_seconds=0)
    client, stub = stubbed()
    stub.add_client_error("export_table_to_point_in_time", "PointInTimeRecoveryUnavailableException")
    with stub, pytest.raises(BadInput, match="point-in-time recovery is off"):
        run_native_export(plan(), lambda _m: None, aws=FakeAws(client), poll_seconds=0)
