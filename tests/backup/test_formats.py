"""Reading every supported export layout, and verify catching what it must (unit: local folders,
fixtures built from the documented formats in tests/fixtures/backups/make_fixtures.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from helpers import DP, INCR, NATIVE, expected
from launcher.backup.formats import detect, iter_items, iter_records
from launcher.backup.storage import LocalFolder
from launcher.backup.verify import verify
from launcher.core.codec import item_key, items_equal
from launcher.core.errors import IncompleteExport

pytestmark = pytest.mark.unit

KEYS = ["patient_id", "sample_id"]


def same_items(got: list[dict], want: list[dict]) -> bool:
    a = {item_key(i, KEYS): i for i in got}
    b = {item_key(i, KEYS): i for i in want}
    return len(a) == len(got) and a.keys() == b.keys() and all(items_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("folder,kind,name", [(NATIVE, "native", "native-full"), (DP, "datapipeline", "datapipeline")])
def test_reads_every_item_type_exact(folder: Path, kind: str, name: str) -> None:
    source = detect(LocalFolder(folder))
    assert source.kind == kind
    assert same_items(list(iter_items(source)), expected(name))


def test_native_summary_fields() -> None:
    source = detect(LocalFolder(NATIVE))
    assert source.table_name == "LabResults" and source.expected_items == 40 and len(source.files) == 3
    assert source.manifest_names[-1] == "manifest-summary.json"


def test_incremental_reads_shared_data_folder_as_puts_and_deletes() -> None:
    source = detect(LocalFolder(INCR))
    assert source.kind == "incremental"
    recs = [r for ref in source.files for r in iter_records(source, ref)]
    assert [r.op for r in recs].count("delete") == 2 and [r.op for r in recs].count("put") == 7
    assert all(set(r.item) == set(KEYS) for r in recs if r.op == "delete")


@pytest.mark.parametrize("folder", [NATIVE, INCR, DP])
def test_verify_ok(folder: Path) -> None:
    report = verify(LocalFolder(folder))
    assert report.ok, report.problems
    assert report.item_count == {NATIVE: 40, INCR: 9, DP: 30}[folder]


def copy(folder: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "copy"
    shutil.copytree(folder, dest)
    return dest


def test_verify_catches_flipped_byte(tmp_path: Path) -> None:
    root = copy(NATIVE, tmp_path)
    victim = root / "data" / "bddxj42rqu5ydkvytmo3fljtbu.json.gz"
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    report = verify(LocalFolder(root))
    assert not report.ok
    assert any("bddxj42rqu5ydkvytmo3fljtbu" in p for p in report.problems)


def test_verify_catches_missing_file(tmp_path: Path) -> None:
    root = copy(NATIVE, tmp_path)
    (root / "data" / "kq3v7d2zq4bqhnw6pmkdcjz6ea.json.gz").unlink()
    report = verify(LocalFolder(root))
    assert list(report.problems) == ["data/kq3v7d2zq4bqhnw6pmkdcjz6ea.json.gz: missing"]


def test_verify_catches_wrong_count(tmp_path: Path) -> None:
    root = copy(NATIVE, tmp_path)
    lines = (root / "manifest-files.json").read_text().splitlines()
    entry = json.loads(lines[0])
    entry["itemCount"] += 1
    lines[0] = json.dumps(entry)
    (root / "manifest-files.json").write_text("\n".join(lines) + "\n")
    (root / "manifest-files.md5").unlink()  # else the manifest's own checksum catches it first
    assert "items, manifest says" in verify(LocalFolder(root)).problems[0]


def test_manifest_checksum_checked(tmp_path: Path) -> None:
    root = copy(NATIVE, tmp_path)
    (root / "manifest-files.json").write_text((root / "manifest-files.json").read_text() + "\n")
    with pytest.raises(IncompleteExport, match=r"does not match manifest-files\.md5"):
        detect(LocalFolder(root))


def test_missing_summary_is_incomplete(tmp_path: Path) -> None:
    root = copy(NATIVE, tmp_path)
    (root / "manifest-summary.json").unlink()
    with pytest.raises(IncompleteExport, match="incomplete"):
        verify(LocalFolder(root))


def test_datapipeline_bad_line_and_missing_file(tmp_path: Path) -> None:
    root = copy(DP, tmp_path)
    plain = root / "3f1c8d52-6a0e-4b7e-9a59-2d1f5f0c9e11"
    plain.write_text(plain.read_text() + '{"x": {"zz": "1"}}\n')
    (root / "8b2e4f6a-1c3d-4e5f-8a9b-0c1d2e3f4a5b.gz").unlink()
    problems = verify(LocalFolder(root)).problems
    assert any("not an item" in p for p in problems) and any(p.endswith("missing") for p in problems)


def test_gunzip_is_bounded_however_well_a_file_compresses(tmp_path):
    """A 1 MB gzip of ~60 MB of lines: no read step holds more than OUT_CHUNK of plain text, so
    verify, download and restore stay flat in memory with the table's size."""
    import gzip

    from launcher.backup.formats import OUT_CHUNK, _plain_chunks, iter_lines
    from launcher.backup.storage import LocalFolder

    line = b'{"Item":{"pk":{"S":"' + b"x" * 1000 + b'"}}}\n'
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "f.json.gz").write_bytes(gzip.compress(line * 60_000))
    loc = LocalFolder(tmp_path)
    assert max(len(c) for c in _plain_chunks(loc.iter_chunks("data/f.json.gz"), "data/f.json.gz")) <= OUT_CHUNK
    assert sum(1 for _ in iter_lines(loc, "data/f.json.gz")) == 60_000
