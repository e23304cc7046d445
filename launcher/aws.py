"""boto3 sessions and clients: the standard credential chain, standard retries, and the endpoints
the user configured (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>, the config file's services
sections), which botocore resolves itself; we only read them back to carry them into Spark."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import boto3
from botocore.config import Config
from botocore.exceptions import InvalidRegionError

from .errors import BadInput

RETRIES = Config(retries={"mode": "standard", "max_attempts": 10})


@dataclass
class Aws:
    region: str | None = None

    @cached_property
    def session(self) -> boto3.Session:
        return boto3.Session(region_name=self.region)

    def client(self, service: str):
        try:
            return self.session.client(service, config=RETRIES)
        except InvalidRegionError:
            raise BadInput(f"--region {self.region!r} is not a valid AWS region name (like eu-west-1)") from None

    @property
    def region_name(self) -> str:
        region = self.session.region_name
        if not region:
            raise BadInput("no AWS region: pass --region or set AWS_REGION / AWS_DEFAULT_REGION")
        return region

    def endpoint(self, service: str) -> str | None:
        """The endpoint botocore resolved from AWS_ENDPOINT_URL* / config, or None for AWS's own."""
        client = self.client(service)
        url = client.meta.endpoint_url
        return url if _is_custom(url) else None


def _is_custom(url: str) -> bool:
    return not url.rstrip("/").endswith(".amazonaws.com") and not url.rstrip("/").endswith(".amazonaws.com.cn")


@dataclass(frozen=True)
class S3WriteSettings:
    """What every S3 call carries: ExpectedBucketOwner, and SSE on every object written."""

    expected_bucket_owner: str | None = None
    sse: str | None = None
    sse_kms_key_id: str | None = None

    def read_args(self) -> dict:
        return {"ExpectedBucketOwner": self.expected_bucket_owner} if self.expected_bucket_owner else {}

    def write_args(self) -> dict:
        args = self.read_args()
        if self.sse:
            args["ServerSideEncryption"] = self.sse
        if self.sse_kms_key_id:
            args["SSEKMSKeyId"] = self.sse_kms_key_id
        return args
