"""pytest fixtures for fault injection; a test module imports them by name:

    from faults.fixtures import faulty  # noqa: F401

`faulty` starts one proxy in front of dynalite and one in front of the moto server (S3) and points
AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_S3 at them for the test, so the code under test (and
everything it starts: Spark executors, the connector's JVM client via dynamodb.endpoint) goes
through the proxies. The plan starts empty: the test adds rules."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from .proxy import FaultPlan, FaultProxy


@dataclass
class Faulty:
    plan: FaultPlan
    dynamodb: FaultProxy
    s3: FaultProxy

    def env(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb.url, "AWS_ENDPOINT_URL_S3": self.s3.url}


@pytest.fixture
def faulty(local_stack, monkeypatch) -> Iterator[Faulty]:
    plan = FaultPlan(seed=1234)
    with (
        FaultProxy("dynamodb", local_stack.dynamodb_endpoint, plan) as ddb_proxy,
        FaultProxy("s3", local_stack.s3_endpoint, plan) as s3_proxy,
    ):
        f = Faulty(plan, ddb_proxy, s3_proxy)
        for k, v in f.env().items():
            monkeypatch.setenv(k, v)
        yield f
