"""Start and stop the local stack: dynalite (DynamoDB, and DynamoDB Streams through dynalite_streams.js) and
moto in server mode (S3, EMR, Glue, STS).

Both are real servers on free loopback ports, started by the project itself (see DESIGN.md,
"Local stack"). Pointing anything at them is nothing but the AWS_ENDPOINT_URL_<SERVICE> variables
returned by `LocalStack.env()`.

    with LocalStack.start() as stack:
        os.environ.update(stack.env())

CLI (for `make demo` and scripts):
    python -m launcher.dev.localstack up      # print `export ...` lines, run until SIGINT/SIGTERM
    python -m launcher.dev.localstack check   # start, health-check, stop; exit 0/1 with one line
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import boto3
from botocore.config import Config

from launcher.aws import contracts
from launcher.core.procs import die_with_parent

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"  # loopback only: the local stack must never be reachable from the network
REGION = "us-east-1"
# Fake, alphanumeric credentials: always set for the local stack so it can never touch a real account.
FAKE_KEY_ID = "testing"
FAKE_SECRET = "testing"
# Real-account settings that would otherwise leak into clients pointed at the local stack
# (a session token paired with the fake keys, a profile that may not exist here).
CLEARED_VARS = ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")
MOTO_SERVICES = ("S3", "EMR", "EMR_SERVERLESS", "GLUE", "CLOUDWATCH_LOGS", "STS", "IAM", "EC2", "SERVICE_QUOTAS")  # moto, one port
LOCAL_EMR_SERVICES = ("EMR", "EMR_SERVERLESS", "GLUE", "CLOUDWATCH_LOGS")  # served by the local EMR once it runs

STOP_GRACE_S = 5.0
STREAM_ROLLOVER_ENV = "DDB_S3_LOCAL_STREAM_ROLLOVER_S"  # launcher/dev/dynalite_streams.js
TRY_OUT_ROLLOVER_S = 10.0
TAIL_LINES = 20


class LocalStackError(RuntimeError):
    """The local stack could not start; the first line of the message says why."""


def free_port() -> int:
    """A free loopback port, found by binding port 0 (the server rebinds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _probe_client(service: str, endpoint: str) -> Any:
    # One attempt, short timeouts: the caller polls, botocore's retries would only slow it down.
    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=FAKE_KEY_ID,
        aws_secret_access_key=FAKE_SECRET,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=1, read_timeout=3),
    )


@dataclass
class _Server:
    name: str
    cmd: list[str]
    endpoint: str
    proc: subprocess.Popen[bytes]
    log: IO[bytes]  # stdout+stderr in an unnamed temp file: a pipe could fill up and block the server

    def tail(self, n: int = TAIL_LINES) -> str:
        try:
            self.log.flush()
            size = self.log.seek(0, os.SEEK_END)
            self.log.seek(max(0, size - 16384))
            lines = self.log.read().decode("utf-8", "replace").splitlines()
        except (OSError, ValueError):
            return "(output unavailable)"
        return "\n".join(lines[-n:]) or "(no output)"

    def failure(self, why: str) -> LocalStackError:
        return LocalStackError(f"{self.name} {why}: {shlex.join(self.cmd)}\n--- last lines of {self.name} stderr ---\n{self.tail()}")

    def terminate(self) -> None:
        # start_new_session=True made the server the leader of its own process group, so this also
        # reaches anything it forked.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGTERM)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)


def _spawn(name: str, cmd: list[str], endpoint: str, cwd: Path, env: dict[str, str] | None = None) -> _Server:
    log = tempfile.TemporaryFile(prefix=f"ddb-s3-{name}-")  # noqa: SIM115 - the server's log, open as long as the server runs (_Server closes it)
    try:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - only prctl(PR_SET_PDEATHSIG): a SIGKILLed test run or demo leaves no server behind
        )
    except OSError as e:
        log.close()
        raise LocalStackError(f"{name} could not be started ({e.strerror}): {shlex.join(cmd)}") from e
    return _Server(name, cmd, endpoint, proc, log)


# Keeps dynalite alive when a client disconnects mid-request (see the file).
DYNALITE_GUARD = Path(__file__).with_name("dynalite_guard.js")
# DynamoDB Streams inside dynalite, on its port (see the file for its knobs, DDB_S3_LOCAL_*).
DYNALITE_STREAMS = Path(__file__).with_name("dynalite_streams.js")


def _dynalite_cli(root: Path) -> Path:
    pkg = root / "node_modules" / "dynalite" / "package.json"
    if not pkg.is_file():
        raise LocalStackError(f"dynalite is not installed: run `npm ci` in {root}")
    bin_field = json.loads(pkg.read_text())["bin"]
    rel = bin_field if isinstance(bin_field, str) else bin_field["dynalite"]
    return pkg.parent / rel


def _resolve_node(root: Path, node: str | None) -> str:
    found = shutil.which(node or "node")
    if found is None:
        raise LocalStackError(
            f"dynalite is not installed: node ({node or 'node'}) not found; install Node 20+, then run `npm ci` in {root}"
        )
    return found


@dataclass
class LocalStack:
    """Running dynalite + moto servers. Use as a context manager; `stop()` is idempotent."""

    dynamodb_endpoint: str
    s3_endpoint: str  # the moto endpoint; also serves EMR, Glue and STS
    emr_endpoint: str | None = None  # the local EMR (launcher/dev/local_emr.py), when started
    servers: list[_Server] = field(default_factory=list, repr=False)
    temp_work: Path | None = None  # the local EMR's folder when the stack made it: removed by stop()

    @property
    def moto_endpoint(self) -> str:
        return self.s3_endpoint

    @property
    def pids(self) -> list[int]:
        return [s.proc.pid for s in self.servers]

    @classmethod
    def start(
        cls,
        root: Path | str | None = None,
        *,
        node: str | None = None,
        python: str | None = None,
        timeout: float = 30.0,
        emr: bool = False,
        emr_work: Path | None = None,
        stream_knobs: dict[str, float] | None = None,
    ) -> LocalStack:
        """Start both servers and wait until each answers a real API call, or raise LocalStackError.
        With `emr`, also the local EMR, which runs the steps of the clusters created on it (node
        folders under `emr_work`); without it, moto's EMR API accepts clusters and runs nothing.
        `stream_knobs` (DDB_S3_LOCAL_STREAM_*, DDB_S3_LOCAL_TTL_SWEEP_S: value) go to dynalite's
        environment over the inherited ones (launcher/dev/dynalite_streams.js).

        On any failure everything already started is stopped before the error is raised.
        """
        root = Path(root or REPO_ROOT).resolve()
        # Prerequisites first, so a missing install costs nothing and reads as one line.
        cli = _dynalite_cli(root)
        node_bin = _resolve_node(root, node)
        python = python or sys.executable
        if python == sys.executable and importlib.util.find_spec("moto.server") is None:
            raise LocalStackError("moto is not installed: run `uv sync --all-extras` (moto[server] is a dev dependency)")

        ddb_port, moto_port = free_port(), free_port()
        stack = cls(dynamodb_endpoint=f"http://{HOST}:{ddb_port}", s3_endpoint=f"http://{HOST}:{moto_port}")
        atexit.register(stack.stop)  # a crashed or interrupted test run must not leave servers behind
        try:
            # Both start in parallel (moto takes a second or two to import), then each is waited for.
            # dynalite keeps its tables in memory unless --path is given, which we never do.
            dynalite_env = dict(os.environ, **{k: str(v) for k, v in (stream_knobs or {}).items()}) if stream_knobs else None
            stack.servers.append(
                _spawn(
                    "dynalite",
                    [node_bin, "-r", str(DYNALITE_GUARD), "-r", str(DYNALITE_STREAMS), str(cli), "--host", HOST, "--port", str(ddb_port)],
                    stack.dynamodb_endpoint,
                    root,
                    dynalite_env,
                )
            )
            stack.servers.append(_spawn("moto", [python, "-m", "moto.server", "-H", HOST, "-p", str(moto_port)], stack.s3_endpoint, root))
            deadline = time.monotonic() + timeout
            ddb = _probe_client("dynamodb", stack.dynamodb_endpoint)
            s3 = _probe_client("s3", stack.s3_endpoint)
            _wait_healthy(stack.servers[0], lambda: ddb.list_tables(Limit=1), deadline, timeout)
            _wait_healthy(stack.servers[1], s3.list_buckets, deadline, timeout)
            if emr:
                stack.start_local_emr(root, python, emr_work, deadline, timeout)
        except BaseException:
            stack.stop()
            raise
        return stack

    def start_local_emr(self, root: Path, python: str, work: Path | None, deadline: float, timeout: float) -> None:
        node_python = local_emr_python(root)
        if work is None:
            work = self.temp_work = Path(tempfile.mkdtemp(prefix="ddb-s3-local-emr-"))
        port = free_port()
        self.emr_endpoint = f"http://{HOST}:{port}"
        env = dict(os.environ, **self.env(), DDB_S3_EMR_PYTHON=node_python, PYTHONPATH=str(REPO_ROOT))
        for name in CLEARED_VARS:
            env.pop(name, None)
        self.servers.append(
            _spawn(
                "local EMR",
                [python, "-m", "launcher.dev.local_emr", "--port", str(port), "--work", str(work)],
                self.emr_endpoint,
                root,
                env,
            )
        )
        emr = _probe_client("emr", self.emr_endpoint)
        _wait_healthy(self.servers[-1], emr.list_clusters, deadline, timeout)

    def env(self) -> dict[str, str]:
        """Variables that point boto3 (and anything the tool starts) at this stack, with fake credentials."""
        # dynalite serves DynamoDB Streams on its own port (launcher/dev/dynalite_streams.js).
        env = {"AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb_endpoint, "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": self.dynamodb_endpoint}
        env.update({f"AWS_ENDPOINT_URL_{svc}": self.s3_endpoint for svc in MOTO_SERVICES})
        if self.emr_endpoint:  # the local EMR runs EMR steps, EMR Serverless and Glue job runs (and holds their logs)
            for svc in LOCAL_EMR_SERVICES:
                env[f"AWS_ENDPOINT_URL_{svc}"] = self.emr_endpoint
        env[contracts.ENV] = "1"  # every client of ours refuses what AWS refuses (launcher/aws/contracts.py)
        env.update(
            AWS_DEFAULT_REGION=REGION,
            AWS_REGION=REGION,  # read by the Java SDK (connector, Hadoop) where AWS_DEFAULT_REGION is not
            AWS_ACCESS_KEY_ID=FAKE_KEY_ID,
            AWS_SECRET_ACCESS_KEY=FAKE_SECRET,
        )
        return env

    def dead(self) -> _Server | None:
        """The first server that has exited, if any."""
        return next((s for s in self.servers if s.proc.poll() is not None), None)

    def stop(self) -> None:
        """SIGTERM both process groups, SIGKILL what is left after a grace period, reap, close logs."""
        servers, self.servers = self.servers, []
        atexit.unregister(self.stop)
        for s in servers:
            s.terminate()
        deadline = time.monotonic() + STOP_GRACE_S
        for s in servers:
            try:
                s.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                s.kill()
                s.proc.wait()
            s.log.close()
        if self.temp_work is not None:  # nodes, step logs, fetched artifacts: nothing is left in /tmp
            shutil.rmtree(self.temp_work, ignore_errors=True)
            self.temp_work = None

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def local_emr_python(root: Path) -> str:
    """The Python 3.9 that plays EMR 7's python3 (`make py39` builds it with the pinned boto3)."""
    path = Path(os.environ.get("DDB_S3_EMR_PYTHON") or root / ".cache" / "py39" / "bin" / "python")
    if not path.exists():
        raise LocalStackError(f"the local EMR's Python 3.9 is missing ({path}): run `make py39`")
    return str(path)


def _wait_healthy(server: _Server, probe: Callable[[], object], deadline: float, timeout: float) -> None:
    while True:
        code = server.proc.poll()
        if code is not None:
            raise server.failure(f"exited with code {code} during startup")
        try:
            probe()
            return
        except Exception:  # noqa: BLE001 - not listening yet, or not answering yet: keep polling until the deadline
            if time.monotonic() >= deadline:
                raise server.failure(f"did not answer within {timeout:g}s") from None
            time.sleep(0.1)


def _shell_lines(stack: LocalStack) -> list[str]:
    lines = [f"unset {' '.join(CLEARED_VARS)}"]
    lines += [f"export {k}={shlex.quote(v)}" for k, v in stack.env().items()]
    return lines


def shell_lines(stack: LocalStack) -> list[str]:
    return _shell_lines(stack)


def serve(emr: bool = True, out: IO[str] | None = None) -> int:
    """Start the stack, print the `export ...` lines to `out` (stdout), run until SIGINT or SIGTERM
    or until a server dies. 0 when stopped, 1 when it could not start or a server died."""
    out = out or sys.stdout
    # SIGTERM (from `make`, a CI runner, kill, `ddb-s3 local down`) unwinds like Ctrl-C so the servers are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        # Shards close every 10 s here (AWS: about every 4 hours), so that an --as-of export of a quiet
        # table, which waits for each shard to pass its window or close, takes seconds when trying it out.
        knobs: dict[str, float] = {} if STREAM_ROLLOVER_ENV in os.environ else {STREAM_ROLLOVER_ENV: TRY_OUT_ROLLOVER_S}
        stack = LocalStack.start(emr=emr, stream_knobs=knobs)
    except LocalStackError as e:
        print(f"local stack failed: {e}", file=sys.stderr)
        return 1
    with stack:
        print("\n".join(_shell_lines(stack)), file=out, flush=True)
        print("# local stack running; Ctrl-C or SIGTERM stops it", file=sys.stderr, flush=True)
        try:
            while (dead := stack.dead()) is None:
                time.sleep(0.5)
        except (KeyboardInterrupt, SystemExit):
            return 0
        print(f"local stack failed: {dead.failure(f'exited with code {dead.proc.returncode}')}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in ("up", "check"):
        print("usage: python -m launcher.dev.localstack {up|check}", file=sys.stderr)
        return 2
    if args[0] == "up":
        return serve()
    try:
        with LocalStack.start() as stack:
            print(f"local stack ok: dynamodb {stack.dynamodb_endpoint}, s3/emr/glue/sts {stack.s3_endpoint}")
            return 0
    except LocalStackError as e:
        print(f"local stack failed: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
