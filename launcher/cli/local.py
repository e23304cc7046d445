"""`ddb-s3 local up | down`: the local stack (dynalite, moto's S3, the local EMR) for your own use.

eval "$(ddb-s3 local up --detach)"     # start it in the background, point this shell at it
ddb-s3 export --table T --to s3://b/p --runner emr
ddb-s3 local down
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import click

from launcher.cli.base import cli, out, say
from launcher.core.errors import BadInput, DdbS3Error
from launcher.core.paths import LOCAL_STACK_DIR_ENV, user_cache
from launcher.core.wait import WaitTimeout, poll_until


def state_dir() -> Path:
    """Where the detached stack keeps its pid file and log: $DDB_S3_LOCAL_DIR or the XDG cache."""
    return user_cache("local", LOCAL_STACK_DIR_ENV)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@cli.group()
def local() -> None:
    """The local stack: DynamoDB (dynalite), S3 (moto) and a local EMR that runs steps."""


@local.command()
@click.option("--detach", is_flag=True, help="run in the background: print the export lines, write a pid file, return")
@click.option("--timeout", type=float, default=90.0, show_default=True, help="seconds to wait for a detached stack")
@click.option(
    "--sample",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="with --detach: create the README's table LabResults with this many items, and its bucket lab-backups",
)
def up(detach: bool, timeout: float, sample: int) -> None:
    """Start the stack and print `export AWS_ENDPOINT_URL_...=` lines for your shell."""
    from launcher.dev.localstack import serve

    if sample and not detach:
        raise BadInput("--sample needs --detach (a foreground stack holds this shell until Ctrl-C)")
    if not detach:
        sys.exit(serve())
    folder = state_dir()
    folder.mkdir(parents=True, exist_ok=True)
    pid_file, env_file, log_file = folder / "pid", folder / "env", folder / "log"
    if pid_file.exists() and _alive(int(pid_file.read_text())):
        raise DdbS3Error(
            f"a local stack is already running (pid {pid_file.read_text().strip()}): "
            f"`ddb-s3 local down` stops it; its variables are in {env_file}"
        )
    env_file.unlink(missing_ok=True)
    with open(env_file, "w") as env_out, open(log_file, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "launcher.dev.localstack", "up"],
            stdout=env_out,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    pid_file.write_text(str(proc.pid))
    with contextlib.suppress(WaitTimeout):  # until the stack has written its last variable, or has died
        poll_until(lambda: "AWS_ENDPOINT_URL_EMR" in env_file.read_text() or proc.poll() is not None, bool, every=0.2, timeout=timeout)
    if "AWS_ENDPOINT_URL_EMR" not in env_file.read_text():
        if proc.poll() is None:
            proc.kill()
        pid_file.unlink(missing_ok=True)
        tail = log_file.read_text().strip().splitlines()[-1:] or ["no output"]
        raise DdbS3Error(f"the local stack did not start: {tail[0]} (log: {log_file})")
    out.print(env_file.read_text(), markup=False, end="")
    say(f"# local stack running in the background (pid {proc.pid}); `ddb-s3 local down` stops it")
    if sample:
        from launcher.dev.sample_data import seed_readme_examples

        table, bucket = seed_readme_examples(_variables(env_file.read_text()), sample)
        say(f"# table {table} ({sample:,} items) and bucket {bucket} are there for the README's examples")


def _variables(export_lines: str) -> dict[str, str]:
    """The `export K=V` lines the stack printed, as a mapping."""
    import shlex

    pairs = (shlex.split(line.removeprefix("export "))[0].split("=", 1) for line in export_lines.splitlines() if line.startswith("export "))
    return {k: v for k, v in pairs}  # noqa: C416 - typed pairs, not a dict() of lists


@local.command()
def down() -> None:
    """Stop the stack that `local up --detach` started."""
    pid_file = state_dir() / "pid"
    if not pid_file.exists():
        say("no local stack is running")
        return
    pid = int(pid_file.read_text())
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
        try:
            poll_until(lambda: _alive(pid), lambda alive: not alive, every=0.2, timeout=20)
        except WaitTimeout:
            os.killpg(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    (state_dir() / "env").unlink(missing_ok=True)  # its variables point at servers that are gone (the log stays)
    say(f"local stack stopped (pid {pid})")
