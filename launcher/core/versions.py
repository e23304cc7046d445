"""One place for the release -> Spark -> Hive -> connector mapping.

The local stack runs the Spark (and Hive) of DEFAULT_RELEASE, so that what passes here is what runs
on EMR. The local connector is the newest emr-dynamodb-hadoop that Maven Central serves to this
project (5.0.0, SDK v2); on EMR the cluster's own emr-ddb jar is used (/usr/share/aws/emr/ddb/lib).

emr_ddb (issue 23) is the emr-dynamodb-connector version of the release's emr-ddb component, where a
source says it; None where none reachable from here does (then docs/connector-versions.md names the
command that shows it on a node). Sources:
- emr-7.0.0 -> 5.2.0: awslabs/emr-dynamodb-connector PR #204 "Backport DDB connector Credential
  Provider Fix EMR 6.15.0 & EMR 7.0.0", on branch-5.2.0 (pom version 5.2.0).
- emr-7.1.0 -> 5.3.0: PR #205 "Backport DDB connector Credential Provider Fix EMR 7.1.0", on
  branch-5.3.0 (pom version 5.3.0; tag 5.3.0). A captured emr-7.1.0 node's `hadoop classpath` lists
  /usr/share/aws/emr/ddb/lib/emr-ddb-hadoop.jar and aws-sdk-java-bundle-2.23.18.jar.
- emr-7.9.0 -> 5.7.0: the EMR Release Guide, "Amazon EMR release 7.9.0", table "7.9.0 component
  versions", row `emr-ddb | 5.7.0` (https://docs.aws.amazon.com/emr/latest/ReleaseGuide/emr-790-release.html;
  read from its mirror c2hans/aws-docs, docs/emr/latest/ReleaseGuide/emr-790-release.md at commit
  07f049dfc33192c866ab4c656d1d28406d1916af). The same mirror's pages give emr-7.10.0 5.7.0 and
  emr-7.8.0 and emr-7.5.0 5.6.0 (neither label is offered here).
5.2.0, 5.3.0 and 5.7.0 ran locally in the EMR class-path arrangement (tests/export/test_connector_versions.py,
from builds of the connector's source, docs/connector-versions.md).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Release:
    label: str
    spark: str
    hive: str
    emr_ddb: str | None  # the emr-dynamodb-connector EMR installs (emr-ddb component); None: not documented here


RELEASES: dict[str, Release] = {
    r.label: r
    for r in (
        Release("emr-7.9.0", spark="3.5.5", hive="3.1.3", emr_ddb="5.7.0"),
        Release("emr-7.1.0", spark="3.5.0", hive="3.1.3", emr_ddb="5.3.0"),
        Release("emr-7.0.0", spark="3.5.0", hive="3.1.3", emr_ddb="5.2.0"),
    )
}

DEFAULT_RELEASE = "emr-7.9.0"
LOCAL_SPARK = "3.5.5"  # the local extra allows pyspark>=3.5.5,<3.6 (pyproject.toml); uv.lock holds 3.5.5
LOCAL_CONNECTOR = "5.0.0"  # pinned in spark/jvm/pom.xml
EMR_CONNECTOR_JAR = "/usr/share/aws/emr/ddb/lib/emr-ddb-hadoop.jar"
VERIFIED_CONNECTORS = ("5.2.0", "5.3.0", "5.7.0")  # emr_ddb versions run locally on EMR's class-path arrangement
