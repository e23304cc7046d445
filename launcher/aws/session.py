"""boto3 sessions and clients: the standard credential chain, standard retries, and the endpoints
the user configured (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>, the config file's services
sections), which botocore resolves itself; we only read them back to carry them into Spark."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import boto3
from botocore.config import Config
from botocore.exceptions import InvalidRegionError, ProfileNotFound

from launcher.aws import contracts
from launcher.core.errors import BadInput

# Four attempts (backoff of at most 2, 4 and 8 s between them) and a 5 s connect timeout: throttling
# and a dropped connection are retried, an endpoint that does not answer is named within seconds.
# Restore's writers and the Spark job have clients of their own with their own retry budgets.
RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 4}, connect_timeout=5)


def use_profile(name: str) -> None:
    """`--profile NAME`: the AWS named profile, as the AWS CLI's --profile, for every session of this
    process without explicit credentials (an explicit profile wins over AWS_ACCESS_KEY_ID in botocore's
    chain), and AWS_PROFILE for the processes it starts (the local Spark job). BadInput when neither
    ~/.aws/config nor ~/.aws/credentials has it."""
    try:
        boto3.Session(profile_name=name)
    except ProfileNotFound:
        raise BadInput(
            f"AWS profile {name!r} not found in ~/.aws/config or ~/.aws/credentials: check --profile"
            " (`aws configure list-profiles` lists them; the config file's sections are --config-profile)"
        ) from None
    Aws.named_profile = name
    os.environ["AWS_PROFILE"] = name


@dataclass
class Aws:
    region: str | None = None
    # Explicit boto3.Session arguments (aws_access_key_id, aws_secret_access_key, aws_session_token,
    # profile_name), e.g. from an Airflow connection; None: the standard chain. Never shown in repr.
    credentials: dict[str, str] | None = field(default=None, repr=False)
    # Explicit endpoints by service name ("*": every service); otherwise botocore resolves them.
    endpoint_urls: dict[str, str] = field(default_factory=dict)
    named_profile: ClassVar[str | None] = None  # `--profile NAME`, set once per process by use_profile

    @cached_property
    def session(self) -> boto3.Session:
        credentials = self.credentials or ({"profile_name": self.named_profile} if self.named_profile else {})
        if self.endpoint_urls:
            session = _EndpointSession(self.endpoint_urls, region_name=self.region, **credentials)
        else:
            session = boto3.Session(region_name=self.region, **credentials)
        if contracts.enabled():  # the local stack: refuse what AWS refuses (launcher/aws/contracts.py)
            contracts.install(session)
        return session

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


class _EndpointSession(boto3.Session):
    """A boto3 Session whose clients default to explicit endpoints (so code handed `aws.session`
    reaches them too)."""

    def __init__(self, endpoint_urls: dict[str, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._endpoint_urls = endpoint_urls

    def client(self, service_name: str, *args: Any, **kwargs: Any) -> Any:
        url = self._endpoint_urls.get(service_name) or self._endpoint_urls.get("*")
        if url and not args and kwargs.get("endpoint_url") is None:
            kwargs["endpoint_url"] = url
        return super().client(service_name, *args, **kwargs)


def _is_custom(url: str) -> bool:
    return not url.rstrip("/").endswith(".amazonaws.com") and not url.rstrip("/").endswith(".amazonaws.com.cn")
