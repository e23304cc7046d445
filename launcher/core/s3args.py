"""The one builder of what every S3 call carries: ExpectedBucketOwner on every call, and SSE on
every object written. Shipped to Spark: the job builds its arguments from the plan's settings."""

from __future__ import annotations

from dataclasses import dataclass

# ExportTableToPointInTime names the SSE algorithms its own way.
_EXPORT_SSE = {"AES256": "AES256", "aws:kms": "KMS"}


@dataclass(frozen=True)
class S3WriteSettings:
    expected_bucket_owner: str | None = None
    sse: str | None = None
    sse_kms_key_id: str | None = None

    def read_args(self) -> dict[str, str]:
        """For calls that read, list, delete or finish an upload."""
        return {"ExpectedBucketOwner": self.expected_bucket_owner} if self.expected_bucket_owner else {}

    def write_args(self) -> dict[str, str]:
        """For calls that create an object (PutObject, CreateMultipartUpload)."""
        args = self.read_args()
        if self.sse:
            args["ServerSideEncryption"] = self.sse
        if self.sse_kms_key_id:
            args["SSEKMSKeyId"] = self.sse_kms_key_id
        return args

    def export_args(self) -> dict[str, str]:
        """The same settings in DynamoDB ExportTableToPointInTime's names."""
        args: dict[str, str] = {}
        if self.expected_bucket_owner:
            args["S3BucketOwner"] = self.expected_bucket_owner
        if self.sse:
            args["S3SseAlgorithm"] = _EXPORT_SSE[self.sse]
        if self.sse_kms_key_id:
            args["S3SseKmsKeyId"] = self.sse_kms_key_id
        return args
