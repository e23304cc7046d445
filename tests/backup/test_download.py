"""download from moto's S3: checked copy, resumable (kept files, an interrupted run), corrupted and missing files refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from helpers import FIXTURES, write_export
from launcher.aws.session import Aws
from launcher.backup.download import download
from launcher.backup.storage import LocalFolder
from launcher.backup.verify import verify
from launcher.core.codec import wire_to_json
from launcher.core.errors import IncompleteExport
from launcher.dev.sample_data import lab_items

pytestmark = pytest.mark.integration

FIX = FIXTURES / "backups"
EID = "01716790307109-5f9d6aaa"


def upload_tree(s3: Any, bucket: str, root: Path, prefix: str = "") -> None:
    for p in sorted(root.rglob("*")):
        if p.is_file():
            s3.put_object(Bucket=bucket, Key=prefix + p.relative_to(root).as_posix(), Body=p.read_bytes())


def test_download_checked_and_resumable(s3: Any, bucket: str, tmp_path: Path) -> None:
    upload_tree(s3, bucket, FIX / "native-full")
    uri = f"s3://{bucket}/AWSDynamoDB/{EID}/"
    lines: list[str] = []
    first = download(uri, tmp_path / "b", concurrency=4, progress=lines.append)
    assert (first.fetched, first.skipped, first.items) == (3, 0, 40)
    # the checks after the transfer show progress too, and come before the final line (issue 15)
    checked = [i for i, line in enumerate(lines) if line.startswith("checked ")]
    assert lines[checked[-1]] == "checked 3/3 downloaded files (MD5, gzip, item counts)" and checked[-1] == len(lines) - 2
    assert verify(LocalFolder(tmp_path / "b")).ok
    again = download(uri, tmp_path / "b")
    assert (again.fetched, again.skipped) == (0, 3)
    damaged = tmp_path / "b" / "data" / "kq3v7d2zq4bqhnw6pmkdcjz6ea.json.gz"
    damaged.write_bytes(damaged.read_bytes()[:-3])  # a torn local file is fetched again
    third = download(uri, tmp_path / "b")
    assert (third.fetched, third.skipped) == (1, 2)


@pytest.mark.parametrize("damage", ["flip", "missing"])
def test_download_refuses_bad_files(s3: Any, bucket: str, tmp_path: Path, damage: str) -> None:
    upload_tree(s3, bucket, FIX / "native-full")
    key = f"AWSDynamoDB/{EID}/data/bddxj42rqu5ydkvytmo3fljtbu.json.gz"
    if damage == "flip":
        data = bytearray(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        data[len(data) // 2] ^= 0x01
        s3.put_object(Bucket=bucket, Key=key, Body=bytes(data))
    else:
        s3.delete_object(Bucket=bucket, Key=key)
    with pytest.raises(IncompleteExport, match="bddxj42rqu5ydkvytmo3fljtbu"):
        download(f"s3://{bucket}/AWSDynamoDB/{EID}/", tmp_path / "b")
    assert not (tmp_path / "b" / "manifest-summary.json").exists()
    assert not (tmp_path / "b" / "data" / "bddxj42rqu5ydkvytmo3fljtbu.json.gz").exists()
    assert not list((tmp_path / "b").rglob("*.part"))
    with pytest.raises(IncompleteExport):
        verify(LocalFolder(tmp_path / "b"))


def test_download_incremental_and_datapipeline(s3: Any, bucket: str, tmp_path: Path) -> None:
    upload_tree(s3, bucket, FIX / "native-incremental", "ddb/")
    r = download(f"s3://{bucket}/ddb/AWSDynamoDB/01716791487000-6ddcf8cf/", tmp_path / "inc")
    assert r.kind == "incremental" and r.items == 9 and verify(LocalFolder(tmp_path / "inc")).ok
    upload_tree(s3, bucket, FIX / "datapipeline", "old/")
    r = download(f"s3://{bucket}/old/", tmp_path / "dp")
    assert r.kind == "datapipeline" and r.items == 30 and verify(LocalFolder(tmp_path / "dp")).ok


class Interrupted(Exception):
    pass


def test_interrupted_download_resumes_without_fetching_kept_files_again(s3: Any, bucket: str, tmp_path: Path) -> None:
    """A download stopped by an error after its first file was checked and kept (the others in
    flight or not started) is run again: the kept file is not fetched again (no GetObject for it, the
    same file on disk), a torn leftover `.part` is replaced, and the copy ends complete and identical."""
    src = write_export(tmp_path / "src", [wire_to_json(i) for i in lab_items(600, pad=200)], files=6)
    upload_tree(s3, bucket, tmp_path / "src")
    uri = f"s3://{bucket}/{src.relative_to(tmp_path / 'src').as_posix()}/"
    names = sorted(p.name for p in (src / "data").iterdir())
    dest = tmp_path / "copy"

    def stop_after_first_file(line: str) -> None:
        if line.startswith("checked 1/"):  # the first file renamed into place: stop mid-transfer
            raise Interrupted(line)

    with pytest.raises(Interrupted):
        download(uri, dest, concurrency=2, progress=stop_after_first_file)
    kept = [p for p in (dest / "data").iterdir() if not p.name.endswith(".part")]
    assert [p.name for p in kept] == [names[0]]  # the first file of the manifest, checked, under its name
    assert not (dest / "manifest-summary.json").exists()  # not a complete copy: verify says so
    with pytest.raises(IncompleteExport):
        verify(LocalFolder(dest))
    before = kept[0].stat()
    torn = dest / "data" / (names[1] + ".part")
    torn.write_bytes((src / "data" / names[1]).read_bytes()[:100])  # as a killed run would leave it

    gets: list[str] = []
    aws = Aws()
    # every GetObject request this run sends to the server (a ranged part of a big file would count too)
    aws.session.events.register("before-call.s3.GetObject", lambda params, **_kw: gets.append(params["url_path"]))
    again = download(uri, dest, aws=aws, concurrency=2)
    assert (again.fetched, again.skipped, again.items) == (5, 1, 600)
    fetched = sorted(k.rsplit("/", 1)[-1] for k in gets if "/data/" in k)
    assert fetched == names[1:]  # each missing file once, the kept one not at all
    after = kept[0].stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert not list(dest.rglob("*.part"))
    for name in names:
        assert (dest / "data" / name).read_bytes() == (src / "data" / name).read_bytes()
    for name in ("manifest-files.json", "manifest-summary.json"):
        assert (dest / name).read_bytes() == (src / name).read_bytes()
    assert verify(LocalFolder(dest)).ok


def test_ctrl_c_says_what_was_kept_and_counts_no_cancelled_file_as_downloaded(s3: Any, bucket: str, tmp_path: Path) -> None:
    """Ctrl-C mid-download (issue 24's exercise: "interrupted", then "downloaded 2/2 files", and no
    word on resuming): one line with what is kept and how to resume; cancelled files are not counted."""
    src = write_export(tmp_path / "src", [wire_to_json(i) for i in lab_items(600, pad=200)], files=6)
    upload_tree(s3, bucket, tmp_path / "src")
    uri = f"s3://{bucket}/{src.relative_to(tmp_path / 'src').as_posix()}/"
    dest = tmp_path / "copy"
    said: list[str] = []

    def ctrl_c_after_first_file(line: str) -> None:
        said.append(line)
        if line.startswith("checked 1/"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        download(uri, dest, concurrency=2, progress=ctrl_c_after_first_file)
    interrupted = next(i for i, line in enumerate(said) if line.startswith("download interrupted"))
    assert said[interrupted] == f"download interrupted: 1 file(s) fetched and checked into {dest}; run the same command again to resume"
    assert not any(line.startswith("downloaded ") for line in said[interrupted:]), said
    assert download(uri, dest, concurrency=2).skipped == 1  # and the same command resumes


def test_download_into_a_folder_holding_another_export_is_refused_and_changes_nothing(s3: Any, bucket: str, tmp_path: Path) -> None:
    """Two exports never mix under one folder: a second export's download into the first's folder
    (same file names, other contents) is refused before any byte is written, and so is a folder
    holding a file the export does not have. The same export again resumes, as before."""
    from launcher.core.errors import BadInput

    uris = []
    for name, n, files in (("a", 400, 4), ("b", 200, 2)):
        src = write_export(tmp_path / name, [wire_to_json(i) for i in lab_items(n)], files=files)
        upload_tree(s3, bucket, tmp_path / name, prefix=f"{name}/")
        uris.append(f"s3://{bucket}/{name}/{src.relative_to(tmp_path / name).as_posix()}/")
    dest = tmp_path / "copy"
    download(uris[0], dest)
    before = {p: p.read_bytes() for p in dest.rglob("*") if p.is_file()}
    with pytest.raises(BadInput, match=r"holds another export: its manifest-files.json, manifest-summary.json differ from"):
        download(uris[1], dest)
    assert {p: p.read_bytes() for p in dest.rglob("*") if p.is_file()} == before
    assert download(uris[0], dest).skipped == 4  # the same export: kept, nothing refused

    stray = tmp_path / "other"
    (stray / "data").mkdir(parents=True)
    (stray / "data" / "notes.txt").write_text("mine")
    with pytest.raises(BadInput, match=r"holds 1 file\(s\) that are not part of .* \(data/notes.txt\)"):
        download(uris[1], stray)
    assert sorted(p.name for p in stray.rglob("*")) == ["data", "notes.txt"]
