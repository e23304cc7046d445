"""One place for the release -> Spark -> Hive -> connector mapping.

The local stack runs the Spark (and Hive) of DEFAULT_RELEASE, so that what passes here is what runs
on EMR. The local connector is the newest emr-dynamodb-hadoop that Maven Central serves to this
project (5.0.0, SDK v2); on EMR the cluster's own emr-ddb jar is used (/usr/share/aws/emr/ddb/lib).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Release:
    label: str
    spark: str
    hive: str
    emr_ddb: str  # the emr-dynamodb-connector EMR installs (emr-ddb component)


RELEASES: dict[str, Release] = {
    r.label: r
    for r in (
        Release("emr-7.9.0", spark="3.5.5", hive="3.1.3", emr_ddb="5.x"),
        Release("emr-7.5.0", spark="3.5.2", hive="3.1.3", emr_ddb="5.x"),
        Release("emr-7.1.0", spark="3.5.0", hive="3.1.3", emr_ddb="5.3.0"),
        Release("emr-7.0.0", spark="3.5.0", hive="3.1.3", emr_ddb="5.2.0"),
    )
}

DEFAULT_RELEASE = "emr-7.9.0"
LOCAL_SPARK = "3.5.5"  # the local extra allows pyspark>=3.5.5,<3.6 (pyproject.toml); uv.lock holds 3.5.5
LOCAL_CONNECTOR = "5.0.0"  # pinned in spark/jvm/pom.xml
EMR_CONNECTOR_JAR = "/usr/share/aws/emr/ddb/lib/emr-ddb-hadoop.jar"
