"""Every AWS call of the Glue runner: the job (create, update, get, delete), its run (start,
describe, stop), the driver's stderr from CloudWatch Logs; and, composed (`hook.artifacts`,
`hook.logs`), the artifacts upload and S3 log reads. Every AWS error leaves it as one line
(aws/errors.translated). The workflow lives in export/run/glue.py; the requests come from
export/render/glue.py (pure). (aws/glue.py is the Data Catalog side: tables for Athena.)"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from launcher.aws.artifacts import ArtifactStore
from launcher.aws.errors import error_code, translated
from launcher.aws.logs import S3Logs
from launcher.aws.session import Aws
from launcher.core.s3args import S3WriteSettings

NOT_FOUND = ("EntityNotFoundException",)


class GlueJobHook:
    def __init__(
        self,
        aws: Aws | None = None,
        *,
        glue: Any = None,
        cloudwatch: Any = None,
        s3: Any = None,
        settings: S3WriteSettings | None = None,
        artifacts: ArtifactStore | None = None,
        logs: S3Logs | None = None,
    ) -> None:
        """`cloudwatch`: a CloudWatch Logs client (the driver's output); `s3`: an S3 client for the
        default artifact store and log reader (else the Aws's)."""
        self.aws = aws or Aws()
        self._glue, self._cloudwatch = glue, cloudwatch
        self.settings = settings or S3WriteSettings()
        self.artifacts = artifacts or ArtifactStore(s3 if s3 is not None else self.aws, self.settings)
        self.logs = logs or S3Logs(s3 if s3 is not None else self.aws, self.settings)

    @property
    def glue(self) -> Any:
        if self._glue is None:
            self._glue = self.aws.client("glue")
        return self._glue

    @property
    def cloudwatch(self) -> Any:
        if self._cloudwatch is None:
            self._cloudwatch = self.aws.client("logs")
        return self._cloudwatch

    # --- the job and its runs --------------------------------------------------------------

    def create_job(self, request: dict[str, Any]) -> str:
        with translated(f"CreateJob {request.get('Name')}"):
            return str(self.glue.create_job(**request)["Name"])

    def get_job(self, name: str) -> dict[str, Any]:
        missing = f"Glue job {name!r} not found in {self.glue.meta.region_name}"
        with translated(f"GetJob {name}", bad_input=NOT_FOUND, messages=dict.fromkeys(NOT_FOUND, missing)):
            return dict(self.glue.get_job(JobName=name)["Job"])

    def update_job(self, request: dict[str, Any]) -> None:
        with translated(f"UpdateJob {request.get('JobName')}"):
            self.glue.update_job(**request)

    def delete_job(self, name: str) -> None:
        with translated(f"DeleteJob {name}"):
            self.glue.delete_job(JobName=name)

    def start_job_run(self, request: dict[str, Any]) -> str:
        with translated(f"StartJobRun of {request.get('JobName')}"):
            return str(self.glue.start_job_run(**request)["JobRunId"])

    def get_job_run(self, name: str, run_id: str) -> dict[str, Any]:
        with translated(f"GetJobRun {run_id} of {name}", bad_input=NOT_FOUND):
            return dict(self.glue.get_job_run(JobName=name, RunId=run_id, PredecessorsIncluded=False)["JobRun"])

    def stop_job_run(self, name: str, run_id: str) -> None:
        with translated(f"BatchStopJobRun {run_id} of {name}"):
            self.glue.batch_stop_job_run(JobName=name, JobRunIds=[run_id])

    def log_lines(self, group: str, stream: str, limit: int = 200) -> list[str] | None:
        """The last `limit` messages of a CloudWatch log stream, oldest first; None while it does not exist."""
        with translated(f"GetLogEvents {group} {stream}"):
            try:
                found = self.cloudwatch.get_log_events(logGroupName=group, logStreamName=stream, limit=limit, startFromHead=False)
            except ClientError as e:
                if error_code(e) == "ResourceNotFoundException":
                    return None
                raise
        return [str(e["message"]).rstrip("\n") for e in found["events"]]
