"""EMR names that the renderer, the hook and the runner share: our tags and the API's states."""

from __future__ import annotations

from typing import Any

# Tags on every cluster the tool starts; `clusters list` and `clusters terminate` look for MANAGED_TAG.
MANAGED_TAG = "ddb-s3:managed"
EXPORT_ID_TAG = "ddb-s3:export-id"
TABLE_TAG = "ddb-s3:table"
# Every cluster name starts so (render.emr_cluster.cluster_name): ListClusters returns names but no
# tags, so the hook describes only the clusters whose name can be ours.
CLUSTER_NAME_PREFIX = "ddb-s3 export "

# Cluster states in which AddJobFlowSteps is accepted (EMR API reference).
ACCEPTING_STATES = ("STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING")
TERMINAL_CLUSTER_STATES = ("TERMINATED", "TERMINATED_WITH_ERRORS")
ACTIVE_CLUSTER_STATES = ("STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING", "TERMINATING")
# Step states: boto3's step_complete waiter ignores INTERRUPTED; we treat all three as failures.
FAILED_STEP_STATES = ("FAILED", "CANCELLED", "INTERRUPTED")
DONE_STEP_STATES = ("COMPLETED", *FAILED_STEP_STATES)


def tag_dict(cluster: dict[str, Any]) -> dict[str, str]:
    """A DescribeCluster answer's Tags as a dict."""
    return {t["Key"]: t["Value"] for t in cluster.get("Tags", [])}
