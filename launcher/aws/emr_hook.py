"""Every AWS call of the EMR runner, in one place (the hook/operator split of Airflow's Amazon
provider): upload artifacts, RunJobFlow, AddJobFlowSteps, DescribeCluster/DescribeStep,
TerminateJobFlows, list the clusters the tool started, and fetch a step's stderr from LogUri.

The workflow (what to call when, waiting, teardown) lives in export/run/emr.py; the requests are
built by the pure functions of export/render/emr_cluster.py."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from launcher.aws.errors import describe
from launcher.aws.session import Aws
from launcher.core.emr import ACTIVE_CLUSTER_STATES, EXPORT_ID_TAG, MANAGED_TAG
from launcher.core.errors import BadInput, DdbS3Error
from launcher.core.s3args import S3WriteSettings
from launcher.core.s3uri import S3Uri


class EmrHook:
    def __init__(self, aws: Aws | None = None, *, emr: Any = None, s3: Any = None, settings: S3WriteSettings | None = None) -> None:
        self.aws = aws or Aws()
        self._emr = emr
        self._s3 = s3
        self.settings = settings or S3WriteSettings()

    @property
    def emr(self) -> Any:
        if self._emr is None:
            self._emr = self.aws.client("emr")
        return self._emr

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = self.aws.client("s3")
        return self._s3

    # --- artifacts -------------------------------------------------------------------------

    def upload_artifacts(self, root: str, files: dict[str, str | bytes], local_files: dict[str, Path]) -> list[str]:
        """Put each rendered file and each local file (e.g. the helper jar) under `root`; return the URIs."""
        base = S3Uri.parse(root, "artifacts")
        uris = []
        items: list[tuple[str, bytes]] = [(n, c if isinstance(c, bytes) else c.encode()) for n, c in files.items()]
        items += [(n, p.read_bytes()) for n, p in local_files.items()]
        for name, body in items:
            key = f"{base.key.rstrip('/')}/{name}" if base.key.strip("/") else name
            try:
                self.s3.put_object(Bucket=base.bucket, Key=key, Body=body, **self.settings.write_args())
            except ClientError as e:
                raise DdbS3Error(f"cannot upload artifact s3://{base.bucket}/{key}: {describe(e)}") from None
            uris.append(f"s3://{base.bucket}/{key}")
        return uris

    # --- clusters and steps ----------------------------------------------------------------

    def run_job_flow(self, request: dict[str, Any]) -> str:
        try:
            return self.emr.run_job_flow(**request)["JobFlowId"]
        except ClientError as e:
            raise DdbS3Error(f"RunJobFlow failed: {describe(e)}") from None

    def add_steps(self, cluster_id: str, steps: list[dict[str, Any]]) -> list[str]:
        try:
            return self.emr.add_job_flow_steps(JobFlowId=cluster_id, Steps=steps)["StepIds"]
        except ClientError as e:
            raise DdbS3Error(f"AddJobFlowSteps to {cluster_id} failed: {describe(e)}") from None

    def step_ids(self, cluster_id: str) -> list[str]:
        """All step ids of a cluster, oldest first (ListSteps returns newest first)."""
        ids: list[str] = []
        for page in self.emr.get_paginator("list_steps").paginate(ClusterId=cluster_id):
            ids.extend(s["Id"] for s in page["Steps"])
        return list(reversed(ids))

    def describe_cluster(self, cluster_id: str) -> dict[str, Any]:
        try:
            return self.emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("InvalidRequestException", "ResourceNotFoundException"):
                raise BadInput(f"cluster {cluster_id} not found in {self.emr.meta.region_name}: {describe(e)}") from None
            raise DdbS3Error(f"DescribeCluster {cluster_id} failed: {describe(e)}") from None

    def describe_step(self, cluster_id: str, step_id: str) -> dict[str, Any]:
        return self.emr.describe_step(ClusterId=cluster_id, StepId=step_id)["Step"]

    def terminate(self, cluster_id: str) -> None:
        self.emr.terminate_job_flows(JobFlowIds=[cluster_id])

    def managed_clusters(
        self, states: tuple[str, ...] | None = ACTIVE_CLUSTER_STATES, export_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Clusters carrying our managed tag (optionally for one export id), as DescribeCluster dicts.
        ListClusters has no tag filter, so each listed cluster is described for its tags."""
        kwargs: dict[str, Any] = {"ClusterStates": list(states)} if states else {}
        found = []
        for page in self.emr.get_paginator("list_clusters").paginate(**kwargs):
            for summary in page["Clusters"]:
                cluster = self.describe_cluster(summary["Id"])
                tags = tag_dict(cluster)
                if tags.get(MANAGED_TAG) == "true" and (export_id is None or tags.get(EXPORT_ID_TAG) == export_id):
                    found.append(cluster)
        return found

    # --- logs ------------------------------------------------------------------------------

    def log_exists(self, uri: str) -> bool:
        """Whether a log object is there yet, from a one-key listing: allowed by a ListBucket limited to
        the log prefix, where a GetObject of a missing key is refused (403) instead of answered 404."""
        loc = S3Uri.parse(uri, "log")
        found = self.s3.list_objects_v2(Bucket=loc.bucket, Prefix=loc.key, MaxKeys=1, **self.settings.read_args())
        return any(o["Key"] == loc.key for o in found.get("Contents", []))

    def read_log(self, uri: str, max_bytes: int = 4 << 20) -> str | None:
        """A (gzipped) log object's text, or None while it is not there (EMR uploads every ~5 min)."""
        loc = S3Uri.parse(uri, "log")
        try:
            body = self.s3.get_object(Bucket=loc.bucket, Key=loc.key, **self.settings.read_args())["Body"].read()
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NoSuchBucket", "AccessDenied"):
                return None
            raise
        if uri.endswith(".gz") or body[:2] == b"\x1f\x8b":
            try:
                body = gzip.decompress(body)
            except (OSError, EOFError, zlib.error):
                return None
        return body[-max_bytes:].decode("utf-8", "replace")


def tag_dict(cluster: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in cluster.get("Tags", [])}
