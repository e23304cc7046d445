"""Every AWS call of the EMR Serverless runner: applications (create, describe, stop, delete, find
the one an interrupted create left), job runs (start, describe, cancel), and, through EmrHook's S3
half, the artifacts upload and a driver log's text. The workflow lives in export/run/emr_serverless.py,
the requests come from export/render/serverless.py (pure)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from launcher.aws.emr_hook import EmrHook
from launcher.aws.errors import describe
from launcher.aws.session import Aws
from launcher.core.errors import BadInput, DdbS3Error
from launcher.core.s3args import S3WriteSettings


class EmrServerlessHook(EmrHook):
    def __init__(self, aws: Aws | None = None, *, serverless: Any = None, s3: Any = None, settings: S3WriteSettings | None = None) -> None:
        super().__init__(aws, s3=s3, settings=settings)
        self._serverless = serverless

    @property
    def serverless(self) -> Any:
        if self._serverless is None:
            self._serverless = self.aws.client("emr-serverless")
        return self._serverless

    # --- applications ----------------------------------------------------------------------

    def create_application(self, request: dict[str, Any]) -> dict[str, Any]:
        """{applicationId, arn, name}"""
        try:
            return dict(self.serverless.create_application(**request))
        except ClientError as e:
            raise DdbS3Error(f"CreateApplication failed: {describe(e)}") from None

    def get_application(self, application_id: str) -> dict[str, Any]:
        try:
            return dict(self.serverless.get_application(applicationId=application_id)["application"])
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                raise BadInput(f"EMR Serverless application {application_id} not found in {self.serverless.meta.region_name}") from None
            raise DdbS3Error(f"GetApplication {application_id} failed: {describe(e)}") from None

    def stop_application(self, application_id: str) -> None:
        self.serverless.stop_application(applicationId=application_id)

    def delete_application(self, application_id: str) -> None:
        self.serverless.delete_application(applicationId=application_id)

    def applications_named(self, name: str) -> list[dict[str, Any]]:
        """Applications not yet deleted with this name (the cleanup after an interrupted CreateApplication)."""
        found = []
        states = ["CREATING", "CREATED", "STARTING", "STARTED", "STOPPING", "STOPPED"]
        for page in self.serverless.get_paginator("list_applications").paginate(states=states):
            found += [a for a in page["applications"] if a.get("name") == name]
        return found

    # --- job runs --------------------------------------------------------------------------

    def start_job_run(self, request: dict[str, Any]) -> str:
        try:
            return str(self.serverless.start_job_run(**request)["jobRunId"])
        except ClientError as e:
            raise DdbS3Error(f"StartJobRun on {request.get('applicationId')} failed: {describe(e)}") from None

    def get_job_run(self, application_id: str, job_run_id: str) -> dict[str, Any]:
        return dict(self.serverless.get_job_run(applicationId=application_id, jobRunId=job_run_id)["jobRun"])

    def cancel_job_run(self, application_id: str, job_run_id: str) -> None:
        self.serverless.cancel_job_run(applicationId=application_id, jobRunId=job_run_id)


def account_of(arn: str) -> str:
    """The account field of an ARN (an application's, which names the account the job runs in)."""
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else ""


def partition_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[1] if len(parts) > 1 and parts[1] else "aws"
