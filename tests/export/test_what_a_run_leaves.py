"""An interrupted export says what it left (issue 24.8): complete when its summary manifest was
written before the interrupt, else incomplete, named, with how to remove it. Against moto's S3."""
from __future__ import annotations

from typing import Any

import pytest

from helpers import plan_for
from launcher.aws.session import Aws
from launcher.export.flow import interrupted_line

pytestmark = pytest.mark.integration


def test_interrupted_line_tells_a_committed_export_from_an_incomplete_one(s3: Any, bucket: str) -> None:
    plan = plan_for(to=f"s3://{bucket}/nightly", region="us-east-1")
    root = plan.export_uri.removeprefix(f"s3://{bucket}/")
    s3.put_object(Bucket=bucket, Key=root + "_started", Body=b"")
    line = interrupted_line(plan, Aws())
    assert line == (
        f"export {plan.export_uri} is incomplete (interrupted before its commit; never read as a backup): run the export"
        f" again; `ddb-s3 exports prune s3://{bucket}/nightly --table LabResults` deletes it once older than its --grace (24h)"
    )
    s3.put_object(Bucket=bucket, Key=root + "manifest-summary.json", Body=b"{}")
    assert interrupted_line(plan, Aws()) == (
        f"export {plan.export_uri} is complete (committed before the interrupt, not verified by this run):"
        f" `ddb-s3 verify {plan.export_uri}` checks it"
    )
