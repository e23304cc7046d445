"""What both jobs (the Spark export and the Hive engine's convert step) need from their plan: AWS
clients on the plan's region and endpoints, the S3 settings, and the summary fields every engine
writes. The plan arrives as the JSON dict the template embedded."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from launcher.core.s3args import S3WriteSettings

RETRIES = Config(retries={"mode": "standard", "max_attempts": 10})


def client(plan: dict[str, Any], service: str) -> Any:
    """No credentials here: boto3's standard chain (environment, profile, instance role)."""
    return boto3.client(service, region_name=plan["region"], endpoint_url=plan["endpoints"][service], config=RETRIES)


def s3_settings(plan: dict[str, Any]) -> S3WriteSettings:
    return S3WriteSettings(**plan["s3"])


def summary_fields(plan: dict[str, Any], exporter: dict[str, Any]) -> dict[str, Any]:
    """manifest-summary.json's fields known before the commit (commit adds the counts and times)."""
    settings = s3_settings(plan)
    return {
        "exportId": plan["export_id"],
        "startTime": plan["started_at"],
        "exportTime": plan["started_at"],
        "tableArn": plan["table"]["arn"],
        "tableName": plan["table"]["name"],
        "s3Prefix": plan["prefix"] or None,
        "s3SseAlgorithm": settings.sse,
        "s3SseKmsKeyId": settings.sse_kms_key_id,
        "tableSchema": plan["table_schema"],
        "exporter": {"tool": "ddb-s3", "engine": plan["engine"], "readPercent": plan["read_percent"], **exporter},
    }
