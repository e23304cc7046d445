"""download: copy a finished export from S3 to a local folder, keeping its layout.

* s3transfer (boto3's TransferManager): many files at once, multipart ranges for big ones.
* Resumable: a file already present with the manifest's MD5 (and item count) is not fetched again;
  a file is written as ``<name>.part`` and renamed only after it passed its check.
* Refuses: a file whose MD5 or item count disagrees with the manifest (or that is missing in S3)
  is not kept; all such files are reported and the command fails (IncompleteExport, exit 3).
* Manifests are written last, the summary very last, so a local folder with a summary is always a
  complete, checked copy; a failed download leaves no summary and `verify` calls it incomplete.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig, create_transfer_manager
from s3transfer.subscribers import BaseSubscriber

from launcher.aws.session import Aws
from launcher.backup.formats import DataFileRef, ExportSource, detect
from launcher.backup.storage import LocalFolder, S3Folder, open_location
from launcher.backup.verify import check_file
from launcher.core.errors import BadInput, IncompleteExport
from launcher.core.s3args import S3WriteSettings

Progress = Callable[[str], None]
ByteProgress = Callable[[int], None]


@dataclass
class DownloadResult:
    folder: Path
    files: int  # data files in the export
    bytes: int  # bytes of data files now in the folder
    items: int
    fetched: int = 0  # files downloaded by this run
    skipped: int = 0  # files already present with the right MD5
    problems: list[str] = field(default_factory=list)
    kind: str = "ours"


def local_key(ref: DataFileRef) -> str:
    """Where a data file goes inside the local folder: the export's own relative path (incremental
    exports' shared data files go to data/ inside the folder; '/'-absolute keys likewise)."""
    key = ref.key
    if key.startswith(("/", "../")):
        key = "data/" + key.rsplit("/", 1)[-1]
    return key


def _entry(ref: DataFileRef, key: str) -> dict:
    return {"key": key, "itemCount": ref.expected_items, "md5Checksum": ref.md5}


def refuse_a_file(dest: Path) -> None:
    """BadInput when DEST (or a folder above it) exists as a file: the export goes into a folder."""
    for path in (dest, *dest.parents):
        if path.exists():
            if not path.is_dir():
                where = f"DEST {dest}" if path == dest else f"DEST {dest} is inside {path}, which"
                raise BadInput(f"{where} is a file: give a folder to download the export into")
            return


def refuse_another_export(dest: Path, source: ExportSource) -> None:
    """BadInput when `dest` holds files of anything but this export: a file it would not write, or a
    manifest that differs from this export's. An earlier (interrupted) download of the same export
    is fine: it resumes. Without this, two exports mix under one folder's manifests."""
    if not dest.is_dir():
        return
    ours = {local_key(ref) for ref in source.files} | set(source.manifest_names)
    present = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    strays = [k for k in present if k.removesuffix(".part") not in ours]
    other = [n for n in source.manifest_names if (dest / n).is_file() and (dest / n).read_bytes() != source.loc.read_bytes(n)]
    more = lambda names: ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")  # noqa: E731
    where = "download into an empty folder, or into this export's own"
    if other:
        raise BadInput(f"{dest} holds another export: its {more(other)} differ from {source.loc.uri}'s; {where}")
    if strays:
        raise BadInput(f"{dest} holds {len(strays)} file(s) that are not part of {source.loc.uri} ({more(strays)}); {where}")


def download(
    where: str,
    dest: Path,
    aws: Aws | None = None,
    settings: S3WriteSettings | None = None,
    progress: Progress | None = None,
    concurrency: int = 8,
    byte_progress: tuple[Callable[[int], None], Callable[[int], None]] | None = None,
) -> DownloadResult:
    """`byte_progress`: (set_total(bytes), advance(bytes)) for a progress bar; `progress` gets lines."""
    say = progress or (lambda _m: None)
    loc = open_location(where, aws, settings)
    if not isinstance(loc, S3Folder):
        raise BadInput(f"{where} is not an s3:// URI: download copies from S3")
    if concurrency < 1:
        raise BadInput("--concurrency must be at least 1")
    refuse_a_file(dest)
    source = detect(loc)  # refuses an incomplete export before copying anything
    refuse_another_export(dest, source)
    dest.mkdir(parents=True, exist_ok=True)
    local = LocalFolder(dest)
    result = DownloadResult(dest, len(source.files), 0, 0, kind=source.kind)
    parse_kind = "datapipeline" if source.kind == "datapipeline" else None

    todo: list[tuple[DataFileRef, str, int]] = []
    for ref in source.files:
        key = local_key(ref)
        path = dest / key
        if path.is_file() and ref.md5 is not None:
            check = check_file(local, _entry(ref, key))
            if not check.problem:
                result.skipped += 1
                result.items += check.items or 0
                result.bytes += path.stat().st_size
                continue
            say(f"{key}: present but {check.problem}; fetching it again")
        if not loc.exists(ref.key):  # one cached listing of the folder, not a HeadObject per file
            result.problems.append(f"{ref.key}: missing in {loc.uri}")
            continue
        size = ref.size if ref.size is not None else loc.head(ref.key)["ContentLength"]  # ours record it
        todo.append((ref, key, size))
    if result.skipped:
        say(f"{result.skipped} file(s) already present with the right checksum: kept")
    total = sum(size for _r, _k, size in todo)
    if byte_progress:
        byte_progress[0](total)
    say(f"downloading {len(todo)} file(s), {total:,} bytes, from {loc.uri} to {dest}")

    lock = threading.Lock()
    done_files = [0]

    class Sub(BaseSubscriber):  # s3transfer subscriber: bytes as they arrive, files as they finish
        def on_progress(self, future: Any, bytes_transferred: int, **_kw: Any) -> None:
            if byte_progress:
                byte_progress[1](bytes_transferred)

        def on_done(self, future: Any, **_kw: Any) -> None:
            try:
                future.result()  # done: returns at once, or raises for a failed or cancelled (Ctrl-C) file
            except BaseException:  # noqa: BLE001 - not downloaded: not counted
                return
            with lock:
                done_files[0] += 1
                n = done_files[0]
            if not byte_progress and (n == len(todo) or n % max(1, len(todo) // 10) == 0):
                say(f"downloaded {n}/{len(todo)} files")

    config = TransferConfig(max_concurrency=concurrency, use_threads=True)
    extra = loc.settings.read_args() or None
    futures = []
    try:
        with create_transfer_manager(loc.s3, config) as manager:
            for ref, key, _size in todo:
                path = dest / key
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(path.name + ".part")
                futures.append(
                    (ref, key, tmp, manager.download(loc.base.bucket, loc.key(ref.key), str(tmp), extra_args=extra, subscribers=[Sub()]))
                )
            for ref, key, tmp, future in futures:
                try:
                    future.result()
                except Exception as e:  # noqa: BLE001
                    tmp.unlink(missing_ok=True)
                    result.problems.append(f"{ref.key}: download failed ({type(e).__name__})")
                    continue
                check = check_file(local, _entry(ref, tmp.relative_to(dest).as_posix()), parse_kind)
                if check.problem:
                    tmp.unlink()
                    result.problems.append(f"{ref.key}: {check.problem}; not kept")
                    continue
                tmp.replace(dest / key)
                result.fetched += 1
                if not byte_progress and (result.fetched == len(todo) or result.fetched % max(1, len(todo) // 10) == 0):
                    say(f"checked {result.fetched}/{len(todo)} downloaded files (MD5, gzip, item counts)")
                result.items += check.items or 0
                result.bytes += (dest / key).stat().st_size
    except KeyboardInterrupt:  # the files checked so far stay: the same command resumes
        say(f"download interrupted: {result.fetched} file(s) fetched and checked into {dest}; run the same command again to resume")
        raise
    if result.problems:
        raise IncompleteExport(
            f"{loc.uri}: {len(result.problems)} of {len(source.files)} file(s) refused: "
            + "; ".join(result.problems[:5])
            + " (no manifest written locally)"
        )
    # Manifests last (the commit marker very last), so a folder with a summary is a complete copy.
    for name in source.manifest_names:
        data = loc.read_bytes(name)
        tmp = dest / (name + ".part")
        tmp.write_bytes(data)
        tmp.replace(dest / name)
    say(f"downloaded {result.fetched} file(s), kept {result.skipped}: {result.items:,} items, {result.bytes:,} bytes in {dest}")
    return result
