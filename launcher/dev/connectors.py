"""The emr-dynamodb-connector each local EMR node runs, by release label, and EMR 7's Spark class path.

On EMR the release's `emr-ddb` component puts the connector at /usr/share/aws/emr/ddb/lib (EMR Release
Guide, "emr-ddb"); the local EMR gives each node the jar of the version its release label ships.

Which jar (issue 23; docs/connector-versions.md):
- a build of the label's version (EMR_DDB below) from the
  connector's source, if one is in $DDB_S3_CONNECTORS_DIR (default .cache/connectors/<build>/
  emr-ddb-hadoop.jar). Maven Central serves no 5.x release after 5.0.0, and this project ships and
  builds none of them (no build recipe is committed), so such builds exist only on a machine where
  someone made them;
- otherwise Maven Central's 5.0.0 (`make jars`), split as a node has it: its connector classes alone
  in emr-ddb-hadoop.jar, and the SDK v2 it bundles in a jar for /usr/share/aws/aws-java-sdk-v2
  (`sdk_v2_jar`). Central's 5.0.0 is a fat jar whose commons-lang3 3.7 breaks Spark's start on the
  JVM class path (NoSuchFieldError: JAVA_11), so it cannot go to a node whole. `connector_version`
  says which one a label got, so a test can tell the exact version from the stand-in.

Spark class path of an EMR 7 node (`emr_spark_defaults`): a captured emr-7.1.0 driver command line
(java -cp of SparkSubmit, EMR_RELEASE_LABEL=emr-7.1.0) starts with exactly EMR_7_SPARK_CLASSPATH
below, then /usr/lib/spark/conf/:/usr/lib/spark/jars/*:/etc/hadoop/conf/. /usr/share/aws/emr/ddb/lib
is NOT on it: Spark's driver sees the connector only through --jars (the connector's README:
`spark-shell --jars /usr/share/aws/emr/ddb/lib/emr-ddb-hadoop.jar`). It is on `hadoop classpath` of
an emr-7.1.0 node (YARN_APPLICATION_CLASSPATH_DDB), which YARN gives to every container, the
executors included. Not documented by AWS as a page: `cat /etc/spark/conf/spark-defaults.conf` and
`hadoop classpath` on the primary node show them (docs/connector-versions.md).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

# What each label's emr-ddb component installs, written from the sources (connector PRs #204
# "... EMR 6.15.0 & EMR 7.0.0" on branch-5.2.0, #205 "... EMR 7.1.0" on branch-5.3.0; the Release
# Guide's "7.9.0 component versions" table: emr-ddb 5.7.0), not taken from the runner's
# launcher/core/versions.py: the emulator must not agree with it by construction. A label not here
# gets Central's build.
EMR_DDB = {"emr-7.0.0": "5.2.0", "emr-7.1.0": "5.3.0", "emr-7.9.0": "5.7.0"}
CENTRAL_VERSION = "5.0.0"  # the newest emr-dynamodb-hadoop Maven Central serves (spark/jvm/pom.xml: `make jars`)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONNECTORS_DIR_ENV = "DDB_S3_CONNECTORS_DIR"
CENTRAL_BUILD = "5.0.0-central"
CONNECTOR_NAME = "emr-ddb-hadoop.jar"  # as EMR names it under /usr/share/aws/emr/ddb/lib

# Local builds that stand for a version, best first: the release tag (or its branch head, both with
# PR #201/#203 and without relocation, as EMR patched them in 2024), then the commit the version was
# first released from (SDK v2 relocated by PR #188, InstanceProfile-only default credentials).
# 5.7.0 has no tag: 8cfa54b, "Prepare for emr-5.7.0 release", is the head of branch-5.7.0 (after PR
# #212 removed the relocation, so there is no relocated 5.7.0).
BUILDS: dict[str, tuple[str, ...]] = {
    "5.2.0": ("5.2.0-148dff7", "5.2.0-1f7e4fe-shaded"),
    "5.3.0": ("5.3.0-cc5c427", "5.3.0-f52cef1-shaded"),
    "5.7.0": ("5.7.0-8cfa54b",),
}

EMR_7_SPARK_CLASSPATH = (
    "/usr/lib/hadoop-lzo/lib/*",
    "/usr/lib/hadoop/hadoop-aws.jar",
    "/usr/share/aws/aws-java-sdk/*",
    "/usr/share/aws/aws-java-sdk-v2/*",
    "/usr/share/aws/emr/goodies/lib/emr-spark-goodies.jar",
    "/usr/share/aws/emr/security/conf",
    "/usr/share/aws/emr/security/lib/*",
    "/usr/share/aws/redshift/jdbc/*",
    "/usr/share/aws/redshift/spark-redshift/lib/*",
    "/usr/share/aws/kinesis/spark-sql-kinesis/lib/*",
    "/usr/share/aws/hmclient/lib/aws-glue-datacatalog-spark-client.jar",
    "/usr/share/java/Hive-JSON-Serde/hive-openx-serde.jar",
    "/usr/share/aws/emr/s3select/lib/emr-s3-select-spark-connector.jar",
)
YARN_APPLICATION_CLASSPATH_DDB = "/usr/share/aws/emr/ddb/lib/emr-ddb-hadoop.jar"
SDK_V2_DIR = "/usr/share/aws/aws-java-sdk-v2"


def connectors_dir() -> Path:
    env = os.environ.get(CONNECTORS_DIR_ENV)
    return Path(env).expanduser().resolve() if env else PROJECT_ROOT / ".cache" / "connectors"


def connector_version(release_label: str) -> str:
    """The build `connector_jar` gives this label: one of BUILDS' names, or CENTRAL_BUILD."""
    for build in BUILDS.get(EMR_DDB.get(release_label, ""), ()):
        if (connectors_dir() / build / CONNECTOR_NAME).is_file():
            return build
    return CENTRAL_BUILD


def connector_jar(release_label: str) -> Path:
    """The emr-dynamodb-hadoop jar that `release_label`'s emr-ddb component installs (see the module
    doc for the fallback to Central's 5.0.0 connector classes)."""
    build = connector_version(release_label)
    if build != CENTRAL_BUILD:
        return connectors_dir() / build / CONNECTOR_NAME
    return _split_central()[0]


def sdk_v2_jar() -> Path:
    """AWS SDK for Java v2 classes for a node's /usr/share/aws/aws-java-sdk-v2 (an EMR 7 node has the
    SDK bundle there, on Spark's class path). Unrelocated connector builds need it; relocated ones
    carry their own copy."""
    return _split_central()[1]


def emr_spark_defaults(release_label: str, node: Path) -> dict[str, str]:
    """The class-path entries of the release's /etc/spark/conf/spark-defaults.conf, mapped into `node`
    (every EMR 7 label: the emr-7.1.0 capture above; no EMR 7 label's page documents another)."""
    cp = os.pathsep.join(str(node) + entry for entry in EMR_7_SPARK_CLASSPATH)
    return {"spark.driver.extraClassPath": cp, "spark.executor.extraClassPath": cp}


def yarn_container_classpath(release_label: str, node: Path) -> list[str]:
    """The connector entry of the node's YARN application class path (on executors, not the driver)."""
    return [str(node) + YARN_APPLICATION_CLASSPATH_DDB]


def _split_central() -> tuple[Path, Path]:
    """Central's 5.0.0 fat jar as a node has it: (connector classes, SDK v2 classes), made once."""
    from launcher.export.run.jars import connector_classpath

    # by its exact name: the jars dir also holds emr-dynamodb-hadoop-5.0.0-classes.jar (no SDK inside)
    central = next(p for p in connector_classpath() if p.name == f"emr-dynamodb-hadoop-{CENTRAL_VERSION}.jar")
    out = connectors_dir() / CENTRAL_BUILD
    connector, sdk = out / CONNECTOR_NAME, out / "aws-sdk-java-v2.jar"
    stamp = out / ".source"
    source = f"{central} {central.stat().st_size} {central.stat().st_mtime_ns}"
    if not (connector.is_file() and sdk.is_file() and stamp.is_file() and stamp.read_text() == source):
        out.mkdir(parents=True, exist_ok=True)
        _extract(central, connector, ("org/apache/hadoop/dynamodb/",))
        _extract(central, sdk, ("software/amazon/", "org/reactivestreams/"))
        stamp.write_text(source)
    return connector, sdk


def _extract(jar: Path, out: Path, prefixes: tuple[str, ...]) -> None:
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")  # tests and the local EMR may split at once
    with zipfile.ZipFile(jar) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename.startswith(prefixes):
                dst.writestr(info, src.read(info))
    tmp.replace(out)
