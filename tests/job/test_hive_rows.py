"""Parsing Hive's staged rows (LazySimpleSerDe, escaping on) into DynamoDB JSON."""

from __future__ import annotations

import pytest

from launcher.job.hive_rows import HiveRowError, split_rows, typed_item, whole_item

pytestmark = pytest.mark.unit


def esc(text: str) -> bytes:
    """What LazySimpleSerDe writes for a string with escape.delim='\\' and escape.crlf=true."""
    out = bytearray()
    for b in text.encode():
        if b in (0x01, 0x02, 0x03, 0x5C):
            out += b"\\" + bytes([b])
        elif b == 0x0A:
            out += b"\\n"
        elif b == 0x0D:
            out += b"\\r"
        else:
            out.append(b)
    return bytes(out)


def entry(name: str, json_text: str) -> bytes:
    return esc(name) + b"\x03" + esc(json_text)


def test_whole_item_row_with_hostile_names_and_every_type():
    names = ["pk", "it's", "back`tick", "a.b", "select", "new\nline", "sep\x02\x03\x01", "back\\slash\\n"]
    row = b"\x02".join(
        [entry(n, '{"s":"v"}') for n in names]
        + [
            entry("n", '{"n":"1.50"}'),
            entry("b", '{"b":"AAE="}'),
            entry("ss", '{"sS":["a","b"]}'),
            entry("ns", '{"nS":["1","2"]}'),
            entry("bs", '{"bS":["AQ=="]}'),
            entry("t", '{"bOOL":false}'),
            entry("nul", '{"nULLValue":true}'),
            entry("m", '{"m":{"x":{"l":[{"n":"1"},{"nULLValue":true}]}}}'),
            entry("s", '{"s":"tab\\there \\\\ \\" \\u0001"}'),
        ]
    )
    rows = list(split_rows([row + b"\n"]))
    assert len(rows) == 1
    item = whole_item(rows[0])
    assert {n: item[n] for n in names} == {n: {"S": "v"} for n in names}
    assert item["n"] == {"N": "1.50"} and item["b"] == {"B": "AAE="} and item["ss"] == {"SS": ["a", "b"]}
    assert item["ns"] == {"NS": ["1", "2"]} and item["bs"] == {"BS": ["AQ=="]} and item["t"] == {"BOOL": False}
    assert item["nul"] == {"NULL": True}
    assert item["m"] == {"M": {"x": {"L": [{"N": "1"}, {"NULL": True}]}}}
    assert item["s"] == {"S": 'tab\there \\ " \x01'}


def test_split_rows_keeps_escaped_newlines_across_chunk_boundaries():
    data = esc("a\nb") + b"\n" + b"x\\" + b"\n" + b"y\n" + b"last"
    for size in (1, 2, 3, 100):
        chunks = [data[i : i + size] for i in range(0, len(data), size)]
        assert list(split_rows(chunks)) == [b"a\\nb", b"x\\\ny", b"last"]


def test_malformed_rows_raise():
    with pytest.raises(HiveRowError):
        whole_item(b"name-without-value")
    with pytest.raises(HiveRowError):
        whole_item(entry("a", "not json"))
    with pytest.raises(HiveRowError):
        whole_item(entry("a", '{"zz":"1"}'))


COLUMNS = [
    {"attribute": "pk", "hive_type": "string", "ddb_type": "S"},
    {"attribute": "it's", "hive_type": "bigint", "ddb_type": "N"},
    {"attribute": "a.b", "hive_type": "boolean", "ddb_type": "BOOL"},
    {"attribute": "bin", "hive_type": "binary", "ddb_type": "B"},
    {"attribute": "tags", "hive_type": "array<string>", "ddb_type": "SS"},
    {"attribute": "nums", "hive_type": "array<double>", "ddb_type": "NS"},
]


def test_typed_row():
    row = b"\x01".join([esc("k\x01\n"), b"42", b"true", b"AAE=", esc("x\x02y") + b"\x02z", b"1.5\x022.0"])
    assert typed_item(row, COLUMNS) == {
        "pk": {"S": "k\x01\n"},
        "it's": {"N": "42"},
        "a.b": {"BOOL": True},
        "bin": {"B": "AAE="},
        "tags": {"SS": ["x\x02y", "z"]},
        "nums": {"NS": ["1.5", "2.0"]},
    }


def test_typed_row_nulls_are_missing_attributes_and_counts_are_checked():
    row = b"\x01".join([b"k", b"\\N", b"\\N", b"\\N", b"\\N", b"\\N"])
    assert typed_item(row, COLUMNS) == {"pk": {"S": "k"}}
    with pytest.raises(HiveRowError, match="expected 6"):
        typed_item(b"k\x01\\N", COLUMNS)
