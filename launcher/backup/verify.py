"""verify: an export is a backup only if its summary manifest exists and every file it lists is
there with the right MD5 and item count. Files are streamed, so memory stays flat."""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from launcher.aws.session import Aws
from launcher.backup.storage import Location, open_location
from launcher.core.codec import CodecError
from launcher.core.s3args import S3WriteSettings


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
    kind: str = "ours"

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


def check_file(loc: Location, entry: dict[str, Any], parse_kind: str | None = None) -> FileCheck:
    """Stream one data file: MD5 of its bytes (when the manifest has one), gunzip on the fly (plain
    files are read as they are), count the non-empty lines, and with `parse_kind` parse every line.
    `entry` is a manifest-files.json line (dataFileS3Key, itemCount, md5Checksum) whose itemCount
    and md5Checksum may be None (Data Pipeline manifests record neither)."""
    key = entry.get("key") or loc.resolve_data_key(entry["dataFileS3Key"])
    expected = entry.get("itemCount")
    check = FileCheck(key, int(expected) if expected is not None else -1)
    if not loc.exists(key):
        check.problem = "missing"
        return check
    md5 = hashlib.md5()
    want_md5 = entry.get("md5Checksum")

    def tapped() -> Iterator[bytes]:  # one read of the file serves both the MD5 and the line count
        for chunk in loc.iter_chunks(key):
            md5.update(chunk)
            yield chunk

    lines = 0
    try:
        from launcher.backup.formats import lines_of, parse_record

        for n, line in lines_of(tapped(), key):
            lines += 1
            if parse_kind:
                parse_record(parse_kind, line, n)
    except zlib.error as e:
        check.problem = f"not a valid gzip file ({e})"
        return check
    except CodecError as e:
        check.problem = f"line {lines}: not an item ({e})"
        return check
    check.items = lines
    check.md5_ok = want_md5 is None or base64.b64encode(md5.digest()).decode() == want_md5
    if not check.md5_ok:
        check.problem = "md5 does not match the manifest"
    elif expected is not None and lines != check.expected_items:
        check.problem = f"{lines} items, manifest says {check.expected_items}"
    return check


def verify(loc: Location, progress: Callable[[FileCheck], None] | None = None, parse: bool = False) -> VerifyReport:
    """Any supported export (ours, native full or incremental, Data Pipeline). Data Pipeline exports
    carry no checksums or counts, so their lines are always parsed; `parse` parses every line of
    the others too (slower; MD5 and counts already catch corruption)."""
    from launcher.backup.formats import detect

    source = detect(loc)
    report = VerifyReport(loc.uri, source.summary, kind=source.kind)
    for ref in source.files:
        entry = {"key": ref.key, "itemCount": ref.expected_items, "md5Checksum": ref.md5}
        kind = source.kind if (parse or source.kind == "datapipeline") else None
        report.files.append(check_file(loc, entry, kind))
        if progress:
            progress(report.files[-1])
    return report


def verify_export(where: str, aws: Aws | None = None, settings: S3WriteSettings | None = None) -> VerifyReport:
    """verify() of an export at s3://... or in a folder."""
    return verify(open_location(where, aws, settings))
