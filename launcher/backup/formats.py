"""Which kind of export is this, and its items as one uniform stream.

Four layouts are read (see docs/backup.md):

* ``ours``        -- ddb-s3's export: manifest-summary.json with ``exporter.tool == "ddb-s3"``.
* ``native``      -- DynamoDB ExportTableToPointInTime, full export (DYNAMODB_JSON).
* ``incremental`` -- the native incremental export (``exportType: INCREMENTAL_EXPORT``): lines of
  ``{"Metadata", "Keys", "NewImage"?, "OldImage"?}``, data files in the shared AWSDynamoDB/data/.
* ``datapipeline`` -- AWS Data Pipeline / emr-dynamodb-tools DynamoDBExport: a ``manifest`` file
  (``{"name":"DynamoDB-export","version":3,"entries":[{"url":...}]}``), one bare item a line with
  SDK-v1 lower-case type keys, no checksums and no counts.

Everything is streamed: a data file is read in 1 MiB chunks and decompressed on the fly, so memory
stays flat whatever the file size.
"""

from __future__ import annotations

import json
import posixpath
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from launcher.backup.storage import Location
from launcher.core.codec import CodecError, parse_item_line
from launcher.core.errors import IncompleteExport
from launcher.core.layout import MANIFEST_FILES, MANIFEST_SUMMARY

DP_MANIFEST = "manifest"
CHECKSUM_FILES = ("manifest-files.md5", "manifest-files.checksum")
SUMMARY_CHECKSUMS = ("manifest-summary.md5", "manifest-summary.checksum")


@dataclass(frozen=True)
class DataFileRef:
    """One data file of an export, as its manifest describes it."""

    key: str  # readable through the Location (relative, '../' or '/'-absolute)
    expected_items: int | None  # None: the format records no count (Data Pipeline)
    md5: str | None  # base64 MD5 of the object, None when the format has none
    manifest_key: str  # the key as the manifest wrote it (dataFileS3Key or url)


@dataclass
class ExportSource:
    loc: Location
    kind: str  # ours | native | incremental | datapipeline
    summary: dict[str, Any]
    files: list[DataFileRef] = field(default_factory=list)
    manifest_names: list[str] = field(default_factory=list)  # the manifest objects present, commit marker last

    @property
    def expected_items(self) -> int | None:
        if "itemCount" in self.summary:
            return int(self.summary["itemCount"])
        counts = [f.expected_items for f in self.files]
        known = [c for c in counts if c is not None]
        return sum(known) if len(known) == len(counts) else None

    @property
    def table_name(self) -> str | None:
        name = self.summary.get("tableName")
        if not name and self.summary.get("tableArn"):
            name = str(self.summary["tableArn"]).split(":table/", 1)[-1].split("/", 1)[0]
        return name or None

    @property
    def table_schema(self) -> dict[str, Any] | None:
        return self.summary.get("tableSchema")

    @property
    def identity(self) -> str:
        """What a checkpoint is tied to: the export's id, arn or location."""
        return str(self.summary.get("exportArn") or self.summary.get("exportId") or self.loc.uri)


def detect(loc: Location) -> ExportSource:
    """Read the manifests of the export at `loc`; IncompleteExport when there is no commit marker."""
    if loc.exists(MANIFEST_SUMMARY):
        return _native_like(loc)
    if loc.exists(DP_MANIFEST):
        return _data_pipeline(loc)
    raise IncompleteExport(
        f"{loc.uri}: no {MANIFEST_SUMMARY} (nor a Data Pipeline 'manifest'), so this export is "
        "incomplete and not a backup (or the path is not an export folder: it should end in AWSDynamoDB/<export-id>/)"
    )


def _json(loc: Location, key: str) -> Any:
    try:
        return json.loads(loc.read_bytes(key))
    except ValueError:
        raise IncompleteExport(f"{loc.uri}: {key} is not valid JSON") from None


def _native_like(loc: Location) -> ExportSource:
    summary = _json(loc, MANIFEST_SUMMARY)
    if not isinstance(summary, dict):
        raise IncompleteExport(f"{loc.uri}: {MANIFEST_SUMMARY} is not a JSON object")
    fmt = summary.get("outputFormat", "DYNAMODB_JSON")
    if fmt != "DYNAMODB_JSON":
        raise IncompleteExport(f"{loc.uri}: export format {fmt} is not supported (only DYNAMODB_JSON); export again with DYNAMODB_JSON")
    if summary.get("exportType") == "INCREMENTAL_EXPORT":
        kind = "incremental"
    elif (summary.get("exporter") or {}).get("tool") == "ddb-s3":
        kind = "ours"
    else:
        kind = "native"
    if not loc.exists(MANIFEST_FILES):
        raise IncompleteExport(f"{loc.uri}: {MANIFEST_FILES} is missing")
    raw = loc.read_bytes(MANIFEST_FILES)
    for name in CHECKSUM_FILES:  # native exports write .md5 (real samples) or .checksum (the docs)
        if loc.exists(name):
            from launcher.core.layout import md5_b64

            want = loc.read_bytes(name).decode().strip()
            if want and md5_b64(raw) != want:
                raise IncompleteExport(f"{loc.uri}: {MANIFEST_FILES} does not match {name}")
            break
    files = []
    for n, line in enumerate(raw.decode().splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            files.append(
                DataFileRef(
                    loc.resolve_data_key(entry["dataFileS3Key"]), int(entry["itemCount"]), str(entry["md5Checksum"]), entry["dataFileS3Key"]
                )
            )
        except (ValueError, KeyError, TypeError):
            raise IncompleteExport(f"{loc.uri}: {MANIFEST_FILES} line {n} is malformed") from None
    names = [n for n in (*CHECKSUM_FILES, MANIFEST_FILES, *SUMMARY_CHECKSUMS) if loc.exists(n)]
    # manifest-files first, its checksum, then the summary's checksum, then the summary last
    names.sort(key=lambda n: (n != MANIFEST_FILES, n in SUMMARY_CHECKSUMS))
    return ExportSource(loc, kind, summary, files, [*names, MANIFEST_SUMMARY])


def _data_pipeline(loc: Location) -> ExportSource:
    manifest = _json(loc, DP_MANIFEST)
    entries = manifest.get("entries") if isinstance(manifest, dict) else None
    if not isinstance(entries, list):
        raise IncompleteExport(f"{loc.uri}: {DP_MANIFEST} has no 'entries' list")
    if manifest.get("version") not in (None, 3):
        raise IncompleteExport(f"{loc.uri}: {DP_MANIFEST} version {manifest.get('version')} is not 3")
    files = []
    for n, entry in enumerate(entries, 1):
        url = entry.get("url") if isinstance(entry, dict) else None
        if not isinstance(url, str) or not url:
            raise IncompleteExport(f"{loc.uri}: {DP_MANIFEST} entry {n} has no url")
        # Every data file sits directly in the export folder: read it beside the manifest, so a
        # copied or downloaded folder works as well as the original S3 path.
        files.append(DataFileRef(posixpath.basename(url.rstrip("/")), None, None, url))
    summary = {"name": manifest.get("name"), "version": manifest.get("version"), "format": "datapipeline"}
    return ExportSource(loc, "datapipeline", summary, files, [DP_MANIFEST])


# --------------------------------------------------------------------------- reading data files


OUT_CHUNK = 1024 * 1024  # decompressed bytes at a time: JSON lines compress 10-30x


def _plain_chunks(chunks: Iterable[bytes], key: str) -> Iterator[bytes]:
    """A data file's bytes, gunzipped on the fly when it is gzip, never more than OUT_CHUNK of
    output at once (so memory stays flat however well the file compressed)."""
    gz = None
    for n, chunk in enumerate(chunks):
        if n == 0 and chunk[:2] == b"\x1f\x8b":
            gz = zlib.decompressobj(31)
        if gz is None:
            yield chunk
            continue
        yield gz.decompress(chunk, OUT_CHUNK)
        while gz.unconsumed_tail:
            yield gz.decompress(gz.unconsumed_tail, OUT_CHUNK)
    if gz is not None:
        yield gz.flush()
        if not gz.eof:
            raise zlib.error(f"{key}: truncated gzip stream")


def iter_lines(loc: Location, key: str, start: int = 0) -> Iterator[tuple[int, bytes]]:
    """(line number from 0, line bytes without the newline) of a data file, gzip or plain, streamed.
    Lines before `start` are skipped; empty lines are skipped (they are no items)."""
    return lines_of(loc.iter_chunks(key), key, start)


def lines_of(chunks: Iterable[bytes], key: str, start: int = 0) -> Iterator[tuple[int, bytes]]:
    """iter_lines over a stream of the file's raw chunks (verify taps them for the MD5)."""
    buf = b""
    n = 0
    for data in _plain_chunks(chunks, key):
        buf += data
        *lines, buf = buf.split(b"\n")
        for line in lines:
            if line.strip():
                if n >= start:
                    yield n, line
                n += 1
    if buf.strip() and n >= start:
        yield n, buf


@dataclass(frozen=True)
class Record:
    """One line of an export: a put of `item`, or (incremental exports only) a delete of `keys`."""

    op: str  # put | delete
    item: dict[str, Any]  # canonical export JSON; for delete, the key attributes
    line: int
    size: int = 0  # bytes of the line it came from: a cheap upper bound of the item's size


def parse_record(kind: str, line: bytes, n: int) -> Record:
    if kind != "incremental":
        return Record("put", parse_item_line(line), n, len(line))
    try:
        obj = json.loads(line)
    except ValueError as e:
        raise CodecError(f"malformed JSON: {e}") from None
    if not isinstance(obj, dict) or "Keys" not in obj:
        raise CodecError("an incremental export line needs 'Keys'")
    if obj.get("NewImage") is not None:
        return Record("put", parse_item_line(json.dumps({"Item": obj["NewImage"]})), n, len(line))
    return Record("delete", parse_item_line(json.dumps({"Item": obj["Keys"]})), n, len(line))


def iter_records(source: ExportSource, ref: DataFileRef, start: int = 0) -> Iterator[Record]:
    for n, line in iter_lines(source.loc, ref.key, start):
        try:
            yield parse_record(source.kind, line, n)
        except CodecError as e:
            raise IncompleteExport(f"{source.loc.uri}: {ref.key} line {n + 1}: {e}") from None


def iter_items(source: ExportSource) -> Iterator[dict[str, Any]]:
    """Every item (puts only) of every file, in manifest order."""
    for ref in source.files:
        for rec in iter_records(source, ref):
            if rec.op == "put":
                yield rec.item
