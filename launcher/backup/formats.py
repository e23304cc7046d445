"""Which kind of export is this, and its items as one uniform stream.

Four layouts are read (see docs/backup.md):

* ``ours``        -- ddb-s3's export: manifest-summary.json with ``exporter.tool == "ddb-s3"``.
* ``native``      -- DynamoDB ExportTableToPointInTime, full export (DYNAMODB_JSON).
* ``incremental`` -- the native incremental export (``exportType: INCREMENTAL_EXPORT``): lines of
  ``{"Metadata", "Keys", "NewImage"?, "OldImage"?}``, data files in the shared AWSDynamoDB/data/.
* ``datapipeline`` -- AWS Data Pipeline / emr-dynamodb-tools DynamoDBExport: a ``manifest`` file
  (``{"name":"DynamoDB-export","version":3,"entries":[{"url":...}]}``), one bare item a line with
  SDK-v1 lower-case type keys, no checksums and no counts. Also the older layout without a
  ``manifest`` (see :func:`_data_pipeline_folder`), and in either the older line form of the
  Hive-based export (see :func:`parse_delimited_item`).

Everything is streamed: a data file is read in 1 MiB chunks and decompressed on the fly, so memory
stays flat whatever the file size.
"""

from __future__ import annotations

import json
import posixpath
import re
import zlib
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from launcher.backup.storage import Location
from launcher.core.codec import CodecError, normalize_type_keys, parse_item_line
from launcher.core.errors import BadInput, IncompleteExport
from launcher.core.layout import DATA_DIR, MANIFEST_FILES, MANIFEST_SUMMARY, STARTED, SUMMARY_CHECKSUMS, ddb_s3_fields, md5_b64

DP_MANIFEST = "manifest"
DP_NO_MANIFEST = "datapipeline-no-manifest"  # the layout (not a kind) of a Data Pipeline folder without one
CHECKSUM_FILES = ("manifest-files.md5", "manifest-files.checksum")
OUR_DATA_FILE = re.compile(r"part-\d{5,}-\d{4,}-[0-9a-f]{12}\.json\.gz$")  # layout.data_file_name


@dataclass(frozen=True)
class DataFileRef:
    """One data file of an export, as its manifest describes it."""

    key: str  # readable through the Location (relative, '../' or '/'-absolute)
    expected_items: int | None  # None: the format records no count (Data Pipeline)
    md5: str | None  # base64 MD5 of the object, None when the format has none
    manifest_key: str  # the key as the manifest wrote it (dataFileS3Key or url)
    size: int | None = None  # ours: the object's size in bytes
    sha256: str | None = None  # ours: the SHA-256 checksum S3 stores with the object (layout.DataFile)


@dataclass(frozen=True)
class Checks:
    """What `verify` can establish about one layout of export, and what it cannot (item 5 of issue
    14: a format without checksums must not be reported as checksums that match)."""

    label: str
    checksums: bool  # every data file has an MD5 and an item count to check against
    checked: str
    unchecked: str = ""


CHECKS: dict[str, Checks] = {
    "ours": Checks(
        "ddb-s3 export",
        True,
        "every file's MD5 and item count against manifest-files.json (itself checked against manifest-files.md5)",
    ),
    "native": Checks(
        "native full export",
        True,
        "every file's MD5 and item count against manifest-files.json (and that against its .md5/.checksum when present)",
    ),
    "incremental": Checks(
        "native incremental export",
        True,
        "every file's MD5 and change count against manifest-files.json (and that against its .md5/.checksum when present)",
    ),
    "datapipeline": Checks(
        "Data Pipeline export",
        False,
        "every file its manifest lists is present, every line parsed as an item and counted",
        "Data Pipeline writes no checksums or item counts, so a file cut short at a line boundary cannot be detected",
    ),
    DP_NO_MANIFEST: Checks(
        "Data Pipeline export without a manifest",
        False,
        "every line of every data file in the folder parsed as an item and counted",
        "with no manifest there is no list of files and no checksums or item counts, "
        "so neither a missing file nor a file cut short at a line boundary can be detected",
    ),
}


def checks_for(kind: str, summary: dict[str, Any]) -> Checks:
    """The Checks of an export, from its kind and summary (a VerifyReport carries both)."""
    if kind == "datapipeline" and summary.get("manifest") is False:
        return CHECKS[DP_NO_MANIFEST]
    return CHECKS.get(kind, CHECKS["native"])


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
    def ours(self) -> dict[str, Any]:
        return ddb_s3_fields(self.summary)

    @property
    def table_name(self) -> str | None:
        name = self.ours.get("tableName")
        if not name and self.summary.get("tableArn"):
            name = str(self.summary["tableArn"]).split(":table/", 1)[-1].split("/", 1)[0]
        return name or None

    @property
    def table_schema(self) -> dict[str, Any] | None:
        return self.ours.get("tableSchema")

    @property
    def checks(self) -> Checks:
        return checks_for(self.kind, self.summary)

    @property
    def identity(self) -> str:
        """What a checkpoint is tied to: the export's id, arn or location."""
        return str(self.summary.get("exportArn") or self.ours.get("exportId") or self.loc.uri)


def detect(loc: Location) -> ExportSource:
    """Read the manifests of the export at `loc`; IncompleteExport when there is no commit marker."""
    if loc.exists(MANIFEST_SUMMARY):
        return _native_like(loc)
    if loc.exists(DP_MANIFEST):
        return _data_pipeline(loc)
    if loc.exists(STARTED):  # written first by ddb-s3 and by DynamoDB's own exports: one that never committed
        data = loc.list(DATA_DIR + "/")
        what = "interrupted ddb-s3 export" if any(OUR_DATA_FILE.search(k) for k in data) else None
        if not data and loc.list("") == [STARTED]:
            what = "interrupted export (it wrote no data, only its _started marker)"
        if what:
            raise IncompleteExport(
                f"{loc.uri}: no {MANIFEST_SUMMARY}, so this {what} is incomplete and not a backup: "
                "export again, or give a complete export" + _lister(loc.uri)
            )
    found = _data_pipeline_folder(loc)
    if isinstance(found, ExportSource):
        return found
    if not _any_export_files(loc):
        hint = f"ddb-s3 exports list {loc.uri} lists them" if loc.uri.startswith("s3://") else f"the one holding {MANIFEST_SUMMARY}"
        raise BadInput(f"no export at {loc.uri}: give an export's folder ({hint})")
    raise IncompleteExport(
        f"{loc.uri}: no {MANIFEST_SUMMARY} (nor a Data Pipeline 'manifest'), so this export is "
        "incomplete and not a backup (or the path is not an export folder: it should end in AWSDynamoDB/<export-id>/)"
        + (f"; nor is it a Data Pipeline export without a manifest: {found}" if found else "")
    )


def _any_export_files(loc: Location) -> bool:
    """Anything an export (even a half-written one) leaves in its folder: the _started marker, a data
    folder, a manifest, or files named as Data Pipeline names its data files (no extension, or .gz)."""
    if loc.exists(STARTED) or loc.list(DATA_DIR + "/") or any(loc.exists(n) for n in (MANIFEST_FILES, *CHECKSUM_FILES, *SUMMARY_CHECKSUMS)):
        return True
    top = [k for k in loc.list("") if k and "/" not in k and not _hidden(k)]
    return any("." not in (k[:-3] if k.endswith(".gz") else k) for k in top)


def _lister(uri: str) -> str:
    """' (ddb-s3 exports list <prefix> lists them)' for an S3 export folder <prefix>/AWSDynamoDB/<id>/."""
    parts = uri.rstrip("/").split("/")
    if not uri.startswith("s3://") or len(parts) < 5 or parts[-2] != "AWSDynamoDB":
        return ""
    return f" (ddb-s3 exports list {'/'.join(parts[:-2])}/ lists them)"


def _json(loc: Location, key: str) -> Any:
    try:
        return json.loads(loc.read_bytes(key))
    except ValueError:
        raise IncompleteExport(f"{loc.uri}: {key} is not valid JSON") from None


def _check_md5(loc: Location, raw: bytes, of: str, names: tuple[str, ...]) -> None:
    """The first of `names` present must hold the base64 MD5 of `raw` (native exports write .md5,
    as real samples show, or .checksum, as the docs say)."""
    for name in names:
        if loc.exists(name):
            want = loc.read_bytes(name).decode().strip()
            if want and md5_b64(raw) != want:
                raise IncompleteExport(f"{loc.uri}: {of} does not match {name}: the export is damaged")
            return


def _native_like(loc: Location) -> ExportSource:
    raw_summary = loc.read_bytes(MANIFEST_SUMMARY)
    _check_md5(loc, raw_summary, MANIFEST_SUMMARY, SUMMARY_CHECKSUMS)
    try:
        summary = json.loads(raw_summary)
    except ValueError:
        raise IncompleteExport(f"{loc.uri}: {MANIFEST_SUMMARY} is not valid JSON") from None
    if not isinstance(summary, dict):
        raise IncompleteExport(f"{loc.uri}: {MANIFEST_SUMMARY} is not a JSON object")
    fmt = summary.get("outputFormat", "DYNAMODB_JSON")
    if fmt != "DYNAMODB_JSON":
        raise IncompleteExport(f"{loc.uri}: export format {fmt} is not supported (only DYNAMODB_JSON); export again with DYNAMODB_JSON")
    if summary.get("exportType") == "INCREMENTAL_EXPORT":
        kind = "incremental"
    elif ddb_s3_fields(summary).get("tool") == "ddb-s3":
        kind = "ours"
    else:
        kind = "native"
    if not loc.exists(MANIFEST_FILES):
        raise IncompleteExport(f"{loc.uri}: {MANIFEST_FILES} is missing")
    raw = loc.read_bytes(MANIFEST_FILES)
    _check_md5(loc, raw, MANIFEST_FILES, CHECKSUM_FILES)
    files = []
    for n, line in enumerate(raw.decode().splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            files.append(
                DataFileRef(
                    loc.resolve_data_key(entry["dataFileS3Key"]),
                    int(entry["itemCount"]),
                    str(entry["md5Checksum"]),
                    entry["dataFileS3Key"],
                    int(entry["size"]) if entry.get("size") is not None else None,
                    entry.get("sha256Checksum"),
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
    summary = {"name": manifest.get("name"), "version": manifest.get("version"), "format": "datapipeline", "manifest": True}
    return ExportSource(loc, "datapipeline", summary, files, [DP_MANIFEST])


def _hidden(name: str) -> bool:
    """Hadoop's FileInputFormat skips names starting with '_' or '.' (_SUCCESS, .crc files); EMR's S3
    file systems leave '<folder>_$folder$' marker objects."""
    return name.startswith(("_", ".")) or name.endswith("_$folder$")


def _data_pipeline_folder(loc: Location) -> ExportSource | str | None:
    """The oldest Data Pipeline layout: a folder of data files and no manifest at all.

    emr-dynamodb-tools' ImportInputFormat.getSplits falls back to FileInputFormat when
    `<folder>/manifest` is missing: every file of the folder is read, one split a file, hidden names
    skipped (ImportRecordReaderFactory: "FileSplit indicates the old data pipeline format which
    doesn't include a manifest file"); ImportRecordReader picks a codec by file extension, so the
    files were plain text with no extension (or .gz). Nothing marks such an export complete, so it
    is recognised only when nothing else fits: no subfolders, every visible file named with no
    extension or '.gz' (a native export's data/*.json.gz or manifest-files.json never qualifies),
    and the first line found parses as a Data Pipeline item (folders of empty files are refused).

    Returns the source; None when the folder holds no data files at all; else why it is not one."""
    keys = [k for k in loc.list("") if k and k != "/"]  # "": the console's folder placeholder object
    visible = [k for k in keys if not _hidden(k.split("/", 1)[0])]  # a hidden folder (_temporary/) too
    if not visible:
        return None
    nested = [k for k in visible if "/" in k]
    if nested:
        return f"it has subfolders ({nested[0].split('/', 1)[0]}/)"
    odd = [k for k in visible if "." in (k[:-3] if k.endswith(".gz") else k)]
    if odd:
        return "it holds files that are not Data Pipeline data files (" + ", ".join(odd[:3]) + ("..." if len(odd) > 3 else "") + ")"
    for key in visible:  # the first non-empty line decides; empty files (empty segments) are skipped
        lines = iter_lines(loc, key)
        try:
            first = next(lines, None)
        except CorruptDataFile as e:
            return f"{key} is not a valid gzip file ({e.why})"
        finally:
            lines.close()
        if first is None:
            continue
        try:
            parse_data_pipeline_line(first[1])
        except CodecError as e:
            return f"line 1 of {key} is not a Data Pipeline item ({e})"
        break
    else:
        return "its files hold no lines at all, so nothing shows they are one"
    files = [DataFileRef(k, None, None, k) for k in visible]
    summary = {"name": None, "version": None, "format": "datapipeline", "manifest": False}
    return ExportSource(loc, "datapipeline", summary, files, [])


# --------------------------------------------------------------------------- reading data files


OUT_CHUNK = 1024 * 1024  # decompressed bytes at a time: JSON lines compress 10-30x


class CorruptDataFile(IncompleteExport):
    """A data file that does not gunzip: one line naming the file (exit 3, as a damaged export)."""

    def __init__(self, key: str, why: str) -> None:
        super().__init__(f"{key} is not a valid gzip file ({why}): the backup is damaged; download or export it again")
        self.key, self.why = key, why


def _plain_chunks(chunks: Iterable[bytes], key: str) -> Iterator[bytes]:
    """A data file's bytes, gunzipped on the fly when it is gzip, never more than OUT_CHUNK of
    output at once (so memory stays flat however well the file compressed)."""
    gz = None
    try:
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
    except zlib.error as e:
        raise CorruptDataFile(key, str(e)) from None
    if gz is not None and not gz.eof:
        raise CorruptDataFile(key, "truncated gzip stream")


def iter_lines(loc: Location, key: str, start: int = 0) -> Generator[tuple[int, bytes], None, None]:
    """(line number from 0, line bytes without the newline) of a data file, gzip or plain, streamed.
    Lines before `start` are skipped; empty lines are skipped (they are no items)."""
    return lines_of(loc.iter_chunks(key), key, start)


def lines_of(chunks: Iterable[bytes], key: str, start: int = 0) -> Generator[tuple[int, bytes], None, None]:
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


STX = "\x02"  # ^B: between attributes in the Hive-based export's lines
ETX = "\x03"  # ^C: between an attribute's name and its value


def _short(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def parse_delimited_item(line: bytes) -> dict[str, Any]:
    """One line of the old Hive-based Data Pipeline export: ``name ETX value (STX name ETX value)*``,
    each value one attribute value as JSON with SDK-v1 type keys, e.g.
    ``id^C{"s":"Seattle"}^Bscores^C{"nS":["100","30","45"]}`` (DynamoDBItemWritable.fixMalformedJson
    in emr-dynamodb-connector reads it by turning ^B into ',' and ^C into ':'; Hive's default
    collection and map-key separators, as DynamoDBExportSerDe splits them). The values were written
    by Gson, which escapes every control character, so a raw ETX is never inside a value: a name is
    everything before the field's last ETX."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CodecError(f"line is not UTF-8: {e}") from None
    fields = text.rstrip("\r\n").split(STX)
    raw: dict[str, Any] = {}
    for i, fld in enumerate(fields, 1):
        where = f"ETX/STX line, attribute {i} of {len(fields)}"
        name, sep, value = fld.rpartition(ETX)
        if not sep:
            raise CodecError(f"{where}: no ETX (\\x03) between name and value in {_short(fld)}")
        if not name:
            raise CodecError(f"{where}: empty attribute name")
        if name in raw:
            raise CodecError(f"{where}: attribute {name!r} appears twice")
        try:
            raw[name] = json.loads(value)
        except ValueError as e:
            msg = getattr(e, "msg", str(e))
            raise CodecError(f"{where} ({name!r}): value is not JSON ({msg}): {_short(value)}") from None
    return normalize_type_keys(raw)


def parse_data_pipeline_line(line: bytes) -> dict[str, Any]:
    """A Data Pipeline data line in either form, decided per line as the connector's
    DynamoDBItemWritable.readFieldsStream does: Gson JSON of the item (``{"attr":{"s":...}}``), or
    the ETX/STX form. A JSON line never holds a raw ETX (JSON forbids raw control characters)."""
    if ETX.encode() in line:
        return parse_delimited_item(line)
    if not line.lstrip().startswith(b"{"):
        raise CodecError("neither a JSON item ({...}) nor an ETX/STX-delimited item (name\\x03value\\x02...)")
    return parse_item_line(line)


def parse_record(kind: str, line: bytes, n: int) -> Record:
    if kind == "datapipeline":
        return Record("put", parse_data_pipeline_line(line), n, len(line))
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
