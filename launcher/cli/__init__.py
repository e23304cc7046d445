"""The `ddb-s3` console script. The command and its families load in app.py, after the interrupt
handler is in place: Ctrl-C while they load (click, pydantic: a few tenths of a second) ends in one
line and exit 130, as it does once the command runs."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["cli", "main"]


def main(argv: list[str] | None = None) -> None:
    try:
        from launcher.cli.app import main as run
    except KeyboardInterrupt:
        sys.stderr.write("ddb-s3: interrupted\n")
        sys.exit(130)
    run(argv)


def __getattr__(name: str) -> Any:  # `from launcher.cli import cli`: the click group, loaded on first use
    if name == "cli":
        from launcher.cli.app import cli

        return cli
    raise AttributeError(name)
