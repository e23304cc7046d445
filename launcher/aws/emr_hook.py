"""Every AWS call of the EMR runner, in one place (the hook/operator split of Airflow's Amazon
provider): RunJobFlow, AddJobFlowSteps, DescribeCluster/DescribeStep, TerminateJobFlows, list the
clusters the tool started; and, composed (`hook.artifacts`, `hook.logs`), the artifacts upload and a
step's stdout/stderr from LogUri. Every AWS error leaves it as one line (aws/errors.translated).

The workflow (what to call when, waiting, teardown) lives in export/run/emr.py; the requests are
built by the pure functions of export/render/emr_cluster.py."""

from __future__ import annotations

from typing import Any

from launcher.aws.artifacts import ArtifactStore
from launcher.aws.errors import translated
from launcher.aws.logs import S3Logs
from launcher.aws.session import Aws
from launcher.core.emr import ACTIVE_CLUSTER_STATES, CLUSTER_NAME_PREFIX, EXPORT_ID_TAG, MANAGED_TAG, tag_dict
from launcher.core.s3args import S3WriteSettings

# What EMR answers for a cluster or step id it does not know.
NOT_FOUND_CODES = ("InvalidRequestException", "ResourceNotFoundException")


class EmrHook:
    def __init__(
        self,
        aws: Aws | None = None,
        *,
        emr: Any = None,
        s3: Any = None,
        settings: S3WriteSettings | None = None,
        artifacts: ArtifactStore | None = None,
        logs: S3Logs | None = None,
    ) -> None:
        """`s3`: an S3 client for the default artifact store and log reader (else the Aws's)."""
        self.aws = aws or Aws()
        self._emr = emr
        self.settings = settings or S3WriteSettings()
        self.artifacts = artifacts or ArtifactStore(s3 if s3 is not None else self.aws, self.settings)
        self.logs = logs or S3Logs(s3 if s3 is not None else self.aws, self.settings)

    @property
    def emr(self) -> Any:
        if self._emr is None:
            self._emr = self.aws.client("emr")
        return self._emr

    # --- clusters and steps ----------------------------------------------------------------

    def run_job_flow(self, request: dict[str, Any]) -> str:
        with translated("RunJobFlow"):
            return str(self.emr.run_job_flow(**request)["JobFlowId"])

    def add_steps(self, cluster_id: str, steps: list[dict[str, Any]]) -> list[str]:
        with translated(f"AddJobFlowSteps to {cluster_id}"):
            return list(self.emr.add_job_flow_steps(JobFlowId=cluster_id, Steps=steps)["StepIds"])

    def step_ids(self, cluster_id: str) -> list[str]:
        """All step ids of a cluster, oldest first (ListSteps returns newest first)."""
        ids: list[str] = []
        with translated(f"ListSteps of {cluster_id}", bad_input=NOT_FOUND_CODES):
            for page in self.emr.get_paginator("list_steps").paginate(ClusterId=cluster_id):
                ids.extend(s["Id"] for s in page["Steps"])
        return list(reversed(ids))

    def describe_cluster(self, cluster_id: str) -> dict[str, Any]:
        region = self.emr.meta.region_name
        missing = f"cluster {cluster_id} not found in {region}: check the cluster id and --region"
        with translated(f"DescribeCluster {cluster_id}", bad_input=NOT_FOUND_CODES, messages=dict.fromkeys(NOT_FOUND_CODES, missing)):
            return dict(self.emr.describe_cluster(ClusterId=cluster_id)["Cluster"])

    def describe_step(self, cluster_id: str, step_id: str) -> dict[str, Any]:
        with translated(f"DescribeStep {step_id} on {cluster_id}", bad_input=NOT_FOUND_CODES):
            return dict(self.emr.describe_step(ClusterId=cluster_id, StepId=step_id)["Step"])

    def terminate(self, cluster_id: str) -> None:
        with translated(f"TerminateJobFlows {cluster_id}", bad_input=NOT_FOUND_CODES):
            self.emr.terminate_job_flows(JobFlowIds=[cluster_id])

    def managed_clusters(
        self, states: tuple[str, ...] | None = ACTIVE_CLUSTER_STATES, export_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Clusters carrying our managed tag (optionally for one export id), as DescribeCluster dicts.
        ListClusters has no tag filter, so each listed cluster whose name can be ours (and ends with the
        export id, when one is asked) is described for its tags; others' clusters are never described."""
        kwargs: dict[str, Any] = {"ClusterStates": list(states)} if states else {}
        found = []
        with translated("ListClusters"):
            summaries = [c for page in self.emr.get_paginator("list_clusters").paginate(**kwargs) for c in page["Clusters"]]
        for summary in summaries:
            name = summary.get("Name", "")
            cut = len(name) >= 256  # EMR's name limit: a long table name can cut the export id off
            if not name.startswith(CLUSTER_NAME_PREFIX) or (export_id and not cut and not name.endswith(f" {export_id}")):
                continue
            cluster = self.describe_cluster(summary["Id"])
            tags = tag_dict(cluster)
            if tags.get(MANAGED_TAG) == "true" and (export_id is None or tags.get(EXPORT_ID_TAG) == export_id):
                found.append(cluster)
        return found
