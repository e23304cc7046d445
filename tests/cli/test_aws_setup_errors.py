"""A machine without AWS set up gets one line saying what to set, exit 2, no traceback (issue 15).
Run as a user would: the real CLI in a subprocess, with the variables removed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
DDB_S3 = str(Path(sys.executable).parent / "ddb-s3")
AWS_VARS = ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in AWS_VARS and not k.startswith("AWS_ENDPOINT_URL")}
    clean.update(
        AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), AWS_EC2_METADATA_DISABLED="true"
    )
    clean.update(env)
    return subprocess.run([DDB_S3, *args], capture_output=True, text=True, timeout=60, env=clean, cwd=tmp_path)


@pytest.mark.parametrize(
    "command",
    [
        ["export", "--table", "LabResults", "--to", "s3://lab-backups/x"],
        ["restore", "s3://lab-backups/x/AWSDynamoDB/01700000000000-0badcafe/", "--table", "T1x"],
    ],
)
def test_no_region(command, tmp_path):
    proc = run(command, tmp_path, AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="y")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("ddb-s3: no AWS region"), proc.stderr


def test_no_credentials(tmp_path):
    proc = run(["verify", "s3://lab-backups/x/AWSDynamoDB/01700000000000-0badcafe/"], tmp_path, AWS_DEFAULT_REGION="eu-west-1")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "ddb-s3: no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run where a role is attached"
    ]


def test_an_endpoint_that_does_not_answer_is_named_within_seconds(tmp_path):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = run(
        ["verify", "s3://lab-backups/x/AWSDynamoDB/01700000000000-0badcafe/"],
        tmp_path,
        AWS_DEFAULT_REGION="eu-west-1",
        AWS_ACCESS_KEY_ID="x",
        AWS_SECRET_ACCESS_KEY="y",
        AWS_ENDPOINT_URL_S3=f"http://127.0.0.1:{port}",
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"ddb-s3: could not reach http://127.0.0.1:{port}/lab-backups: check the network, the region, or the AWS_ENDPOINT_URL_* variables"
    ]
    # bounded: four attempts and a 5 s connect timeout (not ten attempts, ~30 s of silent backoff)
    from launcher.aws.session import Aws

    config = Aws("eu-west-1").client("s3").meta.config
    assert config.retries["total_max_attempts"] == 4 and config.connect_timeout == 5


def test_profile_is_the_aws_named_profile(tmp_path):
    """--profile NAME is AWS's named profile, as in every AWS tool (issue 24.6): its region is used
    (the run gets past the region and stops at the credentials the profile lacks); an unknown
    profile is one line; the config file's sections are --config-profile."""
    (tmp_path / "aws-config").write_text("[profile lab]\nregion = eu-north-1\n")
    export = ["export", "--table", "LabResults", "--to", "s3://lab-backups/x"]
    with_profile = run([*export, "--profile", "lab"], tmp_path, AWS_CONFIG_FILE=str(tmp_path / "aws-config"))
    assert with_profile.returncode == 2, with_profile.stderr
    assert with_profile.stderr.strip().splitlines()[-1].startswith("ddb-s3: no AWS credentials found"), with_profile.stderr
    without = run(export, tmp_path, AWS_CONFIG_FILE=str(tmp_path / "aws-config"))
    assert without.stderr.strip().splitlines()[-1].startswith("ddb-s3: no AWS region"), without.stderr
    unknown = run([*export, "--profile", "prod"], tmp_path, AWS_CONFIG_FILE=str(tmp_path / "aws-config"))
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr, unknown.stderr
    assert unknown.stderr.strip().splitlines() == [
        (
            "ddb-s3: AWS profile 'prod' not found in ~/.aws/config or ~/.aws/credentials: check --profile"
            " (`aws configure list-profiles` lists them; the config file's sections are --config-profile)"
        )
    ]
