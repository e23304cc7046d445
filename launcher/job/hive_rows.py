"""Hive's staged export output -> DynamoDB JSON items (the Hive engine's conversion step).

export.hql writes rows with LazySimpleSerDe and its default separators, with escaping on
('escape.delim' = '\\', 'serialization.escape.crlf' = 'true'):

    row end      \\n      (unescaped)
    field        \\x01    (between typed columns)
    collection   \\x02    (between map entries, between array elements)
    map key      \\x03    (between an entry's key and value)
    NULL         \\N      (a whole field)

A separator, the escape character or CR/LF inside data is written escaped (`\\` + byte, CR/LF as
`\\r`/`\\n`), so attribute names and values may hold any character. Whole-item rows hold one map
column: attribute name -> the connector's JSON of one SDK-v1 AttributeValue ({"s": "x"},
{"nS": [...]}, {"nULLValue": true}). Typed rows hold one field per column, converted by the
column's DynamoDB type. Stdlib + launcher.codec only: this module runs in Spark executors.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from launcher.core.codec import CodecError, normalize_type_keys

FIELD, COLLECTION, MAPKEY, NEWLINE, ESCAPE = 0x01, 0x02, 0x03, 0x0A, 0x5C
NULL_FIELD = object()
# SDK v1's AttributeValue bean names the NULL flag `nULLValue` (Gson uses field names), which
# codec's case-insensitive type keys do not cover; the other v1 names (s, n, b, sS, nS, bS, m, l,
# bOOL) are its lower-cased type keys.
_V1_NAMES = {"nULLValue": "NULL", "NULLValue": "NULL", "nullValue": "NULL"}


class HiveRowError(ValueError):
    pass


def split_rows(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Rows of a staged file, still escaped, without their line end. A `\\` escapes the next byte,
    so an escaped line end does not end a row."""
    buf = bytearray()
    escaped = False
    for chunk in chunks:
        start = 0
        for i, byte in enumerate(chunk):
            if escaped:
                escaped = False
            elif byte == ESCAPE:
                escaped = True
            elif byte == NEWLINE:
                buf += chunk[start:i]
                yield bytes(buf)
                buf.clear()
                start = i + 1
        buf += chunk[start:]
    if buf:
        yield bytes(buf)


def split_escaped(data: bytes, sep: int) -> list[bytes]:
    """Split on unescaped `sep`; the parts stay escaped (for splitting again at the next level)."""
    parts, start, i, n = [], 0, 0, len(data)
    while i < n:
        byte = data[i]
        if byte == ESCAPE:
            i += 2
            continue
        if byte == sep:
            parts.append(data[start:i])
            start = i + 1
        i += 1
    parts.append(data[start:])
    return parts


def unescape(data: bytes) -> str:
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        byte = data[i]
        if byte == ESCAPE and i + 1 < n:
            nxt = data[i + 1]
            out.append({ord("n"): NEWLINE, ord("r"): 0x0D}.get(nxt, nxt))
            i += 2
        else:
            out.append(byte)
            i += 1
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError as e:
        raise HiveRowError(f"staged row is not UTF-8: {e}") from None


def _v1_to_canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {_V1_NAMES.get(k, k): _v1_to_canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_v1_to_canonical(v) for v in value]
    return value


def whole_item(row: bytes) -> dict:
    """One whole-item row (a single map<string,string> column) -> canonical DynamoDB JSON."""
    if row == b"\\N":
        raise HiveRowError("a staged row has no item (NULL map)")
    item: dict[str, Any] = {}
    if not row:
        return item
    for entry in split_escaped(row, COLLECTION):
        kv = split_escaped(entry, MAPKEY)
        if len(kv) != 2:
            raise HiveRowError(f"malformed map entry in a staged row: {entry[:80]!r}")
        name = unescape(kv[0])
        try:
            item[name] = json.loads(unescape(kv[1]))
        except json.JSONDecodeError as e:
            raise HiveRowError(f"attribute {name!r}: the connector's value is not JSON: {e}") from None
    try:
        return normalize_type_keys(_v1_to_canonical(item))
    except CodecError as e:
        raise HiveRowError(f"staged item: {e}") from None


def _scalar(text: str, ddb_type: str, hive_type: str) -> dict:
    if ddb_type == "S":
        return {"S": text}
    if ddb_type == "N":
        return {"N": text}
    if ddb_type == "BOOL":
        if text not in ("true", "false"):
            raise HiveRowError(f"boolean column holds {text!r}")
        return {"BOOL": text == "true"}
    if ddb_type == "B":
        return {"B": text}  # LazySimpleSerDe writes binary as base64 text
    raise HiveRowError(f"unsupported column type {hive_type}")


def typed_item(row: bytes, columns: list[dict]) -> dict:
    """One typed row -> canonical DynamoDB JSON. `columns` are the plan's hive columns
    ({"attribute", "hive_type", "ddb_type"}); a NULL field means the item lacks the attribute."""
    fields = split_escaped(row, FIELD)
    if len(fields) != len(columns):
        raise HiveRowError(f"a staged row has {len(fields)} fields, expected {len(columns)}")
    item = {}
    for raw, col in zip(fields, columns):
        if raw == b"\\N":
            continue
        ddb_type = col["ddb_type"]
        if ddb_type in ("SS", "NS", "BS"):
            elems = [unescape(e) for e in split_escaped(raw, COLLECTION)] if raw else []
            if not elems:
                continue  # DynamoDB has no empty sets
            item[col["attribute"]] = {ddb_type: elems}
        else:
            item[col["attribute"]] = _scalar(unescape(raw), ddb_type, col["hive_type"])
    try:
        return normalize_type_keys(item)
    except CodecError as e:
        raise HiveRowError(f"staged item: {e}") from None
