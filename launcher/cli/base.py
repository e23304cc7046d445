"""The `ddb-s3` command. Export options come from one table, ExportRequest's fields, so flags,
config file keys and DDB_S3_* variables always agree. Failures print one line and exit non-zero."""
from __future__ import annotations

import json
import sys
import typing
from pathlib import Path
from typing import Any, Callable

import click
from rich.console import Console

from launcher.core.errors import DdbS3Error
from launcher.export.request import ExportRequest, build_request

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def request_options(fn: Callable) -> Callable:
    """One click option per ExportRequest field, all defaulting to None so that lower layers
    (config file, environment, model defaults) show through."""
    for name, field in reversed(list(ExportRequest.model_fields.items())):
        ann = field.annotation
        if ann is bool:
            opt = click.option(f"{_flag(name)}/--no-{name.replace('_', '-')}", name, default=None, help=field.description)
        else:
            base = [a for a in typing.get_args(ann) if a is not type(None)] or [ann]
            kind = {int: int, float: float}.get(base[0], str)
            # Values are validated by the model (one clear line), not by click.
            opt = click.option(_flag(name), name, type=kind, default=None, help=field.description)
        fn = opt(fn)
    fn = click.option("--config", "config_path", type=click.Path(path_type=Path), default=None,
                      help="config file (default ./ddb-s3.toml or $DDB_S3_CONFIG)")(fn)
    fn = click.option("--profile", default=None, help="profile section of the config file")(fn)
    return fn


def _request(kw: dict[str, Any]) -> ExportRequest:
    config_path = kw.pop("config_path", None)
    profile = kw.pop("profile", None)
    return build_request(kw, config_path=config_path, profile=profile)


def location_options(fn: Callable) -> Callable:
    """The options of every command that reads an export: where it is, who owns the bucket, --json."""
    fn = click.option("--json", "as_json", is_flag=True, help="print the result as JSON")(fn)
    fn = click.option("--expected-bucket-owner", default=None, help="account id that must own the bucket")(fn)
    return click.option("--region", default=None, help="AWS region (default: the standard boto3 chain)")(fn)


def say(msg: str) -> None:
    err.print(msg, markup=False)


@click.group()
@click.version_option(package_name="ddb-s3")
def cli() -> None:
    """Back a DynamoDB table up to S3 (Spark or Hive on EMR, or the native export), then verify,
    download and restore it."""
