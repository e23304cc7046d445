"""The connector reader as an EMR 7 node loads it (issue 23): the emr-ddb connector and the node's
SDK v2 on the JVM's own class path (spark.driver/executor.extraClassPath; on EMR, YARN puts
/usr/share/aws/emr/ddb/lib/emr-ddb-hadoop.jar on the container class path and spark-defaults has
/usr/share/aws/aws-java-sdk-v2/*), our helper jar through --jars (Spark's child class loader), and
the connector conf that the plan writes for --runner emr.

Cases: Maven Central's emr-dynamodb-hadoop 5.0.0 (split into the connector classes and the SDK v2
classes it bundles, the way a node has them in two places), plus every connector build found under
$DDB_S3_CONNECTORS_DIR (default .cache/connectors/<build>/emr-ddb-hadoop.jar): releases Central does not serve
(5.2.0 and later) exist only where they were built from the connector's source (see
docs/connector-versions.md); without them those cases are not collected, not skipped silently: the
ids say what ran."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from launcher.core.codec import items_equal, wire_to_json
from launcher.core.table import table_info_from_description
from launcher.dev import connectors
from launcher.export.plan import connector_conf, custom_provider_for
from launcher.export.run import jars
from launcher.export.run.local import spark_submit_path

CENTRAL = connectors.CENTRAL_BUILD
SEGMENTS = 3
N_ITEMS = 60

JOB = """
import json, sys
from pyspark import SparkContext

conf, out = json.load(open(sys.argv[1])), sys.argv[2]
sc = SparkContext(appName="connector-version")
rdd = sc.hadoopRDD(sys.argv[3], sys.argv[4], sys.argv[5], valueConverter=sys.argv[6], conf=conf)
lines = rdd.values().collect()
with open(out, "w") as f:
    json.dump({"partitions": rdd.getNumPartitions(), "lines": lines}, f)
sc.stop()
"""


def _built_cases() -> list[str]:
    d = connectors.connectors_dir()
    if not d.is_dir():
        return []
    return sorted(b.name for b in d.iterdir() if b.name != CENTRAL and (b / connectors.CONNECTOR_NAME).is_file())


CASES = [CENTRAL, *_built_cases()]


def _node_classpath(case: str) -> list[Path]:
    """What an EMR 7 node has on its JVM class path for this case: the connector, and SDK v2 (the
    node's /usr/share/aws/aws-java-sdk-v2 bundle; here the SDK v2 classes of Central's fat jar)."""
    if case == CENTRAL:
        return [connectors.connector_jar("no-such-label"), connectors.sdk_v2_jar()]
    return [connectors.connectors_dir() / case / connectors.CONNECTOR_NAME, connectors.sdk_v2_jar()]


def _item(i: int) -> dict[str, Any]:
    return {
        "pk": {"S": f"item-{i:03d}"},
        "n": {"N": ["1.50", "-0.000123", "12345678901234567890123456789012345678", "0"][i % 4]},
        "b": {"B": bytes([i % 256, 0, 255])},
        "ss": {"SS": [f"a{i}", "caf\u00e9"]},
        "ns": {"NS": ["1", str(i + 10)]},
        "bs": {"BS": [b"\x00\x01", bytes([i % 256]) + b"x"]},
        "m": {"M": {"k": {"S": "v"}, "l": {"L": [{"BOOL": i % 2 == 0}, {"NULL": True}, {"M": {}}]}}},
        "empty": {"L": []},
    }


@pytest.fixture
def table(ddb: Any, fresh_table: Any) -> tuple[str, dict[str, dict[str, Any]]]:
    name = fresh_table(prefix="conn-ver")
    for i in range(N_ITEMS):
        ddb.put_item(TableName=name, Item=_item(i))
    expected = {}
    for page in ddb.get_paginator("scan").paginate(TableName=name):
        for it in page["Items"]:
            expected[it["pk"]["S"]] = wire_to_json(it)
    return name, expected


def _read(ddb: Any, table: str, classpath: list[Path], conf: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """spark-submit the reader with the connector on the JVM class path and the helper through --jars."""
    (tmp_path / "job.py").write_text(JOB)
    (tmp_path / "conf.json").write_text(json.dumps(conf))
    cp = os.pathsep.join(str(p) for p in classpath)
    cmd = [
        spark_submit_path(),
        "--master", "local[2]",
        "--conf", f"spark.driver.extraClassPath={cp}",
        "--conf", f"spark.executor.extraClassPath={cp}",
        "--conf", "spark.ui.enabled=false",
        "--jars", str(jars.helper_jar_path()),
        str(tmp_path / "job.py"), str(tmp_path / "conf.json"), str(tmp_path / "out.json"),
        jars.INPUT_FORMAT_CLASS, jars.KEY_CLASS, jars.VALUE_CLASS, jars.CONVERTER_CLASS,
    ]  # fmt: skip
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    # The connector's fallback keys: Spark copies AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY into
    # fs.s3.awsAccessKeyId / fs.s3.awsSecretAccessKey (the local stack sets fake ones), where an EMR
    # node has its instance profile.
    assert env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY")
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, check=False)


def _conf(ddb: Any, table: str, runner: str) -> dict[str, str]:
    info = table_info_from_description(ddb.describe_table(TableName=table)["Table"])
    return connector_conf(info, "us-east-1", ddb.meta.endpoint_url, 40000, SEGMENTS, SEGMENTS, custom_provider=custom_provider_for(runner))


@pytest.mark.e2e
@pytest.mark.parametrize("case", CASES)
def test_connector_reads_with_the_emr_class_path_and_the_emr_conf(case: str, ddb: Any, table: Any, tmp_path: Path) -> None:
    name, expected = table
    proc = _read(ddb, name, _node_classpath(case), _conf(ddb, name, "emr"), tmp_path)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["partitions"] == SEGMENTS
    got = {json.loads(line)["pk"]["S"]: json.loads(line) for line in out["lines"]}
    assert len(out["lines"]) == N_ITEMS and got.keys() == expected.keys()
    for pk, item in expected.items():
        assert items_equal(got[pk], item), pk
        assert got[pk]["n"] == item["n"]  # the number string exactly as DynamoDB returned it


@pytest.mark.e2e
def test_a_custom_provider_from_jars_is_not_found_by_a_connector_on_the_class_path(ddb: Any, table: Any, tmp_path: Path) -> None:
    """Why the emr conf names no provider: the 5.x connector loads it with Class.forName from its own
    (the system) loader, which does not see --jars."""
    name, _ = table
    conf = _conf(ddb, name, "local")
    assert conf["dynamodb.customAWSCredentialsProvider"] == jars.CREDENTIALS_PROVIDER_CLASS
    proc = _read(ddb, name, _node_classpath(CENTRAL), conf, tmp_path)
    assert proc.returncode != 0
    assert f"Custom AWSCredentialsProvider not found: {jars.CREDENTIALS_PROVIDER_CLASS}" in proc.stderr


@pytest.mark.unit
@pytest.mark.parametrize(("runner", "custom"), [("local", True), ("glue", True), ("emr", False), ("emr-serverless", False)])
def test_only_runners_sharing_one_loader_name_our_provider(runner: str, custom: bool) -> None:
    assert custom_provider_for(runner) is custom


@pytest.mark.unit
def test_emr_7_spark_defaults_leave_the_connector_to_yarn_and_jars(tmp_path: Path) -> None:
    conf = connectors.emr_spark_defaults("emr-7.1.0", tmp_path)
    assert conf["spark.driver.extraClassPath"] == conf["spark.executor.extraClassPath"]
    entries = conf["spark.driver.extraClassPath"].split(os.pathsep)
    assert entries[3] == f"{tmp_path}/usr/share/aws/aws-java-sdk-v2/*"
    assert not any("/emr/ddb/" in e for e in entries)
    assert connectors.yarn_container_classpath("emr-7.1.0", tmp_path) == [f"{tmp_path}/usr/share/aws/emr/ddb/lib/emr-ddb-hadoop.jar"]


@pytest.mark.unit
def test_a_label_without_a_local_build_of_its_version_gets_centrals_connector_classes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(connectors.CONNECTORS_DIR_ENV, str(tmp_path))
    assert connectors.connector_version("emr-7.1.0") == CENTRAL
    jar = connectors.connector_jar("emr-7.1.0")
    names = zipfile.ZipFile(jar).namelist()
    assert names and all(n.startswith("org/apache/hadoop/dynamodb/") for n in names)
    sdk = zipfile.ZipFile(connectors.sdk_v2_jar()).namelist()  # from the fat jar, not its -classes cut
    assert "software/amazon/awssdk/services/dynamodb/DynamoDbClient.class" in sdk
    (tmp_path / "5.3.0-cc5c427").mkdir()
    (tmp_path / "5.3.0-cc5c427" / connectors.CONNECTOR_NAME).write_bytes(b"")
    assert connectors.connector_version("emr-7.1.0") == "5.3.0-cc5c427"
    assert connectors.connector_version("emr-7.0.0") == CENTRAL  # 5.2.0 not built there


def test_the_local_emr_and_the_runner_agree_on_each_labels_connector_from_their_own_sources():
    """dev/connectors.py keeps its own table (the emulator takes no convention from the runner): the
    two must say the same for every label the runner offers with a known version."""
    from launcher.core.versions import LOCAL_CONNECTOR, RELEASES
    from launcher.dev.connectors import CENTRAL_VERSION, EMR_DDB

    assert {label: r.emr_ddb for label, r in RELEASES.items() if r.emr_ddb} == EMR_DDB
    assert CENTRAL_VERSION == LOCAL_CONNECTOR
