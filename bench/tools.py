"""The tools people use today, installed from PyPI into the bench venvs and run as subprocesses
against the same dynalite and moto endpoints: dynamodump (backup and restore) and Airflow's
DynamoDBToS3Operator (scan mode)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .common import log, run_measured

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".cache/bench-venv"  # Airflow + provider + matplotlib
VENV_DUMP = ROOT / ".cache/bench-venv-dynamodump"  # dynamodump pins boto3 exactly: a venv of its own
LOCKS = {VENV: ROOT / "bench/requirements.txt", VENV_DUMP: ROOT / "bench/requirements-dynamodump.txt"}


def ensure_venvs() -> None:
    """Create the bench venvs from the committed, hashed locks (uv), once per lock content."""
    uv = shutil.which("uv")
    if uv is None:
        raise RuntimeError("uv is needed for the bench venvs (the Makefile installs it for `make venv`)")
    for venv, lock in LOCKS.items():
        stamp = venv / ".lock-installed"
        if stamp.exists() and stamp.read_text() == lock.read_text():
            continue
        log(f"creating {venv.relative_to(ROOT)} from {lock.relative_to(ROOT)}")
        subprocess.run([uv, "venv", "-q", "--clear", "--python", "3.11", str(venv)], check=True)
        subprocess.run([uv, "pip", "install", "-q", "--python", str(venv / "bin/python"), "--require-hashes",
                        "-r", str(lock)], check=True)  # exact pins, hashes checked
        stamp.write_text(lock.read_text())


def _dump_args(endpoint: str) -> list[str]:
    u = urlparse(endpoint)
    return ["-r", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"), "--host", u.hostname or "127.0.0.1",
            "--port", str(u.port), "--accessKey", os.environ["AWS_ACCESS_KEY_ID"],
            "--secretKey", os.environ["AWS_SECRET_ACCESS_KEY"], "--log", "WARNING"]


def dynamodump_backup(table: str, bucket: str | None, dump_dir: Path) -> dict[str, Any]:
    """Backup (a sequential Scan written as pretty-printed JSON pages); with a bucket, tar + upload to S3."""
    cmd = [str(VENV_DUMP / "bin/dynamodump"), "-m", "backup", "-s", table, "--dumpPath", str(dump_dir),
           *_dump_args(os.environ["AWS_ENDPOINT_URL_DYNAMODB"])]
    if bucket:
        cmd += ["-a", "tar", "-b", bucket]
    run = run_measured(cmd, env=dict(os.environ), cwd=str(dump_dir.parent))
    return {"ok": run.code == 0, "seconds": run.seconds, "rss_mib": run.peaks.mib(),
            "error": None if run.code == 0 else (run.stderr or run.stdout)[-800:]}


def dynamodump_restore(table: str, dest: str, dump_dir: Path) -> dict[str, Any]:
    """Restore a dump (from the dump folder) into a new table: dynamodump creates it, then BatchWriteItem."""
    cmd = [str(VENV_DUMP / "bin/dynamodump"), "-m", "restore", "-s", table, "-d", dest, "--dumpPath", str(dump_dir),
           "--noConfirm", "--billingMode", "PAY_PER_REQUEST", "--skipThroughputUpdate",
           *_dump_args(os.environ["AWS_ENDPOINT_URL_DYNAMODB"])]
    run = run_measured(cmd, env=dict(os.environ), cwd=str(dump_dir.parent))
    return {"ok": run.code == 0, "seconds": run.seconds, "rss_mib": run.peaks.mib(),
            "error": None if run.code == 0 else (run.stderr or run.stdout)[-800:]}


def airflow_export(table: str, bucket: str, prefix: str, file_size: int) -> dict[str, Any]:
    conn = {"conn_type": "aws", "login": os.environ["AWS_ACCESS_KEY_ID"], "password": os.environ["AWS_SECRET_ACCESS_KEY"],
            "extra": {"region_name": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"), "service_config": {
                "s3": {"endpoint_url": os.environ["AWS_ENDPOINT_URL_S3"]},
                "dynamodb": {"endpoint_url": os.environ["AWS_ENDPOINT_URL_DYNAMODB"]}}}}
    home = tempfile.mkdtemp(prefix="bench-airflow-")
    env = dict(os.environ, AIRFLOW_HOME=home, AIRFLOW_CONN_AWS_DEFAULT=json.dumps(conn))
    cmd = [str(VENV / "bin/python"), str(ROOT / "bench/airflow_export.py"), table, bucket, prefix, str(file_size)]
    run = run_measured(cmd, env=env)
    shutil.rmtree(home, ignore_errors=True)
    try:
        doc = json.loads(run.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        doc = {"ok": False, "error": (run.stderr or run.stdout)[-800:]}
    doc.pop("trace", None)
    return doc | {"wall_s": run.seconds, "rss_mib": run.peaks.mib()}
