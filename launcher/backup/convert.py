"""convert: an export (any supported layout) to JSON lines, CSV or Parquet of plain values.

The rules (docs/backup.md has the full table):
* Numbers are never turned into floats. JSONL/CSV: the decimal text as DynamoDB stored it.
  Parquet: decimal128(38, s) when every value of the column fits (integer digits + s <= 38, s = the
  largest scale seen), else the decimal text as a string column.
* Binary: base64 text in JSONL/CSV; binary in Parquet.
* Sets: JSON arrays, sorted (SS by text, NS by value, BS by bytes); in Parquet list<string> for SS and
  NS (decimal text), list<binary> for BS.
* Maps and lists: nested JSON in JSONL; JSON text in CSV and in Parquet.
* NULL: null / empty cell. Attributes an item lacks: absent in JSONL, empty in CSV, null in Parquet.
* Items of differing shapes: the columns are the union of all attribute names (or --columns); a
  column whose items hold different types becomes a string column of the rendered values.
Memory stays bounded: items stream; CSV without --columns and Parquet read the export twice (one
pass to find the columns and their types, one to write), in row groups of ROWS_PER_GROUP.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from launcher.aws.session import Aws
from launcher.backup.formats import detect, iter_items
from launcher.backup.storage import open_location
from launcher.core.errors import BadInput
from launcher.core.s3args import S3WriteSettings
from launcher.core.s3uri import S3Uri

ROWS_PER_GROUP = 10_000
FORMATS = ("jsonl", "csv", "parquet")


def plain(av: dict[str, Any]) -> Any:
    """One export-JSON attribute value to a JSON-able plain value (numbers as decimal text)."""
    ((t, v),) = av.items()
    if t in ("S", "N", "B"):
        return v  # B is already base64 text in export JSON
    if t == "BOOL":
        return bool(v)
    if t == "NULL":
        return None
    if t == "SS":
        return sorted(v)
    if t == "NS":
        return sorted(v, key=Decimal)
    if t == "BS":
        return sorted(v, key=base64.b64decode)
    if t == "M":
        return {k: plain(x) for k, x in v.items()}
    if t == "L":
        return [plain(x) for x in v]
    raise BadInput(f"unknown DynamoDB type {t!r}")


def plain_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: plain(v) for k, v in item.items()}


def text(av: dict[str, Any] | None) -> str:
    """A value as one CSV cell / string column: scalars as their text, the rest as JSON text."""
    if av is None:
        return ""
    ((t, v),) = av.items()
    if t in ("S", "N", "B"):
        return v
    if t == "BOOL":
        return "true" if v else "false"
    if t == "NULL":
        return ""
    return json.dumps(plain(av), ensure_ascii=False, separators=(",", ":"))


@dataclass
class ColumnStats:
    types: set[str] = field(default_factory=set)
    scale: int = 0
    int_digits: int = 0

    def add(self, av: dict[str, Any]) -> None:
        ((t, v),) = av.items()
        if t == "NULL":
            return
        self.types.add(t)
        if t == "N":
            exp = Decimal(v).as_tuple()
            self.scale = max(self.scale, -int(exp.exponent)) if int(exp.exponent) < 0 else self.scale
            self.int_digits = max(self.int_digits, len(exp.digits) + int(exp.exponent))

    def arrow_type(self) -> Any:  # a pyarrow DataType
        import pyarrow as pa

        t = self.types
        if t == {"N"}:
            return pa.decimal128(38, self.scale) if self.int_digits + self.scale <= 38 else pa.string()
        return {
            frozenset({"S"}): pa.string(),
            frozenset({"BOOL"}): pa.bool_(),
            frozenset({"B"}): pa.binary(),
            frozenset({"SS"}): pa.list_(pa.string()),
            frozenset({"NS"}): pa.list_(pa.string()),
            frozenset({"BS"}): pa.list_(pa.binary()),
        }.get(frozenset(t), pa.string())


def arrow_value(av: dict[str, Any] | None, typ: Any) -> Any:  # typ: a pyarrow DataType
    import pyarrow as pa

    if av is None or "NULL" in av:
        return None
    ((t, v),) = av.items()
    if pa.types.is_decimal(typ):
        return Decimal(v)
    if pa.types.is_boolean(typ):
        return bool(v)
    if pa.types.is_binary(typ):
        return base64.b64decode(v)
    if pa.types.is_list(typ):
        if t == "BS":
            return [base64.b64decode(x) for x in plain(av)]
        return plain(av)
    return text(av)


@dataclass
class ConvertResult:
    out: str
    fmt: str
    items: int
    columns: list[str]
    column_types: dict[str, str]
    glue_table: str | None = None


def _scan(items: Callable[[], Iterator[dict]], columns: list[str] | None) -> dict[str, ColumnStats]:
    stats: dict[str, ColumnStats] = {c: ColumnStats() for c in columns or []}
    for item in items():
        for name, av in item.items():
            if columns is None or name in stats:
                stats.setdefault(name, ColumnStats()).add(av)
    return stats


def _write(fmt: str, items: Callable[[], Iterator[dict]], columns: list[str] | None, local: Path) -> tuple[int, list[str], dict[str, str]]:
    """Write the items to `local` in `fmt` through a .part file: the count, the columns and, for Parquet, their types."""
    part = local.with_name(local.name + ".part")
    count = 0
    types: dict[str, str] = {}
    try:
        if fmt == "jsonl":
            names: set[str] = set()  # the attribute names met: the columns of a one-pass JSONL
            with open(part, "w", encoding="utf-8") as f:
                for item in items():
                    row = plain_item(item) if columns is None else {c: plain(item[c]) for c in columns if c in item}
                    names.update(row)
                    f.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
                    count += 1
            cols = columns or sorted(names)
        elif fmt == "csv":
            cols = columns or sorted(_scan(items, None))
            with open(part, "w", encoding="utf-8", newline="") as f:
                w = csv.writer(f)
                w.writerow(cols)
                for item in items():
                    w.writerow([text(item.get(c)) for c in cols])
                    count += 1
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            stats = _scan(items, columns)
            cols = columns or sorted(stats)
            schema = pa.schema([pa.field(c, stats[c].arrow_type()) for c in cols])
            types = {f.name: str(f.type) for f in schema}
            with pq.ParquetWriter(part, schema, compression="snappy") as writer:
                rows: dict[str, list] = {c: [] for c in cols}

                def flush() -> None:
                    writer.write_table(pa.Table.from_pydict(rows, schema=schema))
                    for c in cols:
                        rows[c].clear()

                for item in items():
                    for fld in schema:
                        rows[fld.name].append(arrow_value(item.get(fld.name), fld.type))
                    count += 1
                    if count % ROWS_PER_GROUP == 0:
                        flush()
                if count % ROWS_PER_GROUP or count == 0:
                    flush()
        os.replace(part, local)
    finally:
        part.unlink(missing_ok=True)
    return count, cols, types


def _upload(s3: Any, local: Path, out: S3Uri, settings: S3WriteSettings) -> None:
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import ClientError

    from launcher.aws.errors import s3_error

    try:
        s3.upload_file(str(local), out.bucket, out.key, ExtraArgs=settings.write_args() or None)
    except S3UploadFailedError as e:  # s3transfer wraps the call's ClientError: say what S3 said
        if isinstance(e.__context__, ClientError):
            raise s3_error(e.__context__, out.bucket, out.key, "PutObject") from None
        raise


def convert(
    where: str,
    fmt: str,
    out: str,
    columns: list[str] | None = None,
    aws: Aws | None = None,
    settings: S3WriteSettings | None = None,
    glue_database: str | None = None,
    glue_table: str | None = None,
    say: Callable[[str], None] | None = None,
) -> ConvertResult:
    say = say or (lambda _m: None)
    if fmt not in FORMATS:
        raise BadInput(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if bool(glue_database) != bool(glue_table):
        raise BadInput("--glue-database and --glue-table go together")
    if glue_database and (fmt != "parquet" or not out.startswith("s3://")):
        raise BadInput("registering in Glue needs --format parquet and an s3:// --out (Athena reads S3)")
    if columns is not None:
        columns = [c.strip() for c in columns if c.strip()]
        if not columns or len(set(columns)) != len(columns):
            raise BadInput("--columns must be a comma-separated list of distinct attribute names")
    aws = aws or Aws()
    source = detect(open_location(where, aws, settings))
    if source.kind == "incremental":
        raise BadInput("an incremental export is a change log, not a table: restore it onto its base, then export and convert that")
    items = lambda: iter_items(source)  # noqa: E731
    s3_out = S3Uri.parse(out, "--out") if out.startswith("s3://") else None
    if s3_out is None:
        if Path(out).is_dir():
            raise BadInput(f"--out {out} is a folder: give a file path")
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        count, cols, types = _write(fmt, items, columns, Path(out))
    else:
        # staged in a folder of our own, removed whatever happens (a failed upload leaves nothing in /tmp)
        with tempfile.TemporaryDirectory(prefix="ddb-s3-convert-") as staging:
            local = Path(staging) / "out"
            count, cols, types = _write(fmt, items, columns, local)
            _upload(aws.client("s3"), local, s3_out, settings or S3WriteSettings())
        say(f"uploaded to {out}")
    result = ConvertResult(out, fmt, count, cols, types)
    if glue_database and glue_table and s3_out:
        from launcher.aws.glue import register_parquet

        folder = f"s3://{s3_out.bucket}/{s3_out.key.rsplit('/', 1)[0] + '/' if '/' in s3_out.key else ''}"
        register_parquet(aws.client("glue"), glue_database, glue_table, folder, types, say)
        result.glue_table = f"{glue_database}.{glue_table}"
    return result
