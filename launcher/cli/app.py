"""The `ddb-s3` command with every command family attached (the group and shared options in base.py,
one module per family). Failures print one line and exit non-zero."""

from __future__ import annotations

import signal
import sys

import click

from launcher.cli import backup, clusters, doctor, export, exports, iam, local  # noqa: F401  (each adds its commands to the group)
from launcher.cli.base import aws_error, cli, failure, say
from launcher.core.errors import DdbS3Error

__all__ = ["cli", "main"]


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
    except Exception as e:  # ours; no region, no credentials, no endpoint; AWS refused
        if not isinstance(e, DdbS3Error) and not aws_error(e):
            raise
        code, line = failure(e)
        say(f"ddb-s3: {line}")
        sys.exit(code)
    except KeyboardInterrupt:
        say("ddb-s3: interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
