"""`ddb-s3 iam-policy`: print the least-privilege IAM policy the chosen runner needs (JSON)."""

from __future__ import annotations

import json
from typing import Any

import click

from launcher.aws.iam_policies import RUNNERS, policies
from launcher.cli.base import cli, out
from launcher.options import defaulted


@cli.command("iam-policy")
@click.option("--runner", required=True, metavar="|".join(RUNNERS), help="whose policy: a runner, engine native, or restore")
@click.option("--table", required=True, help="DynamoDB table name")
@click.option("--bucket", required=True, help="S3 bucket of the export (a name, not a URI)")
@click.option("--prefix", default="", help="key prefix of the export (as in --to s3://bucket/prefix)")
@click.option("--region", default=None, help=defaulted("AWS region", "any region, '*'"))
@click.option("--account", default=None, help=defaulted("12-digit account id", "any account, '*'"))
@click.option("--kms-key-arn", default=None, help="KMS key used with --sse aws:kms")
@click.option("--service-role", default="EMR_DefaultRole", help="EMR service role, a name or ARN (runner emr; a name is taken at path /)")
@click.option("--instance-role", default="EMR_EC2_DefaultRole", help="role of the EC2 instance profile, a name or ARN (runner emr)")
@click.option(
    "--instance-profile", default=None, help="the EC2 instance profile, a name or ARN (runner emr; default: named as --instance-role)"
)
@click.option(
    "--job-role", default=None, help="the job's role, a name or ARN (emr-serverless: ddb-s3-serverless-job; glue: ddb-s3-glue-job)"
)
@click.option("--glue-job", default=None, help="an existing Glue job the export updates and runs (runner glue, --glue-job)")
@click.option("--artifacts-prefix", default=None, help="key prefix of uploaded artifacts (runners emr, emr-serverless)")
@click.option("--log-prefix", default=None, help="key prefix of EMR logs in the same bucket (runners emr, emr-serverless)")
@click.option("--as-of", is_flag=True, help="export --as-of / --incremental-since: also read the table's stream")
@click.option(
    "--for",
    "purpose",
    type=click.Choice(["run", "doctor"]),
    default="run",
    help="run: what the runner needs; doctor: what `ddb-s3 doctor --runner R` calls (read-only)",
)
def iam_policy(runner: str, **kw: Any) -> None:
    """Print the IAM policy document(s) for RUNNER: {"local": {...}}; for emr
    {"launcher": {...}, "instance_role": {...}}; for emr-serverless {"launcher": {...}, "job_role": {...}}; the same two for glue. With --for doctor: {"doctor": {...}}."""
    docs = policies(runner, **kw)
    out.print(json.dumps(docs, indent=2), markup=False)


__all__ = ["RUNNERS", "iam_policy"]
