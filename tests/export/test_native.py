"""engine=native. dynalite has no ExportTableToPointInTime, and moto's server (5.2.5) accepts the call
but writes a bare data file under a random folder with no manifest-summary.json / manifest-files.json
and returns no ExportManifest, so neither can show the documented behaviour: the request and the
polling sequence are tested with a botocore Stubber (the real client's parameter validation runs),
and the reading side with tests/fixtures/backups/native-* built from the documented format."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from launcher.core.errors import BadInput, DdbS3Error
from launcher.core.table import table_info_from_description
from launcher.core.wait import Clock
from launcher.export.plan import ExportPlan, make_plan
from launcher.export.run.native import NativeRunner, export_request
from launcher.options import build_request

pytestmark = pytest.mark.unit

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/LabResults"
EXPORT_ARN = ARN + "/export/01716790307109-5f9d6aaa"


TABLE = table_info_from_description(
    {
        "TableName": "LabResults",
        "TableArn": ARN,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
    },
    pitr_enabled=True,
)


def plan(**flags: str) -> ExportPlan:
    request = build_request({"table": "LabResults", "to": "s3://lab-backups/ddb", "engine": "native"} | flags, environ={})
    return make_plan(
        request,
        TABLE,
        region="us-east-1",
        endpoints={"dynamodb": None, "s3": None},
        now=datetime.fromtimestamp(1_700_000_000, UTC),
        token="0badcafe",
    )


def test_full_request() -> None:
    args = export_request(plan(sse="aws:kms", sse_kms_key_id="k", expected_bucket_owner="123456789012"))
    assert args == {
        "TableArn": ARN,
        "S3Bucket": "lab-backups",
        "S3Prefix": "ddb",
        "ExportFormat": "DYNAMODB_JSON",
        "ClientToken": "01700000000000-0badcafe",
        "S3BucketOwner": "123456789012",
        "S3SseAlgorithm": "KMS",
        "S3SseKmsKeyId": "k",
        "ExportType": "FULL_EXPORT",
    }


def test_incremental_request_and_bad_windows() -> None:
    args = export_request(plan(export_from="2024-05-27T06:00:00Z", export_to="2024-05-27T07:00:00Z"))
    assert args["ExportType"] == "INCREMENTAL_EXPORT"
    assert args["IncrementalExportSpecification"] == {
        "ExportFromTime": datetime(2024, 5, 27, 6, tzinfo=UTC),
        "ExportToTime": datetime(2024, 5, 27, 7, tzinfo=UTC),
        "ExportViewType": "NEW_AND_OLD_IMAGES",
    }
    # A bad window is refused with the request, before anything is planned or started.
    for bad, says in (
        ({"export_to": "2024-05-27T07:00:00Z"}, "--export-to needs --export-from"),
        ({"export_from": "yesterday"}, "--export-from: is not an ISO-8601 time"),
        ({"export_from": "2024-05-27T07:00:00Z", "export_to": "2024-05-27T06:00:00Z"}, "must be after"),
    ):
        with pytest.raises(BadInput, match=says):
            plan(**bad)


class FakeAws:
    def __init__(self, client) -> None:
        self._client = client

    def client(self, _service: str):
        return self._client


def run_native(client, progress=lambda _m: None, **settings):
    """The runner's whole lifecycle with the stubbed client and a clock that never sleeps."""
    t = [0.0]
    clock = Clock(now=lambda: t[0], sleep=lambda s: t.__setitem__(0, t[0] + s))
    return NativeRunner(progress, aws=FakeAws(client), clock=clock, poll_seconds=15, **settings).run(plan())


def stubbed():
    client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return client, Stubber(client)


def desc(status: str, **extra) -> dict:
    return {"ExportDescription": {"ExportArn": EXPORT_ARN, "ExportStatus": status, "S3Bucket": "lab-backups", **extra}}


def test_starts_polls_and_finds_the_export_folder() -> None:
    client, stub = stubbed()
    stub.add_response("export_table_to_point_in_time", desc("IN_PROGRESS"), export_request(plan()))
    stub.add_response("describe_export", desc("IN_PROGRESS"), {"ExportArn": EXPORT_ARN})
    stub.add_response(
        "describe_export",
        desc("COMPLETED", ItemCount=40, ExportManifest="ddb/AWSDynamoDB/01716790307109-5f9d6aaa/manifest-summary.json"),
        {"ExportArn": EXPORT_ARN},
    )
    lines: list[str] = []
    with stub:
        result = run_native(client, lines.append)
    stub.assert_no_pending_responses()
    assert result.export_uri == "s3://lab-backups/ddb/AWSDynamoDB/01716790307109-5f9d6aaa/"
    assert result.result["itemCount"] == 40 and result.result["exportId"] == "01716790307109-5f9d6aaa"
    assert any("in progress" in line for line in lines)


def test_failed_export_and_pitr_off() -> None:
    client, stub = stubbed()
    failed = desc("FAILED", FailureCode="S3NoSuchBucket", FailureMessage="no bucket")
    stub.add_response("export_table_to_point_in_time", failed, export_request(plan()))
    stub.add_response("describe_export", failed, {"ExportArn": EXPORT_ARN})
    with stub, pytest.raises(DdbS3Error, match="FAILED: S3NoSuchBucket"):
        run_native(client)
    client, stub = stubbed()
    stub.add_client_error("export_table_to_point_in_time", "PointInTimeRecoveryUnavailableException")
    with stub, pytest.raises(BadInput, match="point-in-time recovery is off"):
        run_native(client)


def test_the_wait_gives_up_after_its_bound_and_says_the_export_goes_on() -> None:
    client, stub = stubbed()
    stub.add_response("export_table_to_point_in_time", desc("IN_PROGRESS"), export_request(plan()))
    for _ in range(3):  # polled at 0, 15 and 30 s of the fake clock; the bound is 30 s
        stub.add_response("describe_export", desc("IN_PROGRESS"), {"ExportArn": EXPORT_ARN})
    with stub, pytest.raises(DdbS3Error) as e:
        run_native(client, max_wait_seconds=30)
    stub.assert_no_pending_responses()
    assert str(e.value) == (
        f"native run on {EXPORT_ARN}: not done after 0m30s (--max-wait-seconds 30); the export keeps running "
        f"inside DynamoDB: check it with `aws dynamodb describe-export --export-arn {EXPORT_ARN}`"
    )
