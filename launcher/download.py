"""download: copy a finished export to a local folder with s3transfer (parallel), keeping the
export's own layout, checking every file against its manifest entry."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from boto3.s3.transfer import TransferConfig

from .aws import Aws, S3WriteSettings
from .errors import BadInput, IncompleteExport
from .layout import MANIFEST_FILES, MANIFEST_FILES_MD5, MANIFEST_SUMMARY
from .storage import LocalFolder, S3Folder, open_location
from .verify import check_file, read_manifests


@dataclass
class DownloadResult:
    folder: Path
    files: int
    bytes: int
    items: int


def download(where: str, dest: Path, aws: Aws | None = None, settings: S3WriteSettings | None = None,
             progress: Callable[[str], None] | None = None, concurrency: int = 8) -> DownloadResult:
    loc = open_location(where, aws, settings)
    if not isinstance(loc, S3Folder):
        raise BadInput(f"{where} is not an s3:// URI: download copies from S3")
    summary, entries = read_manifests(loc)  # refuses an incomplete export before copying anything
    dest.mkdir(parents=True, exist_ok=True)
    config = TransferConfig(max_concurrency=concurrency)
    extra = loc.settings.read_args()
    local = LocalFolder(dest)
    total_bytes = 0
    keys = [loc.resolve_data_key(e["dataFileS3Key"]) for e in entries]
    for n, (entry, key) in enumerate(zip(entries, keys), 1):
        path = dest / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        loc.s3.download_file(loc.base.bucket, loc.key(key), str(tmp), ExtraArgs=extra or None, Config=config)
        tmp.replace(path)
        check = check_file(local, entry | {"dataFileS3Key": key})
        if check.problem:
            path.unlink()
            raise IncompleteExport(f"{loc.uri}{key}: {check.problem}; the file was not kept")
        total_bytes += path.stat().st_size
        if progress:
            progress(f"downloaded {n}/{len(entries)} files ({total_bytes:,} bytes)")
    # Manifests last, so a folder with a summary is always a complete copy.
    for name in (MANIFEST_FILES, MANIFEST_FILES_MD5, MANIFEST_SUMMARY):
        if loc.exists(name):
            (dest / name).write_bytes(loc.read_bytes(name))
    return DownloadResult(dest, len(entries), total_bytes, int(summary.get("itemCount", 0)))
