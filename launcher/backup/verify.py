"""verify: an export is a backup only if its summary manifest exists and every file it lists is
there with the right MD5 and item count. Files are streamed, so memory stays flat."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from launcher.aws.session import Aws
from launcher.backup.formats import CorruptDataFile, DataFileRef, detect, lines_of, parse_record
from launcher.backup.storage import Location, S3Folder, open_location
from launcher.core.codec import CodecError
from launcher.core.layout import ddb_s3_fields
from launcher.core.s3args import S3WriteSettings

STORED_CHECKS_IN_PARALLEL = 16  # HeadObject calls in flight
WHY_DEEP = {  # why an S3 export had to be read back
    "native": "DynamoDB's exports store no checksums in S3",
    "incremental": "DynamoDB's exports store no checksums in S3",
    "datapipeline": "Data Pipeline exports have no checksums",
    "ours": "written before ddb-s3 recorded S3 checksums",
}


@dataclass
class FileCheck:
    key: str
    expected_items: int
    items: int | None = None
    md5_ok: bool = False
    problem: str | None = None
    read_in_full: bool = False  # a shallow check that had to read the file: S3 stored no checksum for it


@dataclass
class VerifyReport:
    location: str
    summary: dict[str, Any]
    files: list[FileCheck] = field(default_factory=list)
    kind: str = "ours"
    deep: bool = True  # every file read back; False: S3's stored sizes and checksums compared
    why_deep: str | None = None  # when a shallow check was not possible, why

    @property
    def read_in_full(self) -> int:
        """Files of a shallow check read in full, as S3 stores no checksum for them (a copy made by
        `aws s3 cp`/`sync` and most other tools drops the checksum the export stored)."""
        return sum(f.read_in_full for f in self.files)

    @property
    def checked(self) -> str:
        """What this verify compared, in words."""
        if not self.deep:
            n = self.read_in_full
            if not n:
                return "sizes and SHA-256 checksums stored by S3 match the manifest (no data read; --deep reads every line)"
            return (
                ("sizes match the manifest" if n == len(self.files) else "sizes and SHA-256 checksums stored by S3 match the manifest")
                + f"; {n} file(s) without a stored checksum (copied?) read in full: MD5 checksums and item counts match"
                + " (--deep reads every line)"
            )
        return "every file read: MD5 checksums and item counts match" + (f" ({self.why_deep})" if self.why_deep else "")

    @property
    def read_window(self) -> str | None:
        """When the items were read and how consistently, for our exports (a Scan is no snapshot)."""
        ours = ddb_s3_fields(self.summary)
        window = ours.get("readWindow") or {}
        if not window.get("from"):
            return None
        mode = "strongly consistent" if ours.get("consistentRead") else "eventually consistent"
        return f"items read between {window['from']} and {window['to']}, {mode}"

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
        for n, line in lines_of(tapped(), key):
            lines += 1
            if parse_kind:
                parse_record(parse_kind, line, n)
    except CorruptDataFile as e:
        check.problem = f"not a valid gzip file ({e.why})"
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


def check_stored(loc: S3Folder, ref: DataFileRef) -> FileCheck:
    """One file, without reading it: its size and the SHA-256 S3 stores with it (verified by S3 when
    the bytes arrived) against what the manifest recorded. A multipart object's checksum is the
    checksum of its parts' checksums, reported with or without its '-<parts>' suffix. An object with
    no stored checksum (copied by a tool that drops it: aws s3 cp, sync) is read in full instead:
    check_file, MD5 and item count; a stored checksum that differs is a failure."""
    check = FileCheck(ref.key, ref.expected_items if ref.expected_items is not None else -1)
    if not loc.exists(ref.key):
        check.problem = "missing"
        return check
    head = loc.head(ref.key)
    stored = (head.get("ChecksumSHA256") or "").split("-")[0]
    if head["ContentLength"] != ref.size:
        check.problem = f"{head['ContentLength']} bytes, manifest says {ref.size}"
    elif not stored:
        check = check_file(loc, {"key": ref.key, "itemCount": ref.expected_items, "md5Checksum": ref.md5})
        check.read_in_full = True
    elif stored != (ref.sha256 or "").split("-")[0]:
        check.problem = "SHA-256 checksum stored by S3 does not match the manifest"
    else:
        check.items, check.md5_ok = ref.expected_items, True
    return check


def verify(loc: Location, progress: Callable[[FileCheck], None] | None = None, parse: bool = False, deep: bool = False) -> VerifyReport:
    """Any supported export (ours, native full or incremental, Data Pipeline).

    Our exports on S3 are checked without reading data: each file's size and the SHA-256 checksum S3
    stores with it, against the manifest, in parallel. `deep` (and every other case: native exports
    carry no stored checksums, Data Pipeline no checksums at all, local folders have nothing stored)
    reads every file: MD5, item count, and with `parse` (always for Data Pipeline) every line."""
    source = detect(loc)
    report = VerifyReport(loc.uri, source.summary, kind=source.kind)
    if isinstance(loc, S3Folder) and not (deep or parse) and all(f.sha256 and f.size is not None for f in source.files):
        report.deep = False
        folder = loc
        with ThreadPoolExecutor(STORED_CHECKS_IN_PARALLEL) as pool:
            for check in pool.map(lambda ref: check_stored(folder, ref), source.files):
                report.files.append(check)
                if progress:
                    progress(check)
        return report
    if not (deep or parse) and isinstance(loc, S3Folder):
        report.why_deep = WHY_DEEP.get(source.kind, WHY_DEEP["ours"])
    for ref in source.files:
        entry = {"key": ref.key, "itemCount": ref.expected_items, "md5Checksum": ref.md5}
        kind = source.kind if (parse or source.kind == "datapipeline") else None
        report.files.append(check_file(loc, entry, kind))
        if progress:
            progress(report.files[-1])
    return report


def verify_export(where: str, aws: Aws | None = None, settings: S3WriteSettings | None = None, deep: bool = False) -> VerifyReport:
    """verify() of an export at s3://... or in a folder."""
    return verify(open_location(where, aws, settings), deep=deep)
