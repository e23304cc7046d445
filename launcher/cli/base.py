"""The `ddb-s3` group, its consoles and the flags of every command, made from the option models of
launcher/options.py, so flags, config file keys and DDB_S3_* variables always agree."""

from __future__ import annotations

import enum
import sys
import types
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic_core import PydanticUndefined

from launcher.core.errors import DdbS3Error
from launcher.options import Options, defaulted, flag

if typing.TYPE_CHECKING:
    from botocore.exceptions import BotoCoreError, ClientError
    from rich.console import Console


class _LazyConsole:
    """A rich Console made on first use: `--help` and a command's flags never import rich (nor boto3,
    Jinja2, pyspark...: every command imports what it runs, when it runs it)."""

    def __init__(self, **kwargs: Any) -> None:
        self._kwargs: dict[str, Any] = kwargs
        self._console: Console | None = None

    def get(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._kwargs)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)

    def __enter__(self) -> Console:  # dunders are looked up on the type, never through __getattr__
        return self.get().__enter__()

    def __exit__(self, *exc: Any) -> None:
        self.get().__exit__(*exc)


def real_console(console: Console) -> Console:
    """The rich Console itself, for what keeps it (a live display): never the lazy stand-in."""
    return console.get() if isinstance(console, _LazyConsole) else console


err: Console = typing.cast("Console", _LazyConsole(stderr=True, highlight=False, soft_wrap=True))
out: Console = typing.cast("Console", _LazyConsole(highlight=False, soft_wrap=True))

OptionsT = TypeVar("OptionsT", bound=Options)
F = TypeVar("F", bound=Callable[..., Any])


def say(msg: str) -> None:
    err.print(msg, markup=False)


def aws_error(e: BaseException) -> bool:
    """A botocore error (no region, no credentials, no endpoint, AWS refused). botocore is imported
    only by commands that call AWS: if it is not loaded, the error cannot be one of its."""
    if "botocore.exceptions" not in sys.modules:
        return False
    from botocore.exceptions import BotoCoreError, ClientError

    return isinstance(e, BotoCoreError | ClientError)


def setup_error(e: BaseException) -> bool:
    """No region or no credentials: the same for every table and command."""
    if "botocore.exceptions" not in sys.modules:
        return False
    from botocore.exceptions import NoCredentialsError, NoRegionError, PartialCredentialsError

    return isinstance(e, NoRegionError | NoCredentialsError | PartialCredentialsError)


def failure(e: DdbS3Error | BotoCoreError | ClientError) -> tuple[int, str]:
    """A command's failure as its exit code and one line saying what to do (README's exit codes)."""
    if isinstance(e, DdbS3Error):
        return e.exit_code, str(e)
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        ReadTimeoutError,
    )

    from launcher.aws.errors import describe

    if isinstance(e, ClientError):  # an AWS error no command turned into its own line
        return 1, f"AWS refused {e.operation_name}: {describe(e)}"
    if isinstance(e, NoRegionError):
        return 2, "no AWS region: pass --region, set AWS_DEFAULT_REGION, or give the profile a region"
    if isinstance(e, NoCredentialsError | PartialCredentialsError):
        return 2, "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run where a role is attached"
    if isinstance(e, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError):
        endpoint = getattr(e, "kwargs", {}).get("endpoint_url", "")
        return 1, f"could not reach {endpoint.split('?')[0] or 'AWS'}: check the network, the region, or the AWS_ENDPOINT_URL_* variables"
    return 1, f"AWS client error: {e}"


def print_table(rows: Sequence[Sequence[str]], right: tuple[int, ...] = ()) -> None:
    """Rows (the first is the header) in aligned columns on stdout; the columns in `right` (numbers)
    right-aligned."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        out.print(
            "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip(),
            markup=False,
        )


def _choices(ann: Any) -> list[str]:
    """The values a Literal (or an optional one, or an Enum) allows, in their order."""
    if typing.get_origin(ann) is typing.Literal:
        return [str(a) for a in typing.get_args(ann)]
    if isinstance(ann, type) and issubclass(ann, enum.Enum):
        return [str(m.value) for m in ann]
    return [c for a in typing.get_args(ann) if a is not type(None) for c in _choices(a)]


def _help(field: Any) -> str:
    if field.is_required():
        return f"{field.description}  [required]"  # click's own marks, as on the options click checks
    default = field.default
    if isinstance(default, bool):  # a flag pair: which of the two holds when neither is given
        return defaulted(field.description, "on" if default else "off")
    # None and "required" say nothing (the description says what happens without the option).
    return field.description if default is None or default is PydanticUndefined else defaulted(field.description, default)


def _value_type(ann: Any) -> Any:
    """The type a flag's text becomes: an optional's inner type, an Annotated's base (Seconds | None is float)."""
    base = [a for a in typing.get_args(ann) if a is not type(None)] if typing.get_origin(ann) in (typing.Union, types.UnionType) else [ann]
    inner = base[0] if len(base) == 1 else str
    return typing.get_args(inner)[0] if typing.get_origin(inner) is typing.Annotated else inner


def options(
    model: type[Options],
    *,
    json_flag: bool = True,
    multiple: dict[str, str] | None = None,
    narrowed: dict[str, tuple[str, str]] | None = None,
) -> Callable[[F], F]:
    """One click option per field of `model`, all defaulting to None so that lower layers (config
    file, environment, model defaults) show through and the model validates every value (one
    clear line, not click's); plus --config, --config-profile, --profile (AWS's) and --json. `multiple`: fields whose flag
    may be repeated (a tuple; the command makes one model per value), with their own help.
    `narrowed`: fields this command takes fewer values of, as (metavar, help) (render's --runner)."""

    def decorate(fn: F) -> F:
        for name, field in reversed(list(model.model_fields.items())):
            ann = field.annotation
            if multiple and name in multiple:
                opt = click.option(flag(name), name, multiple=True, help=multiple[name])
            elif ann is bool:
                opt = click.option(f"{flag(name)}/{flag('no_' + name)}", name, default=None, help=_help(field))
            else:
                kind = {int: int, float: float}.get(_value_type(ann), str)
                # choices shown, not validated here: the model says what is wrong, in one line
                metavar, text = (narrowed or {}).get(name) or ("|".join(_choices(ann)) or None, _help(field))
                opt = click.option(flag(name), name, type=kind, default=None, help=text, metavar=metavar)
            fn = opt(fn)
        if json_flag:
            fn = click.option("--json", "as_json", is_flag=True, help="print the result as JSON")(fn)
        fn = click.option(
            "--config",
            "config_path",
            type=click.Path(path_type=Path),
            default=None,
            help=defaulted("config file", "./ddb-s3.toml or $DDB_S3_CONFIG"),
        )(fn)
        fn = click.option("--config-profile", default=None, help="a [profiles.NAME] section of the config file")(fn)
        return aws_profile_option(fn)

    return decorate


def aws_profile_option(fn: F) -> F:
    """--profile: the AWS named profile (~/.aws/config), as every AWS tool has it."""
    return click.option("--profile", "aws_profile", default=None, help=defaulted("AWS named profile", "the standard boto3 chain"))(fn)


def use_aws_profile(name: str | None) -> None:
    """--profile given: every AWS session of the command uses that named profile."""
    if name:
        from launcher.aws.session import use_profile

        use_profile(name)


def build(model: type[OptionsT], kw: dict[str, Any]) -> OptionsT:
    """The command's options from its flags (kw, consumed) and the lower layers."""
    use_aws_profile(kw.pop("aws_profile", None))
    config_path = kw.pop("config_path", None)
    profile = kw.pop("config_profile", None)
    flags = {name: kw.pop(name) for name in list(kw) if name in model.model_fields}
    return model.build(flags, config_path=config_path, profile=profile)


@click.group()
@click.version_option(package_name="ddb-s3")
def cli() -> None:
    """Back a DynamoDB table up to S3 (Spark or Hive on EMR, or the native export), then verify,
    download and restore it."""
