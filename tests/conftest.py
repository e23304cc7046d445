"""Shared fixtures (plain helper functions live in helpers.py). The local stack starts lazily: only
tests that ask for it (directly or through `ddb`, `s3`, `fresh_table`, `bucket`) start servers, once
per session; unit tests never do."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from helpers import unique_name
from launcher.aws import contracts
from launcher.core.paths import RESTORES_DIR_ENV, RUNS_DIR_ENV
from launcher.dev.localstack import CLEARED_VARS, LocalStack, LocalStackError

STACK_FIXTURE = "local_stack"


@pytest.hookimpl(trylast=True)  # after pytest-spark's: it reads pyproject's spark_options only if it builds the conf first
def pytest_configure(config: pytest.Config) -> None:
    # py4j logs "Closing down clientserver connection" at exit, after pytest closed its streams.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    # pytest-spark's SparkContext gets the connector jars (built by `make jars`) on spark.jars.
    # (Not extraClassPath: the connector's fat jar would shadow Spark's own commons-lang3.)
    from pytest_spark.config import SparkConfigBuilder

    from launcher.export.run.jars import default_jars_dir

    jars = sorted(default_jars_dir().glob("*.jar"))
    if jars:
        SparkConfigBuilder.get().set("spark.jars", ",".join(str(j) for j in jars))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A test that reaches the local stack is an integration test whether or not it says so,
    # so `-m "not integration"` reliably runs without servers.
    for item in items:
        if STACK_FIXTURE in getattr(item, "fixturenames", ()) and not item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """dynalite + moto servers for the whole session, with their env vars set so any boto3 client
    (and any subprocess) made during the session talks to them with fake credentials."""
    try:
        stack = LocalStack.start()
    except LocalStackError as e:
        pytest.fail(str(e), pytrace=False)
    # The MonkeyPatch context unwinds before the servers stop (with-statements exit in reverse).
    with stack, pytest.MonkeyPatch.context() as mp:
        for name in CLEARED_VARS:
            mp.delenv(name, raising=False)
        for name, value in stack.env().items():
            mp.setenv(name, value)
        contracts.install(boto3._get_default_session())  # the tests' own clients too
        mp.setenv(RUNS_DIR_ENV, str(tmp_path_factory.mktemp("runs")))  # the local runner's logs, not ~/.cache
        mp.setenv(RESTORES_DIR_ENV, str(tmp_path_factory.mktemp("restores")))  # restore checkpoints, likewise
        yield stack


@pytest.fixture
def ddb(local_stack: LocalStack) -> Any:
    """A DynamoDB client built from the environment alone, as the tool builds its own."""
    return boto3.client("dynamodb")


@pytest.fixture
def s3(local_stack: LocalStack) -> Any:
    return boto3.client("s3")


@pytest.fixture
def fresh_table(ddb: Any) -> Iterator[Callable[..., str]]:
    """Factory: `fresh_table()` or `fresh_table(range_key="sk", range_type="N")` creates a uniquely
    named on-demand table with hash key `pk` (S), waits until ACTIVE, returns its name; deleted after."""
    created: list[str] = []

    def make(range_key: str | None = None, range_type: str = "S", prefix: str = "t") -> str:
        name = unique_name(prefix)
        attrs = [{"AttributeName": "pk", "AttributeType": "S"}]
        keys = [{"AttributeName": "pk", "KeyType": "HASH"}]
        if range_key:
            attrs.append({"AttributeName": range_key, "AttributeType": range_type})
            keys.append({"AttributeName": range_key, "KeyType": "RANGE"})
        ddb.create_table(TableName=name, AttributeDefinitions=attrs, KeySchema=keys, BillingMode="PAY_PER_REQUEST")
        created.append(name)
        # dynalite keeps a table CREATING for ~0.5 s like the real service; boto3's waiter polls
        # every 20 s, so poll here instead.
        deadline = time.monotonic() + 30
        while ddb.describe_table(TableName=name)["Table"]["TableStatus"] != "ACTIVE":
            if time.monotonic() > deadline:
                raise TimeoutError(f"table {name} not ACTIVE after 30 s")
            time.sleep(0.05)
        return name

    yield make
    for name in created:
        with contextlib.suppress(ddb.exceptions.ResourceNotFoundException):
            ddb.delete_table(TableName=name)


@pytest.fixture
def bucket(s3: Any) -> Iterator[str]:
    """A uniquely named, empty S3 bucket on moto; emptied and deleted after the test."""
    name = unique_name("test")
    s3.create_bucket(Bucket=name)
    yield name
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if doomed:
            s3.delete_objects(Bucket=name, Delete={"Objects": doomed, "Quiet": True})
    s3.delete_bucket(Bucket=name)
