"""Type-exact codec between DynamoDB JSON and Python values.

Three representations of an item (an attribute map ``{name: attribute value}``):

* **export JSON** -- what export data files hold (native ``ExportTableToPointInTime``
  DYNAMODB_JSON and ours): ``{"attr": {"S": "..."}}`` with the type keys
  ``S N B BOOL NULL M L SS NS BS``; numbers are strings; binary (``B`` and each
  ``BS`` element) is standard, padded base64 text.
* **wire** -- what the boto3 low-level client returns and accepts: the same shape,
  but ``B``/``BS`` values are ``bytes``.
* **Python** -- ``str``, ``Decimal`` (never ``float``), ``bytes``, ``bool``, ``None``,
  ``dict``, ``list`` and ``set`` of str/Decimal/bytes (via boto3's
  ``TypeSerializer``/``TypeDeserializer``).

Reading also accepts the Data Pipeline / ``DynamoDBExport`` format (SDK v1 Gson casing:
``s n b sS nS bS m l bOOL nULL``, and ``nULLValue`` from connector 4.x) through
:func:`normalize_type_keys` and :func:`parse_item_line`; type keys match case-insensitively there,
as in the connector's own ``AttributeValueDeserializer``.

Numbers follow DynamoDB's rules exactly: at most 38 significant digits (leading and
trailing zeros do not count) and a magnitude of 0 or 1E-130 .. 9.99..9E+125. They are
parsed with ``Decimal(str)``, which is exact, and checked against those rules explicitly.
boto3's ``DYNAMODB_CONTEXT`` alone is not used for the check because it accepts values
DynamoDB rejects (``1E+126``, ``1E-131``) and rejects values DynamoDB accepts
(``1.0000000000000000000000000000000000001E-130``, ``10**40``).
Number strings are passed through unchanged between wire and export JSON.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Union, cast

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer

__all__ = [
    "TYPE_KEYS",
    "CodecError",
    "check_number",
    "from_python",
    "item_key",
    "item_line",
    "item_text",
    "items_equal",
    "json_to_wire",
    "normalize_type_keys",
    "parse_item_line",
    "text_line",
    "to_python",
    "wire_to_json",
]

TYPE_KEYS: frozenset[str] = frozenset({"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"})
_CANONICAL_BY_LOWER: dict[str, str] = {k.lower(): k for k in TYPE_KEYS}
# emr-dynamodb-connector 4.x wrote items with plain Gson reflection over the SDK v1 AttributeValue
# (DynamoDBUtil registered adapters for ByteBuffer only), so the JSON keys are that class's field
# names: ``nULL`` in SDK 1.10 and earlier, ``nULLValue`` in SDK 1.11 (which 4.x built against).
_CANONICAL_BY_LOWER["nullvalue"] = "NULL"
_KEY_TYPES = frozenset({"S", "N", "B"})

MAX_DIGITS = 38
MIN_ADJUSTED_EXPONENT = -130  # 1E-130
MAX_ADJUSTED_EXPONENT = 125  # 9.99..9E+125

_Path = tuple[Union[str, int], ...]  # evaluated at import, and EMR 7 nodes run Python 3.9 (no `X | Y` there)


class CodecError(ValueError):
    """A value cannot be converted; ``path`` names the attribute (``a.b[2]``)."""

    def __init__(self, message: str, path: _Path = ()) -> None:
        self.path = path
        self.reason = message
        where = _format_path(path)
        super().__init__(f"{where}: {message}" if where else message)


def _format_path(path: _Path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif out:
            out += f".{part}"
        else:
            out = str(part)
    return out


# --------------------------------------------------------------------------- numbers


# A plain decimal of at most 38 digits always meets DynamoDB's rules (38 significant digits at
# most, magnitude between 1E-38 and 1E+38): checked without building a Decimal. Most numbers are.
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?", re.ASCII)


def _check_number_text(text: Any, path: _Path) -> None:
    if type(text) is str and len(text) <= MAX_DIGITS and _PLAIN_NUMBER.fullmatch(text):
        return
    check_number(text, path)


def check_number(text: Any, path: _Path = ()) -> Decimal:
    """Parse a DynamoDB number string exactly and check DynamoDB's rules; return the Decimal."""
    if not isinstance(text, str):
        raise CodecError(f"number must be a string, got {type(text).__name__}", path)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise CodecError(f"not a number: {text!r}", path) from None
    if not value.is_finite():
        raise CodecError(f"number must be finite: {text!r}", path)
    if text != text.strip() or "_" in text:
        raise CodecError(f"not a number: {text!r}", path)
    if value.is_zero():
        return value
    significant = len("".join(map(str, value.as_tuple().digits)).rstrip("0"))
    if significant > MAX_DIGITS:
        raise CodecError(f"number has more than {MAX_DIGITS} significant digits: {text!r}", path)
    adjusted = value.adjusted()
    if adjusted < MIN_ADJUSTED_EXPONENT or adjusted > MAX_ADJUSTED_EXPONENT:
        raise CodecError(f"number out of DynamoDB range (1E-130 .. 9.9..9E+125): {text!r}", path)
    return value


# --------------------------------------------------------------------------- the walker


def _b64_to_bytes(value: Any, path: _Path) -> bytes:
    if not isinstance(value, str):
        raise CodecError(f"binary must be base64 text, got {type(value).__name__}", path)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CodecError(f"invalid base64 ({exc})", path) from None


def _bytes_to_b64(value: Any, path: _Path) -> str:
    if isinstance(value, Binary):
        value = value.value
    if not isinstance(value, (bytes, bytearray)):
        raise CodecError(f"binary must be bytes, got {type(value).__name__}", path)
    return base64.b64encode(value).decode("ascii")


def _b64_check(value: Any, path: _Path) -> str:
    _b64_to_bytes(value, path)  # raises unless value is base64 text
    return cast(str, value)


def _bytes_key(value: Any) -> bytes:
    return bytes(value.value if isinstance(value, Binary) else value)


class _Walker:
    """Validates an attribute map and rebuilds it, mapping binary values with ``binary``.

    ``lenient`` matches type keys case-insensitively (the Data Pipeline casing).
    ``bytes_in`` says whether incoming binary values are bytes (wire) or base64 text.
    """

    __slots__ = ("binary", "bytes_in", "lenient")

    def __init__(self, binary: Callable[[Any, _Path], Any], *, lenient: bool, bytes_in: bool) -> None:
        self.binary = binary
        self.lenient = lenient
        self.bytes_in = bytes_in

    def item(self, item: Any, path: _Path = ()) -> dict[str, Any]:
        if type(item) is not dict and not isinstance(item, Mapping):  # type(): the ABC check is slow
            raise CodecError(f"an item must be a JSON object, got {type(item).__name__}", path)
        out: dict[str, Any] = {}
        for name, av in item.items():
            if not isinstance(name, str):
                raise CodecError(f"attribute name must be a string, got {name!r}", path)
            out[name] = self.value(av, (*path, name))
        return out

    def value(self, av: Any, path: _Path) -> dict[str, Any]:
        if (type(av) is not dict and not isinstance(av, Mapping)) or len(av) != 1:
            raise CodecError(f"attribute value must be an object with exactly one type key, got {_short(av)}", path)
        ((key, val),) = av.items()
        if key in TYPE_KEYS:
            tk = key
        elif self.lenient and isinstance(key, str) and key.lower() in _CANONICAL_BY_LOWER:
            tk = _CANONICAL_BY_LOWER[key.lower()]
        else:
            raise CodecError(f"unknown type key {key!r}", path)

        if tk == "S":
            if not isinstance(val, str):
                raise CodecError(f"S value must be a string, got {type(val).__name__}", path)
            return {"S": val}
        if tk == "N":
            _check_number_text(val, path)
            return {"N": val}
        if tk == "B":
            return {"B": self.binary(val, path)}
        if tk == "BOOL":
            if not isinstance(val, bool):
                raise CodecError(f"BOOL value must be true or false, got {val!r}", path)
            return {"BOOL": val}
        if tk == "NULL":
            if val is not True:
                raise CodecError(f"NULL value must be true, got {val!r}", path)
            return {"NULL": True}
        if tk == "M":
            if type(val) is not dict and not isinstance(val, Mapping):
                raise CodecError(f"M value must be an object, got {type(val).__name__}", path)
            return {"M": self.item(val, path)}
        if tk == "L":
            if not isinstance(val, (list, tuple)):
                raise CodecError(f"L value must be a list, got {type(val).__name__}", path)
            return {"L": [self.value(v, (*path, i)) for i, v in enumerate(val)]}
        # sets
        if not isinstance(val, (list, tuple)):
            raise CodecError(f"{tk} value must be a list, got {type(val).__name__}", path)
        if not val:
            raise CodecError(f"{tk} must not be empty (DynamoDB has no empty sets)", path)
        seen: set[Any] = set()
        out: list[Any] = []
        for i, elem in enumerate(val):
            epath = (*path, i)
            if tk == "SS":
                if not isinstance(elem, str):
                    raise CodecError(f"SS element must be a string, got {type(elem).__name__}", epath)
                ident: Any = elem
                conv = elem
            elif tk == "NS":
                ident = check_number(elem, epath)
                conv = elem
            else:
                conv = self.binary(elem, epath)
                ident = _bytes_key(elem) if self.bytes_in else _b64_to_bytes(elem, epath)
            if ident in seen:
                raise CodecError(f"duplicate {tk} element {_short(elem)}", epath)
            seen.add(ident)
            out.append(conv)
        return {tk: out}


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_TO_JSON = _Walker(_bytes_to_b64, lenient=False, bytes_in=True)
_TO_WIRE = _Walker(_b64_to_bytes, lenient=False, bytes_in=False)
_CHECK_JSON = _Walker(_b64_check, lenient=False, bytes_in=False)
_NORMALIZE = _Walker(_b64_check, lenient=True, bytes_in=False)


def wire_to_json(item: dict[str, Any]) -> dict[str, Any]:
    """Wire item (boto3 client, binary as bytes) -> export-file DynamoDB JSON (binary as base64)."""
    return _TO_JSON.item(item)


def json_to_wire(item: dict[str, Any]) -> dict[str, Any]:
    """Export-file DynamoDB JSON (binary as base64) -> wire item for the boto3 client (bytes)."""
    return _TO_WIRE.item(item)


def normalize_type_keys(item: dict[str, Any]) -> dict[str, Any]:
    """Accept canonical or SDK-v1/Data Pipeline type keys (``s``, ``sS``, ``bOOL``...), return canonical JSON."""
    return _NORMALIZE.item(item)


# --------------------------------------------------------------------------- Python values


class _Deserializer(TypeDeserializer):  # type: ignore[misc]  # boto3 has no type information
    """boto3's deserializer with plain ``bytes`` for B/BS and exact Decimals for N/NS."""

    def _deserialize_n(self, value: str) -> Decimal:
        return check_number(value)

    def _deserialize_b(self, value: Any) -> bytes:
        return _bytes_key(value)


class _Serializer(TypeSerializer):  # type: ignore[misc]  # boto3 has no type information
    """boto3's serializer that checks DynamoDB's number rules, rejects empty sets and tracks the path."""

    def __init__(self) -> None:
        self.path: list[str | int] = []

    def serialize(self, value: Any) -> dict[str, Any]:
        try:
            av: dict[str, Any] = super().serialize(value)
            return av
        except CodecError:
            raise
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise CodecError(str(exc), tuple(self.path)) from None

    def _serialize_n(self, value: Any) -> str:
        # not a Decimal: an int (bool is caught earlier by the serializer)
        text = str(value) if isinstance(value, Decimal) else str(int(value))
        check_number(text, tuple(self.path))
        return text

    def _serialize_set(self, value: Any, conv: Callable[[Any], Any], tag: str, key: Callable[[Any], Any]) -> list[Any]:
        if not value:
            raise CodecError(f"{tag} must not be empty (DynamoDB has no empty sets)", tuple(self.path))
        # Sorted so that the same set always gives the same line (Python set order is arbitrary).
        return sorted((conv(v) for v in value), key=key)

    def _serialize_ss(self, value: Any) -> list[Any]:
        return self._serialize_set(value, self._serialize_s, "SS", key=lambda s: s)

    def _serialize_ns(self, value: Any) -> list[Any]:
        return self._serialize_set(value, self._serialize_n, "NS", key=lambda n: (Decimal(n), n))

    def _serialize_bs(self, value: Any) -> list[Any]:
        return self._serialize_set(value, lambda b: bytes(self._serialize_b(b)), "BS", key=lambda b: b)

    def _serialize_l(self, value: Any) -> list[Any]:
        out: list[Any] = []
        for i, v in enumerate(value):
            self.path.append(i)
            out.append(self.serialize(v))
            self.path.pop()
        return out

    def _serialize_m(self, value: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise CodecError(f"map key must be a string, got {k!r}", tuple(self.path))
            self.path.append(k)
            out[k] = self.serialize(v)
            self.path.pop()
        return out


_DESERIALIZER = _Deserializer()


def to_python(item_json: dict[str, Any]) -> dict[str, Any]:
    """Export JSON -> Python values (str, Decimal, bytes, bool, None, dict, list, set)."""
    wire = json_to_wire(item_json)
    return {name: _DESERIALIZER.deserialize(av) for name, av in wire.items()}


def from_python(item: dict[str, Any]) -> dict[str, Any]:
    """Python values -> export JSON. Floats, empty sets and out-of-range numbers raise CodecError."""
    if not isinstance(item, Mapping):
        raise CodecError(f"an item must be a dict, got {type(item).__name__}")
    ser = _Serializer()
    wire: dict[str, Any] = {}
    for name, value in item.items():
        if not isinstance(name, str):
            raise CodecError(f"attribute name must be a string, got {name!r}")
        ser.path = [name]
        wire[name] = ser.serialize(value)
    return wire_to_json(wire)


# --------------------------------------------------------------------------- lines


def item_line(item_json: dict[str, Any]) -> str:
    """One export data line ``{"Item":{...}}``: compact, UTF-8 text kept as is, no newline."""
    return text_line(item_text(item_json))


def item_text(item_json: dict[str, Any]) -> str:
    """An item's compact JSON text (what DynamoDB itself sends)."""
    return json.dumps(item_json, separators=(",", ":"), ensure_ascii=False)


def text_line(text: str) -> str:
    """The export data line of an item's JSON text, which must hold no line break."""
    return '{"Item":' + text + "}"


def parse_item_line(line: str | bytes | bytearray) -> dict[str, Any]:
    """Parse one data line into a canonical attribute map.

    Accepts ``{"Item": {...}}`` lines (native export, ours) and bare attribute-map lines
    (Data Pipeline / DynamoDBExport, SDK-v1 lower-case type keys).
    """
    if isinstance(line, (bytes, bytearray)):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CodecError(f"line is not UTF-8: {exc}") from None
    text = line.rstrip("\r\n")
    if not text.strip():
        raise CodecError("empty line")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CodecError(f"malformed JSON at column {exc.colno}: {exc.msg}") from None
    if not isinstance(obj, dict):
        raise CodecError(f"a line must hold a JSON object, got {type(obj).__name__}")
    wrapped = len(obj) == 1 and "Item" in obj and isinstance(obj["Item"], dict)
    if wrapped:
        try:
            return _CHECK_JSON.item(obj["Item"])  # native / ours: canonical keys
        except CodecError:
            pass
    try:
        return _NORMALIZE.item(obj)  # Data Pipeline: bare map, any casing
    except CodecError as bare_error:
        if not wrapped:
            raise
        try:
            return _NORMALIZE.item(obj["Item"])
        except CodecError as exc:
            raise exc from bare_error


# --------------------------------------------------------------------------- keys and equality


def _comparable(av: Any, path: _Path) -> tuple[Any, ...]:
    """A hashable, type-tagged form of a canonical attribute value (numbers by value, sets unordered)."""
    if not isinstance(av, Mapping) or len(av) != 1:
        raise CodecError(f"attribute value must have exactly one type key, got {_short(av)}", path)
    ((tk, val),) = av.items()
    if (tk == "S" and isinstance(val, str)) or (tk == "BOOL" and isinstance(val, bool)) or (tk == "NULL" and val is True):
        return (tk, val)
    if tk in ("S", "BOOL", "NULL") or (tk in ("SS", "NS", "BS", "L") and not isinstance(val, (list, tuple))):
        raise CodecError(f"malformed {tk} value {_short(val)}", path)
    if tk == "M" and not isinstance(val, Mapping):
        raise CodecError(f"malformed M value {_short(val)}", path)
    if tk == "N":
        return (tk, check_number(val, path))
    if tk == "B":
        return (tk, _b64_to_bytes(val, path))
    if tk == "SS":
        if not all(isinstance(v, str) for v in val):
            raise CodecError("SS elements must be strings", path)
        return (tk, frozenset(val))
    if tk == "NS":
        return (tk, frozenset(check_number(v, (*path, i)) for i, v in enumerate(val)))
    if tk == "BS":
        return (tk, frozenset(_b64_to_bytes(v, (*path, i)) for i, v in enumerate(val)))
    if tk == "L":
        return (tk, tuple(_comparable(v, (*path, i)) for i, v in enumerate(val)))
    if tk == "M":
        return (tk, frozenset((k, _comparable(v, (*path, k))) for k, v in val.items()))
    raise CodecError(f"unknown type key {tk!r}", path)


def item_key(item_json: dict[str, Any], key_names: list[str]) -> tuple[Any, ...]:
    """Hashable key of an item: one ``(type, value)`` pair per key name, in ``key_names`` order.

    Values are ``str`` for S, ``Decimal`` for N (so "1.50" and "1.5" are one key) and ``bytes`` for B.
    """
    out: list[tuple[Any, ...]] = []
    for name in key_names:
        if name not in item_json:
            raise CodecError("key attribute missing from item", (name,))
        av = item_json[name]
        if not isinstance(av, Mapping) or len(av) != 1 or next(iter(av)) not in _KEY_TYPES:
            raise CodecError(f"key attribute must be S, N or B, got {_short(av)}", (name,))
        out.append(_comparable(av, (name,)))
    return tuple(out)


def items_equal(a_json: dict[str, Any], b_json: dict[str, Any]) -> bool:
    """Type-exact equality of two canonical items: sets unordered, numbers by exact value."""
    a = _comparable({"M": a_json}, ())
    b = _comparable({"M": b_json}, ())
    return a == b
