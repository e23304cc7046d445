"""verify: an export is a backup only if its summary manifest exists and every file it lists is
there with the right MD5 and item count. Files are streamed, so memory stays flat."""
from __future__ import annotations

import base64
import hashlib
import json
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import IncompleteExport
from .layout import MANIFEST_FILES, MANIFEST_SUMMARY
from .storage import Location


@dataclass
class FileCheck:
    key: str
    expected_items: int
    items: int | None = None
    md5_ok: bool = False
    problem: str | None = None


@dataclass
class VerifyReport:
    location: str
    summary: dict[str, Any]
    files: list[FileCheck] = field(default_factory=list)

    @property
    def item_count(self) -> int:
        return sum(f.items or 0 for f in self.files)

    @property
    def problems(self) -> list[str]:
        out = [f"{f.key}: {f.problem}" for f in self.files if f.problem]
        expected = self.summary.get("itemCount")
        if expected is not None and not out and self.item_count != expected:
            out.append(f"summary says {expected} items, data files hold {self.item_count}")
        return out

    @property
    def ok(self) -> bool:
        return not self.problems


def read_manifests(loc: Location) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if not loc.exists(MANIFEST_SUMMARY):
        raise IncompleteExport(f"{loc.uri}: no {MANIFEST_SUMMARY}, so this export is incomplete and not a backup")
    try:
        summary = json.loads(loc.read_bytes(MANIFEST_SUMMARY))
    except ValueError:
        raise IncompleteExport(f"{loc.uri}: {MANIFEST_SUMMARY} is not valid JSON") from None
    files_key = MANIFEST_FILES
    if not loc.exists(files_key):
        raise IncompleteExport(f"{loc.uri}: {MANIFEST_FILES} is missing")
    entries = []
    for n, line in enumerate(loc.read_bytes(files_key).decode().splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            entry["itemCount"], entry["md5Checksum"], entry["dataFileS3Key"]
        except (ValueError, KeyError, TypeError):
            raise IncompleteExport(f"{loc.uri}: {MANIFEST_FILES} line {n} is malformed") from None
        entries.append(entry)
    return summary, entries


def check_file(loc: Location, entry: dict[str, Any]) -> FileCheck:
    key = loc.resolve_data_key(entry["dataFileS3Key"])
    check = FileCheck(key, int(entry["itemCount"]))
    if not loc.exists(key):
        check.problem = "missing"
        return check
    md5 = hashlib.md5()
    gz = zlib.decompressobj(31)
    lines = 0
    tail = b""
    try:
        for chunk in loc.iter_chunks(key):
            md5.update(chunk)
            data = gz.decompress(chunk)
            lines += data.count(b"\n")
            if data:
                tail = data[-1:]
        data = gz.flush()
        lines += data.count(b"\n")
        tail = data[-1:] or tail
        if not gz.eof:
            raise zlib.error("truncated gzip stream")
    except zlib.error as e:
        check.problem = f"not a valid gzip file ({e})"
        return check
    if tail and tail != b"\n":
        lines += 1
    check.items = lines
    check.md5_ok = base64.b64encode(md5.digest()).decode() == entry["md5Checksum"]
    if not check.md5_ok:
        check.problem = "md5 does not match the manifest"
    elif lines != check.expected_items:
        check.problem = f"{lines} items, manifest says {check.expected_items}"
    return check


def verify(loc: Location, progress: Callable[[FileCheck], None] | None = None) -> VerifyReport:
    summary, entries = read_manifests(loc)
    report = VerifyReport(loc.uri, summary)
    for entry in entries:
        report.files.append(check_file(loc, entry))
        if progress:
            progress(report.files[-1])
    return report
