"""What a run leaves behind (issue 24.8, 24.9): an interrupted export says whether it is complete
(its summary manifest written before the interrupt) or incomplete, named, with how to remove it;
the local runs' cache keeps only the newest runs. Against moto's S3 and a temporary folder."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from helpers import plan_for
from launcher.aws.session import Aws
from launcher.export.flow import interrupted_line

pytestmark = pytest.mark.integration


def ddb_s3(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(sys.executable).parent / "ddb-s3"), *args], capture_output=True, text=True, timeout=120)


def test_interrupted_line_tells_a_committed_export_from_an_incomplete_one(s3: Any, bucket: str) -> None:
    plan = plan_for(to=f"s3://{bucket}/nightly", region="us-east-1")
    root = plan.export_uri.removeprefix(f"s3://{bucket}/")
    assert interrupted_line(plan, Aws()) == f"export {plan.export_uri} was interrupted before it wrote anything to S3: nothing to clean up"
    s3.put_object(Bucket=bucket, Key=root + "_started", Body=b"")
    s3.put_object(Bucket=bucket, Key=root + "data/part-00000.json.gz", Body=b"partial")
    line = interrupted_line(plan, Aws())
    assert line.startswith(f"export {plan.export_uri} is incomplete (interrupted before its commit; never read as a backup)")
    # the commands it prints do what it says (it printed `--table`, which never matches an incomplete export)
    commands = re.findall(r"`(?:ddb-s3 )?([^`]+)`", line)
    assert commands == [f"exports prune s3://{bucket}/nightly", "--grace 0h"], line
    now = ddb_s3(*commands[0].split(), *commands[1].split(), "--yes")
    assert now.returncode == 0 and s3.list_objects_v2(Bucket=bucket, Prefix=root)["KeyCount"] == 0, now.stderr
    s3.put_object(Bucket=bucket, Key=root + "_started", Body=b"")
    s3.put_object(Bucket=bucket, Key=root + "manifest-summary.json", Body=b"{}")
    assert interrupted_line(plan, Aws()) == (
        f"export {plan.export_uri} is complete (committed before the interrupt, not verified by this run):"
        f" `ddb-s3 verify {plan.export_uri}` checks it"
    )


@pytest.mark.unit
def test_the_local_runs_cache_keeps_only_the_newest_runs(tmp_path) -> None:
    """~/.cache/ddb-s3/runs grew with every export (issue 24.9): the oldest run folders go."""
    import os

    from launcher.export.flow import keep_recent_runs

    for i in range(25):
        run = tmp_path / f"run-{i:02d}"
        run.mkdir()
        (run / "step-1.log").write_text("log")
        os.utime(run, (1_700_000_000 + i, 1_700_000_000 + i))
    (tmp_path / "note.txt").write_text("not a run")
    deleted = keep_recent_runs(tmp_path, keep=20)
    assert sorted(p.name for p in deleted) == [f"run-{i:02d}" for i in range(5)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["note.txt", *(f"run-{i:02d}" for i in range(5, 25))]
