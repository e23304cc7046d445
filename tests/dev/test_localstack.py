"""The local stack: real dynalite and moto servers on loopback ports."""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
import pytest

from helpers import process_alive
from launcher.dev.localstack import REPO_ROOT, LocalStack, LocalStackError

pytestmark = pytest.mark.integration


def _children() -> set[str]:
    """Command lines of this process's live children (Linux /proc), to prove nothing was left behind.
    Compared before/after, since the session's own stack may be running alongside."""
    me, found = os.getpid(), set()
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == me:
                found.add((d / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, ValueError, IndexError):
            continue
    return found


def _listen_addresses(port: int) -> set[str]:
    """Local addresses with a socket LISTENing on `port`, from /proc/net/tcp{,6}."""
    out = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, _, state = line.split()[1:4]
            addr_hex, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:
                raw = bytes.fromhex(addr_hex)
                # the kernel prints each 32-bit word in host (little-endian) order
                raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                out.add(str(ipaddress.ip_address(raw)))
    return out


def test_endpoints_are_loopback_and_bound_only_there(local_stack: LocalStack) -> None:
    for endpoint in (local_stack.dynamodb_endpoint, local_stack.s3_endpoint):
        url = urlparse(endpoint)
        assert url.scheme == "http"
        assert url.hostname and ipaddress.ip_address(url.hostname).is_loopback
        assert url.port
        assert _listen_addresses(url.port) == {"127.0.0.1"}


def test_env_points_every_service_at_the_stack(local_stack: LocalStack) -> None:
    env = local_stack.env()
    assert env["AWS_ENDPOINT_URL_DYNAMODB"] == local_stack.dynamodb_endpoint
    # IAM, EC2, Service Quotas: `ddb-s3 doctor` on the local stack must ask moto, never AWS (issue 24)
    for svc in ("S3", "STS", "IAM", "EC2", "SERVICE_QUOTAS"):
        assert env[f"AWS_ENDPOINT_URL_{svc}"] == local_stack.s3_endpoint
    # EMR: moto's own API, or the local EMR once a test started it (the tests using it set it themselves)
    assert env["AWS_ENDPOINT_URL_EMR"] == (local_stack.emr_endpoint or local_stack.s3_endpoint)
    for svc in ("EMR_SERVERLESS", "GLUE", "CLOUDWATCH_LOGS"):  # the local EMR runs their jobs too
        assert env[f"AWS_ENDPOINT_URL_{svc}"] == (local_stack.emr_endpoint or local_stack.s3_endpoint)
    assert env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_ACCESS_KEY_ID"].isalnum() and env["AWS_SECRET_ACCESS_KEY"].isalnum()
    # The fixture applied them (as they were when the session began): clients built from the
    # environment alone reach moto, not AWS.
    for name, value in env.items():
        if name not in (
            "AWS_ENDPOINT_URL_EMR",
            "AWS_ENDPOINT_URL_EMR_SERVERLESS",
            "AWS_ENDPOINT_URL_GLUE",
            "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
        ):
            assert os.environ[name] == value
    assert "AWS_SESSION_TOKEN" not in os.environ
    assert boto3.client("sts").get_caller_identity()["Account"] == "123456789012"  # moto's fake account
    assert isinstance(boto3.client("emr").list_clusters()["Clusters"], list)  # other tests may have made some
    assert "DatabaseList" in boto3.client("glue").get_databases()


def test_dynalite_create_put_scan(ddb: Any, fresh_table: Any) -> None:
    name = fresh_table(range_key="sk", range_type="N")
    for i in range(25):
        ddb.put_item(TableName=name, Item={"pk": {"S": f"k{i % 5}"}, "sk": {"N": str(i)}, "v": {"S": "x" * i}})
    items = ddb.scan(TableName=name, ConsistentRead=True)["Items"]
    assert len(items) == 25
    assert {it["sk"]["N"] for it in items} == {str(i) for i in range(25)}
    schema = ddb.describe_table(TableName=name)["Table"]["KeySchema"]
    assert schema == [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    assert name in ddb.list_tables()["TableNames"]


def test_moto_s3_put_get(s3: Any, bucket: str) -> None:
    body = os.urandom(1 << 20)
    s3.put_object(Bucket=bucket, Key="a/b.bin", Body=body)
    assert s3.get_object(Bucket=bucket, Key="a/b.bin")["Body"].read() == body
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["a/b.bin"]


def test_stop_leaves_no_process_alive() -> None:
    stack = LocalStack.start()
    pids = stack.pids
    assert len(pids) == 2 and all(process_alive(p) for p in pids)
    ports = [urlparse(e).port for e in (stack.dynamodb_endpoint, stack.s3_endpoint)]
    stack.stop()
    assert not any(process_alive(p) for p in pids)
    for port in ports:
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0
    stack.stop()  # idempotent


def test_missing_node_is_one_clear_line() -> None:
    before = _children()
    with pytest.raises(LocalStackError) as err:
        LocalStack.start(node="/nonexistent/bin/node")
    msg = str(err.value)
    assert "\n" not in msg
    assert "/nonexistent/bin/node" in msg and f"run `npm ci` in {REPO_ROOT}" in msg
    assert _children() == before


def test_missing_node_modules_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(LocalStackError) as err:
        LocalStack.start(tmp_path)
    assert str(err.value) == f"dynalite is not installed: run `npm ci` in {tmp_path}"


def test_server_that_dies_names_itself_its_command_and_its_stderr(tmp_path: Path) -> None:
    # A "node" that runs, complains on stderr and exits 1.
    fake_node = tmp_path / "node"
    fake_node.write_text("#!/bin/sh\necho 'SyntaxError: not really node' >&2\nexit 1\n")
    fake_node.chmod(0o755)
    before = _children()
    with pytest.raises(LocalStackError) as err:
        LocalStack.start(node=str(fake_node))
    first, *rest = str(err.value).splitlines()
    assert first.startswith("dynalite exited with code 1 during startup: ")
    assert str(fake_node) in first and "cli.js --host 127.0.0.1 --port" in first
    assert "SyntaxError: not really node" in rest
    assert _children() == before  # moto, already started alongside, was stopped too


def test_server_that_never_answers_times_out_and_is_killed(tmp_path: Path) -> None:
    fake_node = tmp_path / "node"
    fake_node.write_text("#!/bin/sh\necho 'still warming up' >&2\nexec sleep 60\n")
    fake_node.chmod(0o755)
    before = _children()
    with pytest.raises(LocalStackError) as err:
        LocalStack.start(node=str(fake_node), timeout=2)
    first, *rest = str(err.value).splitlines()
    assert first.startswith(f"dynalite did not answer within 2s: {fake_node} ")
    assert "still warming up" in rest
    assert _children() == before


def test_cli_check() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "launcher.dev.localstack", "check"], check=False, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("local stack ok: dynamodb http://127.0.0.1:")
    assert len(done.stdout.splitlines()) == 1


def test_cli_up_prints_exports_and_stops_on_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "launcher.dev.localstack", "up"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        exports: dict[str, str] = {}
        for line in proc.stdout:
            if line.startswith("export "):
                name, _, value = line[len("export ") :].strip().partition("=")
                exports[name] = value
            if "AWS_SECRET_ACCESS_KEY" in exports:
                break
        else:  # stdout closed before the last variable: say why (its stderr)
            assert proc.stderr is not None
            pytest.fail(f"`localstack up` ended (exit {proc.wait(timeout=30)}) before printing its variables: {proc.stderr.read()[-3000:]}")
        port = urlparse(exports["AWS_ENDPOINT_URL_DYNAMODB"]).port
        assert exports["AWS_ENDPOINT_URL_S3"] == exports["AWS_ENDPOINT_URL_STS"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_dynalite_survives_a_client_that_disconnects_mid_request(local_stack: LocalStack) -> None:
    """Plain dynalite crashes on this (`Error: aborted`); a killed restore or export does exactly it."""
    import socket
    from urllib.parse import urlparse

    url = urlparse(local_stack.dynamodb_endpoint)
    for _ in range(3):
        with socket.create_connection((url.hostname, url.port)) as sock:
            sock.sendall(
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.0\r\n"
                b'X-Amz-Target: DynamoDB_20120810.ListTables\r\nContent-Length: 1000\r\n\r\n{"Lim'
            )
        time.sleep(0.2)
    assert local_stack.dead() is None
    assert "TableNames" in boto3.client("dynamodb").list_tables()


def test_servers_die_with_a_killed_owner(tmp_path: Path) -> None:
    """SIGKILL leaves no time for atexit: the parent-death signal still stops both servers."""
    script = (
        "from launcher.dev.localstack import LocalStack\nimport time\ns = LocalStack.start()\nprint(*s.pids, flush=True)\ntime.sleep(60)\n"
    )
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=str(REPO_ROOT))
    pids = [int(p) for p in owner.stdout.readline().split()]
    assert len(pids) == 2
    owner.kill()
    owner.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(process_alive(p) for p in pids):
        time.sleep(0.1)
    assert not any(process_alive(p) for p in pids)
