"""Tests for launcher.core.codec: DynamoDB JSON <-> wire <-> Python, type-exact."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest
from boto3.dynamodb.types import Binary
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from launcher.core.codec import (
    CodecError,
    check_number,
    from_python,
    item_key,
    item_line,
    items_equal,
    json_to_wire,
    normalize_type_keys,
    parse_item_line,
    to_python,
    wire_to_json,
)

pytestmark = pytest.mark.unit

D38 = "12345678901234567890123456789012345678"
MAX_N = "9.9999999999999999999999999999999999999E+125"
MIN_N = "1E-130"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# --------------------------------------------------------------------------- every type

WIRE_ALL = {
    "s": {"S": "hello"},
    "n": {"N": "-12.50"},
    "b": {"B": b"\x00\x01\xfe\xff"},
    "t": {"BOOL": True},
    "f": {"BOOL": False},
    "z": {"NULL": True},
    "m": {"M": {"inner": {"S": "x"}, "bin": {"B": b"abc"}}},
    "l": {"L": [{"N": "1"}, {"S": "two"}, {"B": b"\x03"}, {"BS": [b"\x04", b"\x05"]}]},
    "ss": {"SS": ["a", "b", ""]},
    "ns": {"NS": ["1", "-2.5", MIN_N]},
    "bs": {"BS": [b"", b"\x00", b"\xff\xfe"]},
}

JSON_ALL = {
    "s": {"S": "hello"},
    "n": {"N": "-12.50"},
    "b": {"B": "AAH+/w=="},
    "t": {"BOOL": True},
    "f": {"BOOL": False},
    "z": {"NULL": True},
    "m": {"M": {"inner": {"S": "x"}, "bin": {"B": "YWJj"}}},
    "l": {"L": [{"N": "1"}, {"S": "two"}, {"B": "Aw=="}, {"BS": ["BA==", "BQ=="]}]},
    "ss": {"SS": ["a", "b", ""]},
    "ns": {"NS": ["1", "-2.5", MIN_N]},
    "bs": {"BS": ["", "AA==", "//4="]},
}


def test_wire_to_json_every_type():
    assert wire_to_json(WIRE_ALL) == JSON_ALL


def test_json_to_wire_every_type():
    wire = json_to_wire(JSON_ALL)
    assert wire == WIRE_ALL
    assert type(wire["b"]["B"]) is bytes
    assert all(type(x) is bytes for x in wire["bs"]["BS"])


def test_wire_json_wire_round_trip():
    assert json_to_wire(wire_to_json(WIRE_ALL)) == WIRE_ALL
    assert wire_to_json(json_to_wire(JSON_ALL)) == JSON_ALL


def test_wire_accepts_bytearray_and_boto3_binary():
    out = wire_to_json({"a": {"B": bytearray(b"\x01")}, "b": {"BS": [Binary(b"\x02"), b"\x03"]}})
    assert out == {"a": {"B": "AQ=="}, "b": {"BS": ["Ag==", "Aw=="]}}


def test_to_python_every_type():
    py = to_python(JSON_ALL)
    assert py == {
        "s": "hello",
        "n": Decimal("-12.50"),
        "b": b"\x00\x01\xfe\xff",
        "t": True,
        "f": False,
        "z": None,
        "m": {"inner": "x", "bin": b"abc"},
        "l": [Decimal(1), "two", b"\x03", {b"\x04", b"\x05"}],
        "ss": {"a", "b", ""},
        "ns": {Decimal(1), Decimal("-2.5"), Decimal(MIN_N)},
        "bs": {b"", b"\x00", b"\xff\xfe"},
    }
    assert type(py["b"]) is bytes  # not boto3 Binary
    assert type(py["m"]["bin"]) is bytes
    assert all(type(x) is bytes for x in py["bs"])
    assert type(py["n"]) is Decimal
    assert str(py["n"]) == "-12.50"  # exact, not normalized
    assert type(py["t"]) is bool and type(py["z"]) is type(None)


def test_from_python_every_type():
    py = {
        "s": "hello",
        "i": 42,
        "n": Decimal("-12.50"),
        "b": b"\x00\x01\xfe\xff",
        "ba": bytearray(b"\x01"),
        "bb": Binary(b"\x02"),
        "t": True,
        "z": None,
        "m": {"inner": "x", "bin": b"abc"},
        "l": [1, "two", b"\x03", {b"\x05", b"\x04"}],
        "ss": {"b", "a"},
        "ns": {3, Decimal("-2.5"), Decimal("10")},
        "bs": {b"\xff", b""},
    }
    assert from_python(py) == {
        "s": {"S": "hello"},
        "i": {"N": "42"},
        "n": {"N": "-12.50"},
        "b": {"B": "AAH+/w=="},
        "ba": {"B": "AQ=="},
        "bb": {"B": "Ag=="},
        "t": {"BOOL": True},
        "z": {"NULL": True},
        "m": {"M": {"inner": {"S": "x"}, "bin": {"B": "YWJj"}}},
        "l": {"L": [{"N": "1"}, {"S": "two"}, {"B": "Aw=="}, {"BS": ["BA==", "BQ=="]}]},
        "ss": {"SS": ["a", "b"]},  # sets come out sorted: stable lines
        "ns": {"NS": ["-2.5", "3", "10"]},
        "bs": {"BS": ["", "/w=="]},
    }


def test_python_json_python_round_trip():
    py = to_python(JSON_ALL)
    assert to_python(from_python(py)) == py
    assert items_equal(from_python(py), JSON_ALL)


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    "text",
    [
        D38,
        "-" + D38,
        "0." + D38,
        MIN_N,
        "-" + MIN_N,
        MAX_N,
        "-" + MAX_N,
        "1.0000000000000000000000000000000000001E-130",  # 38 digits at the bottom of the range
        "1" + "0" * 60,  # one significant digit: trailing zeros do not count
        "0.000" + D38,
        "0",
        "-0",
        "0.00",
        "1e5",
    ],
)
def test_legal_numbers_pass_through_exactly(text):
    item = {"n": {"N": text}, "ns": {"NS": [text, "7"]}}
    assert json_to_wire(item) == item
    assert wire_to_json(item) == item
    py = to_python(item)
    assert py["n"] == Decimal(text)
    assert str(py["n"]) == str(Decimal(text))
    assert items_equal(from_python(py), item)


@pytest.mark.parametrize(
    "text, why",
    [
        (D38 + "9", "38 significant digits"),
        ("1.00000000000000000000000000000000000001", "38 significant digits"),
        ("1E+126", "range"),
        ("10E+125", "range"),
        ("1E-131", "range"),
        ("0.9E-130", "range"),
        ("NaN", "finite"),
        ("Infinity", "finite"),
        ("-Infinity", "finite"),
        ("abc", "not a number"),
        ("", "not a number"),
        (" 1", "not a number"),
        ("1_000", "not a number"),
    ],
)
def test_illegal_numbers_rejected(text, why):
    with pytest.raises(CodecError, match=why):
        json_to_wire({"n": {"N": text}})
    with pytest.raises(CodecError, match=why):
        to_python({"n": {"NS": ["1", text]}})


def test_number_must_be_json_string():
    with pytest.raises(CodecError, match="n: number must be a string"):
        json_to_wire({"n": {"N": 5}})


def test_negative_numbers_and_exact_values():
    py = to_python({"a": {"N": "-0.000001"}, "b": {"N": "-" + D38}, "c": {"N": "-" + MAX_N}})
    assert py == {"a": Decimal("-0.000001"), "b": -int(D38), "c": Decimal("-" + MAX_N)}  # unary minus would round to 28 digits
    assert str(py["b"]) == "-" + D38
    assert check_number("-" + MAX_N) == Decimal("-" + MAX_N)


def test_from_python_numbers():
    assert from_python({"x": 10**40}) == {"x": {"N": "1" + "0" * 40}}
    assert from_python({"x": Decimal(MAX_N)}) == {"x": {"N": MAX_N}}
    assert from_python({"x": Decimal(MIN_N)}) == {"x": {"N": MIN_N}}
    assert from_python({"x": -int(D38)}) == {"x": {"N": "-" + D38}}
    with pytest.raises(CodecError, match="38 significant digits"):
        from_python({"x": int(D38 + "1")})
    with pytest.raises(CodecError, match="range"):
        from_python({"x": Decimal("1E+126")})
    with pytest.raises(CodecError, match="finite"):
        from_python({"x": Decimal("NaN")})
    with pytest.raises(CodecError, match="finite"):
        from_python({"x": Decimal("-Infinity")})


# --------------------------------------------------------------------------- floats


@pytest.mark.parametrize(
    "item, path",
    [
        ({"x": 1.5}, "x"),
        ({"x": 0.0}, "x"),
        ({"x": float("nan")}, "x"),
        ({"x": [1, {"y": 2.0}]}, "x[1].y"),
        ({"x": {1.5, 2.5}}, "x"),
        ({"x": {"a": {"b": [float("inf")]}}}, "x.a.b[0]"),
    ],
)
def test_floats_rejected_with_path(item, path):
    with pytest.raises(CodecError, match="Float types are not supported") as err:
        from_python(item)
    assert str(err.value).startswith(path + ":")
    assert err.value.path == tuple(int(p[:-1]) if p.endswith("]") else p for p in path.replace("[", ".").split("."))
    assert isinstance(err.value, ValueError)


def test_from_python_other_errors():
    with pytest.raises(CodecError, match="empty"):
        from_python({"s": set()})
    with pytest.raises(CodecError, match="Unsupported type"):
        from_python({"s": {"a", 1}})
    with pytest.raises(CodecError, match="map key must be a string"):
        from_python({"m": {1: "a"}})
    with pytest.raises(CodecError, match="attribute name must be a string"):
        from_python({1: "a"})
    with pytest.raises(CodecError, match="Unsupported type"):
        from_python({"o": object()})


# --------------------------------------------------------------------------- empties, unicode, nesting, size


def test_empty_strings_binaries_lists_maps():
    wire = {"s": {"S": ""}, "b": {"B": b""}, "l": {"L": []}, "m": {"M": {}}, "ss": {"SS": [""]}, "bs": {"BS": [b""]}}
    js = {"s": {"S": ""}, "b": {"B": ""}, "l": {"L": []}, "m": {"M": {}}, "ss": {"SS": [""]}, "bs": {"BS": [""]}}
    assert wire_to_json(wire) == js
    assert json_to_wire(js) == wire
    assert to_python(js) == {"s": "", "b": b"", "l": [], "m": {}, "ss": {""}, "bs": {b""}}
    assert from_python({"s": "", "b": b"", "l": [], "m": {}}) == {
        "s": {"S": ""},
        "b": {"B": ""},
        "l": {"L": []},
        "m": {"M": {}},
    }
    assert parse_item_line(item_line(js)) == js


def test_unicode_surrogate_pairs_and_nul():
    text = '😀 é 中文 \x00 \u2028 "quoted" \\ \n'
    item = {"😀key": {"S": text}, "ss": {"SS": ["😀", "\x00"]}, "m": {"M": {"\x00": {"S": "𝄞"}}}}
    line = item_line(item)
    assert "😀" in line and "𝄞" in line  # ensure_ascii=False: raw UTF-8, not \ud83d\ude00
    assert "\\ud83d" not in line
    assert "\\u0000" in line  # control characters are escaped by json
    assert "\n" not in line
    assert parse_item_line(line) == item
    assert parse_item_line(line.encode("utf-8")) == item
    assert to_python(item)["😀key"] == text


def test_item_line_exact():
    item = {"id": {"S": "a"}, "n": {"N": "1"}, "b": {"BOOL": False}}
    assert item_line(item) == '{"Item":{"id":{"S":"a"},"n":{"N":"1"},"b":{"BOOL":false}}}'
    assert not item_line(item).endswith("\n")


def _nest(depth: int, leaf: dict) -> dict:
    av = leaf
    for i in range(depth):
        av = {"M": {f"k{i}": av}} if i % 2 == 0 else {"L": [{"NULL": True}, av]}
    return av


def test_nesting_32_levels():
    wire = {"deep": _nest(32, {"BS": [b"\x01", b"\x02"]})}
    js = wire_to_json(wire)
    # walk down to the leaf and check binary was converted at depth 32
    av = js["deep"]
    for i in reversed(range(32)):
        av = av["M"][f"k{i}"] if i % 2 == 0 else av["L"][1]
    assert av == {"BS": ["AQ==", "Ag=="]}
    assert json_to_wire(js) == wire
    assert parse_item_line(item_line(js)) == js
    py = to_python(js)
    assert from_python(py) == js


def test_item_near_400kb():
    big = "x" * 300_000
    blob = bytes(range(256)) * 300  # 76,800 bytes
    wire = {
        "pk": {"S": "big"},
        "s": {"S": big},
        "b": {"B": blob},
        "l": {"L": [{"N": str(i)} for i in range(2000)]},
    }
    js = wire_to_json(wire)
    line = item_line(js)
    assert 390_000 < len(line.encode()) < 500_000
    back = parse_item_line(line)
    assert back == js
    assert json_to_wire(back) == wire
    assert to_python(back)["b"] == blob


# --------------------------------------------------------------------------- Data Pipeline casing

DP_LINE = (
    '{"id":{"s":"abc"},"count":{"n":"42"},"tags":{"sS":["a","b"]},'
    '"meta":{"m":{"x":{"bOOL":true},"y":{"l":[{"nULL":true},{"b":"AQID"}]}}},'
    '"blob":{"b":"AQID"},"nums":{"nS":["1","2.5"]},"bins":{"bS":["AA==","AQ=="]}}'
)
DP_CANONICAL = {
    "id": {"S": "abc"},
    "count": {"N": "42"},
    "tags": {"SS": ["a", "b"]},
    "meta": {"M": {"x": {"BOOL": True}, "y": {"L": [{"NULL": True}, {"B": "AQID"}]}}},
    "blob": {"B": "AQID"},
    "nums": {"NS": ["1", "2.5"]},
    "bins": {"BS": ["AA==", "AQ=="]},
}


def test_normalize_v1_keys():
    assert normalize_type_keys(json.loads(DP_LINE)) == DP_CANONICAL


def test_normalize_accepts_canonical_unchanged():
    assert normalize_type_keys(JSON_ALL) == JSON_ALL
    assert normalize_type_keys(DP_CANONICAL) == DP_CANONICAL


def test_normalize_any_casing_and_unknown():
    assert normalize_type_keys({"a": {"Ss": ["x"]}, "b": {"Bool": False}, "c": {"null": True}}) == {
        "a": {"SS": ["x"]},
        "b": {"BOOL": False},
        "c": {"NULL": True},
    }
    with pytest.raises(CodecError, match=r"meta\.x: unknown type key 'str'"):
        normalize_type_keys({"meta": {"m": {"x": {"str": "v"}}}})


def test_parse_data_pipeline_line():
    assert parse_item_line(DP_LINE + "\n") == DP_CANONICAL
    assert to_python(parse_item_line(DP_LINE))["meta"] == {"x": True, "y": [None, b"\x01\x02\x03"]}


def test_parse_native_line():
    line = '{"Item":{"Authors":{"SS":["Author1","Author2"]},"Id":{"N":"103"},"InPublication":{"BOOL":false}}}'
    assert parse_item_line(line + "\r\n") == {
        "Authors": {"SS": ["Author1", "Author2"]},
        "Id": {"N": "103"},
        "InPublication": {"BOOL": False},
    }


def test_parse_ambiguous_item_attribute():
    # Data Pipeline item whose only attribute is named "Item"
    assert parse_item_line('{"Item":{"s":"x"}}') == {"Item": {"S": "x"}}
    assert parse_item_line('{"Item":{"m":{"a":{"n":"1"}}}}') == {"Item": {"M": {"a": {"N": "1"}}}}
    # native item whose only attribute is named "M"
    assert parse_item_line('{"Item":{"M":{"M":{"a":{"S":"1"}}}}}') == {"M": {"M": {"a": {"S": "1"}}}}
    # wrapped line with lower-case keys is still read
    assert parse_item_line('{"Item":{"a":{"s":"1"},"b":{"n":"2"}}}') == {"a": {"S": "1"}, "b": {"N": "2"}}


# --------------------------------------------------------------------------- malformed input


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"Item":{"a":{"S":"x"}}', "malformed JSON"),
        ("not json", "malformed JSON"),
        ("", "empty line"),
        ("   \n", "empty line"),
        ("[1,2]", "JSON object"),
        ('"str"', "JSON object"),
        ('{"Item":{"a":{"Q":"x"}}}', "a: unknown type key 'Q'"),
        ('{"a":{"q":"x"}}', "a: unknown type key 'q'"),
        ('{"Item":{"a":{"S":"x","N":"1"}}}', "exactly one type key"),
        ('{"Item":{"a":{"B":"YQ"}}}', "a: invalid base64"),
    ],
)
def test_parse_item_line_errors(line, message):
    with pytest.raises(CodecError, match=message):
        parse_item_line(line)


def test_parse_item_line_invalid_utf8():
    with pytest.raises(CodecError, match="not UTF-8"):
        parse_item_line(b'{"a":{"S":"\xff"}}')


@pytest.mark.parametrize(
    "item, message",
    [
        ({"a": {"X": "1"}}, "^a: unknown type key 'X'"),
        ({"a": {"s": "1"}}, "^a: unknown type key 's'"),  # strict: lower case only via normalize
        ({"a": {"M": {"b": {"L": [{"S": "ok"}, {"ZZ": 1}]}}}}, r"^a\.b\[1\]: unknown type key 'ZZ'"),
        ({"a": {}}, "exactly one type key"),
        ({"a": "plain"}, "exactly one type key"),
        ({"a": {"S": 1}}, "S value must be a string"),
        ({"a": {"BOOL": "true"}}, "BOOL value must be true or false"),
        ({"a": {"NULL": False}}, "NULL value must be true"),
        ({"a": {"M": []}}, "M value must be an object"),
        ({"a": {"L": {}}}, "L value must be a list"),
        ({"a": {"SS": []}}, "must not be empty"),
        ({"a": {"SS": ["x", "x"]}}, r"^a\[1\]: duplicate SS"),
        ({"a": {"NS": ["1.5", "1.50"]}}, r"^a\[1\]: duplicate NS"),
        ({"a": {"BS": ["AA==", "AA=="]}}, "duplicate BS"),
        ({"a": {"SS": ["x", 1]}}, r"^a\[1\]: SS element must be a string"),
        ({"a": {"B": "YQ"}}, "invalid base64"),  # unpadded
        ({"a": {"B": "Y Q=="}}, "invalid base64"),
        ({"a": {"B": "-_8="}}, "invalid base64"),  # url-safe alphabet
        ({"a": {"B": b"raw"}}, "binary must be base64 text"),
        ({"a": {"BS": ["AA==", "!!"]}}, r"^a\[1\]: invalid base64"),
    ],
)
def test_json_to_wire_errors(item, message):
    with pytest.raises(CodecError, match=message):
        json_to_wire(item)


def test_wire_to_json_errors():
    with pytest.raises(CodecError, match=r"^x\.y: binary must be bytes, got str"):
        wire_to_json({"x": {"M": {"y": {"B": "AQ=="}}}})
    with pytest.raises(CodecError, match=r"^x\[0\]: unknown type key 'Z'"):
        wire_to_json({"x": {"L": [{"Z": 1}]}})
    with pytest.raises(CodecError, match="duplicate BS"):
        wire_to_json({"x": {"BS": [b"a", Binary(b"a")]}})
    with pytest.raises(CodecError, match="an item must be a JSON object"):
        wire_to_json(["x"])


def test_codec_error_is_value_error():
    assert issubclass(CodecError, ValueError)


# --------------------------------------------------------------------------- item_key, items_equal


def test_item_key():
    item = {"pk": {"S": "user#1"}, "sk": {"N": "1.50"}, "bk": {"B": "AQ=="}, "other": {"S": "x"}}
    assert item_key(item, ["pk", "sk"]) == (("S", "user#1"), ("N", Decimal("1.5")))
    assert item_key(item, ["bk"]) == (("B", b"\x01"),)
    same = {"pk": {"S": "user#1"}, "sk": {"N": "1.5"}}
    assert len({item_key(item, ["pk", "sk"]), item_key(same, ["pk", "sk"])}) == 1
    assert item_key({"pk": {"N": "1"}}, ["pk"]) != item_key({"pk": {"S": "1"}}, ["pk"])
    with pytest.raises(CodecError, match="sk: key attribute missing"):
        item_key({"pk": {"S": "a"}}, ["pk", "sk"])
    with pytest.raises(CodecError, match="must be S, N or B"):
        item_key({"pk": {"L": []}}, ["pk"])


def test_items_equal():
    a = {
        "n": {"N": "1.50"},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2.0"]},
        "bs": {"BS": ["AA==", "AQ=="]},
        "m": {"M": {"x": {"L": [{"N": "10"}, {"S": "y"}]}}},
    }
    b = {
        "m": {"M": {"x": {"L": [{"N": "1E+1"}, {"S": "y"}]}}},
        "bs": {"BS": ["AQ==", "AA=="]},
        "ns": {"NS": ["2", "1.000"]},
        "ss": {"SS": ["b", "a"]},
        "n": {"N": "1.5"},
    }
    assert items_equal(a, b)
    assert items_equal(JSON_ALL, JSON_ALL)
    assert not items_equal({"a": {"N": "1"}}, {"a": {"S": "1"}})
    assert not items_equal({"a": {"BOOL": True}}, {"a": {"N": "1"}})
    assert not items_equal({"a": {"NULL": True}}, {"a": {"BOOL": True}})
    assert not items_equal({"a": {"SS": ["x"]}}, {"a": {"L": [{"S": "x"}]}})
    assert not items_equal({"a": {"L": [{"S": "1"}, {"S": "2"}]}}, {"a": {"L": [{"S": "2"}, {"S": "1"}]}})
    assert not items_equal({"a": {"M": {"x": {"S": "1"}}}}, {"a": {"M": {}}})
    assert not items_equal({"a": {"S": "1"}}, {"a": {"S": "1"}, "b": {"S": "2"}})
    assert not items_equal({"a": {"B": "AA=="}}, {"a": {"S": "AA=="}})
    assert not items_equal({"a": {"NS": ["1"]}}, {"a": {"NS": ["1.0000001"]}})
    with pytest.raises(CodecError):
        items_equal({"a": {"N": "x"}}, {"a": {"N": "1"}})


# --------------------------------------------------------------------------- properties

HYP = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _num(coef: int, exp: int, neg: bool) -> Decimal:
    return Decimal((int(neg), tuple(int(c) for c in str(coef)), exp))


numbers = st.builds(_num, st.integers(0, 10**38 - 1), st.integers(-167, 125), st.booleans()).filter(
    lambda d: d.is_zero() or -130 <= d.adjusted() <= 125
)
number_strings = numbers.map(str)
texts = st.text(max_size=20)
blobs = st.binary(max_size=20)
names = st.text(max_size=8)

py_scalars = st.one_of(
    texts,
    numbers,
    st.integers(-(10**30), 10**30),
    blobs,
    st.booleans(),
    st.none(),
    st.frozensets(texts, min_size=1, max_size=5).map(set),
    st.frozensets(numbers, min_size=1, max_size=5).map(set),
    st.frozensets(blobs, min_size=1, max_size=5).map(set),
)
py_values = st.recursive(
    py_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(names, inner, max_size=4)),
    max_leaves=20,
)
py_items = st.dictionaries(names, py_values, max_size=6)


def _b64s(raws):
    return [b64(r) for r in raws]


json_scalars = st.one_of(
    texts.map(lambda s: {"S": s}),
    number_strings.map(lambda n: {"N": n}),
    blobs.map(lambda b: {"B": b64(b)}),
    st.booleans().map(lambda b: {"BOOL": b}),
    st.just({"NULL": True}),
    st.lists(texts, min_size=1, max_size=5, unique=True).map(lambda v: {"SS": v}),
    st.lists(numbers, min_size=1, max_size=5, unique=True).map(lambda v: {"NS": [str(d) for d in v]}),
    st.lists(blobs, min_size=1, max_size=5, unique=True).map(lambda v: {"BS": _b64s(v)}),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda v: {"L": v}),
        st.dictionaries(names, inner, max_size=4).map(lambda v: {"M": v}),
    ),
    max_leaves=20,
)
json_items = st.dictionaries(names, json_values, max_size=6)


@HYP
@given(py_items)
def test_property_python_json_python(item):
    js = from_python(item)
    back = to_python(js)
    assert back == item
    assert from_python(back) == js  # type-exact: same JSON again


@HYP
@given(json_items)
def test_property_json_wire_json(item):
    wire = json_to_wire(item)
    assert wire_to_json(wire) == item
    assert json_to_wire(wire_to_json(wire)) == wire
    assert items_equal(item, from_python(to_python(item)))


@HYP
@given(json_items)
def test_property_line_round_trip(item):
    line = item_line(item)
    assert "\n" not in line
    assert parse_item_line(line) == item
    assert normalize_type_keys(item) == item


def _lower_keys(av: dict) -> dict:
    v1 = {"S": "s", "N": "n", "B": "b", "BOOL": "bOOL", "NULL": "nULL", "M": "m", "L": "l", "SS": "sS", "NS": "nS", "BS": "bS"}
    ((tk, val),) = av.items()
    if tk == "M":
        val = {k: _lower_keys(v) for k, v in val.items()}
    elif tk == "L":
        val = [_lower_keys(v) for v in val]
    return {v1[tk]: val}


@HYP
@given(json_items)
def test_property_data_pipeline_lines(item):
    dp = {k: _lower_keys(v) for k, v in item.items()}
    assert normalize_type_keys(dp) == item
    if dp:  # an empty DP line "{}" is a bare empty map
        assert parse_item_line(json.dumps(dp)) == item
