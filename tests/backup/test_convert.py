"""convert: plain values, exact numbers, binary, sets, differing shapes (unit, local fixtures)."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from helpers import CONVERT_ITEMS as ITEMS
from helpers import write_export
from launcher.backup.convert import convert
from launcher.core.errors import BadInput

pytestmark = pytest.mark.unit


@pytest.fixture
def export(tmp_path: Path) -> str:
    return str(write_export(tmp_path / "exp", ITEMS, files=2))


def test_jsonl_plain_values(export: str, tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    assert convert(export, "jsonl", str(out)).items == 2
    rows = {r["pk"]: r for r in map(json.loads, out.read_text().splitlines())}
    a = rows["a"]
    assert a["n"] == "12345678901234567890.123456789" and a["b"] == "AAEC" and a["ss"] == ["y", "z"]
    assert a["m"] == {"x": "1.5", "l": [True, None]} and a["bs"] == ["AA==", "AQ=="] and a["flag"] is False
    assert rows["b"] == {"pk": "b", "n": "-7", "mixed": "42", "extra": None, "big": "3"}


def test_csv_columns_and_union(export: str, tmp_path: Path) -> None:
    out = tmp_path / "o.csv"
    convert(export, "csv", str(out), columns=["pk", "n", "m"])
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["pk", "n", "m"]
    assert sorted(rows[1:]) == [["a", "12345678901234567890.123456789", '{"x":"1.5","l":[true,null]}'], ["b", "-7", ""]]
    convert(export, "csv", str(out))
    header = next(csv.reader(out.open()))
    assert header == sorted({k for i in ITEMS for k in i})


def test_parquet_types_exact(export: str, tmp_path: Path) -> None:
    out = tmp_path / "o.parquet"
    result = convert(export, "parquet", str(out))
    table = pq.read_table(out)
    schema = table.schema
    assert schema.field("n").type == pa.decimal128(38, 9)
    assert schema.field("big").type == pa.string()  # 1E+125 does not fit decimal128(38, s)
    assert schema.field("mixed").type == pa.string() and schema.field("b").type == pa.binary()
    assert schema.field("bs").type == pa.list_(pa.binary()) and schema.field("flag").type == pa.bool_()
    rows = {r["pk"]: r for r in table.to_pylist()}
    assert rows["a"]["n"] == Decimal("12345678901234567890.123456789") and rows["b"]["n"] == Decimal("-7")
    assert rows["a"]["b"] == b"\x00\x01\x02" and rows["a"]["big"] == "1E+125" and rows["b"]["mixed"] == "42"
    assert rows["b"]["b"] is None and json.loads(rows["a"]["m"]) == {"x": "1.5", "l": [True, None]}
    assert result.column_types["n"] == "decimal128(38, 9)"


def test_bad_input_writes_nothing(export: str, tmp_path: Path) -> None:
    with pytest.raises(BadInput):
        convert(export, "xml", str(tmp_path / "o"))
    with pytest.raises(BadInput):
        convert(export, "parquet", str(tmp_path / "o"), glue_database="db", glue_table="t")
    assert list(tmp_path.glob("o*")) == []


def flip_a_byte(folder: Path, n: int = 1) -> Path:
    """The n-th data file (sorted) of an export folder, one byte of its deflate stream flipped."""
    victim = sorted((folder / "data").iterdir())[n]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    return victim


def test_a_corrupt_data_file_is_one_line_naming_it_exit_3_and_no_output(tmp_path: Path) -> None:
    import subprocess
    import sys

    from launcher.core.codec import wire_to_json
    from launcher.dev.sample_data import lab_items

    folder = write_export(tmp_path / "exp", [wire_to_json(i) for i in lab_items(400)], files=2)
    victim = flip_a_byte(folder)
    out = tmp_path / "o.jsonl"
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ddb-s3"), "convert", str(folder), "--format", "jsonl", "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert victim.name in lines[0] and "is not a valid gzip file" in lines[0], lines[0]
    assert not out.exists()
