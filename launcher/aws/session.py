"""boto3 sessions and clients: the standard credential chain, standard retries, and the endpoints
the user configured (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>, the config file's services
sections), which botocore resolves itself; we only read them back to carry them into Spark."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import InvalidRegionError

from launcher.core.errors import BadInput

RETRIES = Config(retries={"mode": "standard", "max_attempts": 10})


@dataclass
class Aws:
    region: str | None = None

    @cached_property
    def session(self) -> boto3.Session:
        return boto3.Session(region_name=self.region)

    def client(self, service: str) -> Any:
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
