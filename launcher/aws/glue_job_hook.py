"""Every AWS call of the Glue runner: the job (create, update, get, delete), its run (start,
describe, stop), the driver's stderr from CloudWatch Logs, and, through EmrHook's S3 half, the
artifacts upload. The workflow lives in export/run/glue.py; the requests come from
export/render/glue.py (pure). (aws/glue.py is the Data Catalog side: tables for Athena.)"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from launcher.aws.emr_hook import EmrHook
from launcher.aws.errors import describe
from launcher.aws.session import Aws
from launcher.core.errors import BadInput, DdbS3Error
from launcher.core.s3args import S3WriteSettings


class GlueJobHook(EmrHook):
    def __init__(
        self, aws: Aws | None = None, *, glue: Any = None, logs: Any = None, s3: Any = None, settings: S3WriteSettings | None = None
    ) -> None:
        super().__init__(aws, s3=s3, settings=settings)
        self._glue, self._logs = glue, logs

    @property
    def glue(self) -> Any:
        if self._glue is None:
            self._glue = self.aws.client("glue")
        return self._glue

    @property
    def logs(self) -> Any:
        if self._logs is None:
            self._logs = self.aws.client("logs")
        return self._logs

    def create_job(self, request: dict[str, Any]) -> str:
        try:
            return str(self.glue.create_job(**request)["Name"])
        except ClientError as e:
            raise DdbS3Error(f"CreateJob {request.get('Name')} failed: {describe(e)}") from None

    def get_job(self, name: str) -> dict[str, Any]:
        try:
            return dict(self.glue.get_job(JobName=name)["Job"])
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "EntityNotFoundException":
                raise BadInput(f"Glue job {name!r} not found in {self.glue.meta.region_name}") from None
            raise DdbS3Error(f"GetJob {name} failed: {describe(e)}") from None

    def update_job(self, request: dict[str, Any]) -> None:
        try:
            self.glue.update_job(**request)
        except ClientError as e:
            raise DdbS3Error(f"UpdateJob {request.get('JobName')} failed: {describe(e)}") from None

    def delete_job(self, name: str) -> None:
        self.glue.delete_job(JobName=name)

    def start_job_run(self, request: dict[str, Any]) -> str:
        try:
            return str(self.glue.start_job_run(**request)["JobRunId"])
        except ClientError as e:
            raise DdbS3Error(f"StartJobRun of {request.get('JobName')} failed: {describe(e)}") from None

    def get_job_run(self, name: str, run_id: str) -> dict[str, Any]:
        return dict(self.glue.get_job_run(JobName=name, RunId=run_id, PredecessorsIncluded=False)["JobRun"])

    def stop_job_run(self, name: str, run_id: str) -> None:
        self.glue.batch_stop_job_run(JobName=name, JobRunIds=[run_id])

    def log_lines(self, group: str, stream: str, limit: int = 200) -> list[str] | None:
        """The last `limit` messages of a log stream, oldest first; None while it does not exist."""
        try:
            events = self.logs.get_log_events(logGroupName=group, logStreamName=stream, limit=limit, startFromHead=False)["events"]
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise
        return [str(e["message"]).rstrip("\n") for e in events]
