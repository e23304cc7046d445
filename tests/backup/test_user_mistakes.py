"""Mistakes a user made in an exercise (issue 24): a file where a folder is expected, a URI naming a
manifest instead of its folder, a prefix with no export at all. Each gives one stderr line naming
the thing and what to do, and the right exit code (2: bad input; 3: an incomplete export)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from helpers import write_export
from launcher.core.codec import wire_to_json
from launcher.dev.sample_data import lab_items

DDB_S3 = str(Path(sys.executable).parent / "ddb-s3")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DDB_S3, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def upload_tree(s3: Any, bucket: str, root: Path, prefix: str = "") -> None:
    for p in sorted(root.rglob("*")):
        if p.is_file():
            s3.put_object(Bucket=bucket, Key=prefix + p.relative_to(root).as_posix(), Body=p.read_bytes())


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    """A local export (our layout) of 20 items: tmp_path/src/AWSDynamoDB/<id>/."""
    return write_export(tmp_path / "src", [wire_to_json(i) for i in lab_items(20)])


@pytest.mark.integration
def test_download_into_a_file_is_bad_input_and_leaves_it(s3: Any, bucket: str, tmp_path: Path, exported: Path) -> None:
    upload_tree(s3, bucket, tmp_path / "src")
    uri = f"s3://{bucket}/AWSDynamoDB/{exported.name}/"
    (tmp_path / "lab.csv").write_text("pk,n\na,1\n")
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "manifest-files.json").write_text("{}\n")
    for dest in ("./lab.csv", "./backup/manifest-files.json", "./lab.csv/inside"):
        proc = run("download", uri, dest, cwd=tmp_path)
        line = one_line(proc)
        assert proc.returncode == 2, proc.stderr
        assert "is a file: give a folder" in line and dest.split("/inside")[0].lstrip("./") in line, line
    assert (tmp_path / "lab.csv").read_text() == "pk,n\na,1\n"
    assert (tmp_path / "backup" / "manifest-files.json").read_text() == "{}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup", "lab.csv", "src"]


@pytest.mark.integration
def test_a_file_where_an_export_folder_is_expected(tmp_path: Path, exported: Path) -> None:
    (tmp_path / "lab.csv").write_text("pk,n\na,1\n")
    data = sorted((exported / "data").iterdir())[0].relative_to(tmp_path)
    for args in (("verify", f"./{data}"), ("convert", "./lab.csv", "--format", "jsonl", "--out", "out.jsonl")):
        proc = run(*args, cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert one_line(proc).endswith(f"{args[1]} is a file: give the export's folder (the one holding manifest-summary.json)")
    assert not (tmp_path / "out.jsonl").exists()
    # the summary itself names its export: verified as its folder
    proc = run("verify", f"./{exported.relative_to(tmp_path)}/manifest-summary.json", cwd=tmp_path)
    assert proc.returncode == 0 and "ok: " in proc.stdout + proc.stderr and "20 items" in proc.stdout + proc.stderr, proc.stderr


@pytest.mark.integration
def test_an_s3_uri_naming_the_summary_verifies_its_export(s3: Any, bucket: str, tmp_path: Path, exported: Path) -> None:
    upload_tree(s3, bucket, tmp_path / "src", "lab/")
    proc = run("verify", f"s3://{bucket}/lab/AWSDynamoDB/{exported.name}/manifest-summary.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"ok: s3://{bucket}/lab/AWSDynamoDB/{exported.name}/: 20 items" in proc.stdout + proc.stderr


@pytest.mark.integration
def test_an_interrupted_ddb_s3_export_is_called_one_not_a_data_pipeline_export(s3: Any, bucket: str, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from launcher.core import layout
    from launcher.core.codec import item_line
    from launcher.core.s3args import S3WriteSettings
    from launcher.job import commit, s3io

    root = layout.export_root("nightly", layout.new_export_id(datetime.now(UTC)))
    commit.write_started(s3, bucket, root, S3WriteSettings())
    lines = (item_line(wire_to_json(i)) for i in lab_items(30))
    list(s3io.write_data_files(s3, bucket, root + "data/", 0, lines, 10, S3WriteSettings()))  # killed before the commit
    proc = run("verify", f"s3://{bucket}/{root}", cwd=tmp_path)
    line = one_line(proc)
    assert proc.returncode == 3, proc.stderr
    assert "this interrupted ddb-s3 export is incomplete and not a backup" in line and "Data Pipeline" not in line, line
    assert f"ddb-s3 exports list s3://{bucket}/nightly/ lists them" in line, line
