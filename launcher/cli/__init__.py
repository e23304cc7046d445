"""The `ddb-s3` command: the group and shared options in base.py, one module per command family.
Failures print one line and exit non-zero."""

from __future__ import annotations

import signal
import sys

import click
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from launcher.aws.errors import describe
from launcher.cli import backup, clusters, export, exports, iam, local  # noqa: F401  (each adds its commands to the group)
from launcher.cli.base import cli, say
from launcher.core.errors import DdbS3Error

__all__ = ["cli", "main"]


def aws_problem(e: BotoCoreError) -> str:
    """One line for botocore's own failures, saying what to do."""
    if isinstance(e, NoRegionError):
        return "no AWS region: pass --region, set AWS_DEFAULT_REGION, or give the profile a region"
    if isinstance(e, NoCredentialsError | PartialCredentialsError):
        return "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run where a role is attached"
    if isinstance(e, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError):
        endpoint = getattr(e, "kwargs", {}).get("endpoint_url", "")
        return f"could not reach {endpoint.split('?')[0] or 'AWS'}: check the network, the region, or the AWS_ENDPOINT_URL_* variables"
    return f"AWS client error: {e}"


def main(argv: list[str] | None = None) -> None:
    # Started from a background job or by a scheduler, the process may inherit SIGINT ignored; an
    # interrupt must still unwind and tear down what the run started (SIGTERM is the runner's own).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        cli.main(args=argv, prog_name="ddb-s3", standalone_mode=False)
    except click.exceptions.Abort:
        say("ddb-s3: interrupted")
        sys.exit(130)
    except click.UsageError as e:
        say(f"ddb-s3: {e.format_message()}")
        sys.exit(2)
    except DdbS3Error as e:
        say(f"ddb-s3: {e}")
        sys.exit(e.exit_code)
    except BotoCoreError as e:  # no region, no credentials, an endpoint that does not answer
        say(f"ddb-s3: {aws_problem(e)}")
        sys.exit(2 if isinstance(e, NoRegionError | NoCredentialsError | PartialCredentialsError) else 1)  # 2: set-up, as bad input
    except ClientError as e:  # an AWS error no command turned into its own line
        say(f"ddb-s3: AWS refused {e.operation_name}: {describe(e)}")
        sys.exit(1)
    except KeyboardInterrupt:
        say("ddb-s3: interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
