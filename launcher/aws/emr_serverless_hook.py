"""Every AWS call of the EMR Serverless runner: applications (create, describe, stop, delete, find
the one an interrupted create left), job runs (start, describe, cancel); and, composed
(`hook.artifacts`, `hook.logs`), the artifacts upload and a driver log's text. Every AWS error leaves
it as one line (aws/errors.translated). The workflow lives in export/run/emr_serverless.py, the
requests come from export/render/serverless.py (pure)."""

from __future__ import annotations

from typing import Any

from launcher.aws.artifacts import ArtifactStore
from launcher.aws.errors import translated
from launcher.aws.logs import S3Logs
from launcher.aws.session import Aws
from launcher.core.s3args import S3WriteSettings

NOT_FOUND = ("ResourceNotFoundException",)


class EmrServerlessHook:
    def __init__(
        self,
        aws: Aws | None = None,
        *,
        serverless: Any = None,
        s3: Any = None,
        settings: S3WriteSettings | None = None,
        artifacts: ArtifactStore | None = None,
        logs: S3Logs | None = None,
    ) -> None:
        """`s3`: an S3 client for the default artifact store and log reader (else the Aws's)."""
        self.aws = aws or Aws()
        self._serverless = serverless
        self.settings = settings or S3WriteSettings()
        self.artifacts = artifacts or ArtifactStore(s3 if s3 is not None else self.aws, self.settings)
        self.logs = logs or S3Logs(s3 if s3 is not None else self.aws, self.settings)

    @property
    def serverless(self) -> Any:
        if self._serverless is None:
            self._serverless = self.aws.client("emr-serverless")
        return self._serverless

    # --- applications ----------------------------------------------------------------------

    def create_application(self, request: dict[str, Any]) -> dict[str, Any]:
        """{applicationId, arn, name}"""
        with translated("CreateApplication"):
            return dict(self.serverless.create_application(**request))

    def get_application(self, application_id: str) -> dict[str, Any]:
        missing = f"EMR Serverless application {application_id} not found in {self.serverless.meta.region_name}"
        with translated(f"GetApplication {application_id}", bad_input=NOT_FOUND, messages=dict.fromkeys(NOT_FOUND, missing)):
            return dict(self.serverless.get_application(applicationId=application_id)["application"])

    def stop_application(self, application_id: str) -> None:
        with translated(f"StopApplication {application_id}"):
            self.serverless.stop_application(applicationId=application_id)

    def delete_application(self, application_id: str) -> None:
        with translated(f"DeleteApplication {application_id}"):
            self.serverless.delete_application(applicationId=application_id)

    def applications_named(self, name: str) -> list[dict[str, Any]]:
        """Applications not yet deleted with this name (the cleanup after an interrupted CreateApplication)."""
        found = []
        states = ["CREATING", "CREATED", "STARTING", "STARTED", "STOPPING", "STOPPED"]
        with translated("ListApplications"):
            for page in self.serverless.get_paginator("list_applications").paginate(states=states):
                found += [a for a in page["applications"] if a.get("name") == name]
        return found

    # --- job runs --------------------------------------------------------------------------

    def start_job_run(self, request: dict[str, Any]) -> str:
        with translated(f"StartJobRun on {request.get('applicationId')}"):
            return str(self.serverless.start_job_run(**request)["jobRunId"])

    def get_job_run(self, application_id: str, job_run_id: str) -> dict[str, Any]:
        with translated(f"GetJobRun {job_run_id} on {application_id}", bad_input=NOT_FOUND):
            return dict(self.serverless.get_job_run(applicationId=application_id, jobRunId=job_run_id)["jobRun"])

    def cancel_job_run(self, application_id: str, job_run_id: str) -> None:
        with translated(f"CancelJobRun {job_run_id} on {application_id}"):
            self.serverless.cancel_job_run(applicationId=application_id, jobRunId=job_run_id)


def account_of(arn: str) -> str:
    """The account field of an ARN (an application's, which names the account the job runs in)."""
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else ""


def partition_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[1] if len(parts) > 1 and parts[1] else "aws"
