"""An Airflow AWS connection as the launcher's Aws (launcher.airflow.connection), read as the Amazon
provider reads its `aws` connections. Pure: a stand-in Connection, no Airflow import."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from launcher.airflow.connection import aws_from_connection

pytestmark = pytest.mark.unit


@dataclass
class Conn:
    login: str | None = None
    password: str | None = None
    extra_dejson: dict[str, Any] = field(default_factory=dict)


def test_keys_token_region_and_endpoints_come_from_the_connection():
    conn = Conn(
        "AKIAEXAMPLEKEY000001",
        "secret/KEY",
        {
            "aws_session_token": "TOKEN",
            "region_name": "eu-west-3",
            "endpoint_url": "http://127.0.0.1:5000",
            "service_config": {"dynamodb": {"endpoint_url": "http://127.0.0.1:8000"}, "s3": {"addressing_style": "path"}},
        },
    )
    aws = aws_from_connection(conn)
    creds = aws.session.get_credentials()
    assert (creds.access_key, creds.secret_key, creds.token) == ("AKIAEXAMPLEKEY000001", "secret/KEY", "TOKEN")
    assert aws.region_name == "eu-west-3"
    assert aws.endpoint("dynamodb") == "http://127.0.0.1:8000"
    assert aws.endpoint("s3") == aws.endpoint("emr") == "http://127.0.0.1:5000"
    # code handed `aws.session` (the restore's writer client) reaches the same endpoints
    assert aws.session.client("dynamodb").meta.endpoint_url == "http://127.0.0.1:8000"
    assert "secret/KEY" not in repr(aws) and "AKIAEXAMPLEKEY000001" not in repr(aws)


def test_the_exports_own_region_wins_and_an_empty_connection_means_the_standard_chain():
    aws = aws_from_connection(Conn(extra_dejson={"region_name": "eu-west-3"}), region="us-west-2")
    assert aws.region_name == "us-west-2"
    assert aws.credentials is None and aws.endpoint_urls == {}
    bare = aws_from_connection(Conn())  # no keys, no extra: boto3's own chain and endpoints, as without a connection
    assert (bare.region, bare.credentials, bare.endpoint_urls) == (None, None, {})
