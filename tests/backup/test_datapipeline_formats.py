"""Issue 14, items 4-6: the older Data Pipeline forms (the Hive-era ETX/STX lines, a folder without a
`manifest`), what `verify` says it checked for each format, and the convert/restore messages.

Every synthetic fixture (tests/fixtures/backups/, built by make_fixtures.py in the formats' shapes:
native, emr-dynamodb-tools' DynamoDBExport with and without its manifest, the Hive-based ETX/STX
export) is verified, converted and restored through the CLI, item for item; AWS's own documented
examples (tests/fixtures/backups/aws-docs/, copied from the pages its README names) are read and
compared with values copied from those pages by hand."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from helpers import BACKUPS, DP, INCR, LAB_KEYS, NATIVE, expected, table_items, unique_name
from launcher.backup.convert import plain_item
from launcher.backup.formats import (
    CHECKS,
    DP_NO_MANIFEST,
    detect,
    iter_items,
    parse_data_pipeline_line,
    parse_delimited_item,
)
from launcher.backup.storage import LocalFolder
from launcher.cli import main
from launcher.core.codec import CodecError, item_key, items_equal, json_to_wire, parse_item_line
from launcher.core.errors import BadInput, IncompleteExport
from launcher.core.words import count
from launcher.dev.sample_data import create_lab_table, load_items

ETX_DIR = BACKUPS / "datapipeline-etx"
NOMAN_DIR = BACKUPS / "datapipeline-no-manifest"

# (fixture folder, expected-*.jsonl name, data files, verify reports checksums)
FIXTURES = {
    "native-full": (NATIVE, "native-full", 3, True),
    "incremental": (INCR, "incremental", 2, True),
    "datapipeline": (DP, "datapipeline", 2, False),
    "datapipeline-no-manifest": (NOMAN_DIR, "datapipeline-no-manifest", 3, False),
    "datapipeline-etx": (ETX_DIR, "datapipeline-etx", 2, False),
}
LINES = {"native-full": 40, "incremental": 9, "datapipeline": 30, "datapipeline-no-manifest": 8, "datapipeline-etx": 8}


def by_key(items: list[dict]) -> dict[tuple, dict]:
    return {item_key(i, LAB_KEYS): i for i in items}


def same_items(got: list[dict], want: list[dict]) -> bool:
    a, b = by_key(got), by_key(want)
    return len(a) == len(got) and a.keys() == b.keys() and all(items_equal(a[k], b[k]) for k in a)


def cli(args: list[str], capfd: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """ddb-s3 in-process: (exit status, the non-empty stderr lines)."""
    capfd.readouterr()
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return code, [ln for ln in captured.err.splitlines() if ln.strip()]


def copy(folder: Path, tmp_path: Path, name: str = "copy") -> Path:
    dest = tmp_path / name
    shutil.copytree(folder, dest)
    return dest


# --------------------------------------------------------------------------- the line forms (unit)


@pytest.mark.unit
def test_connector_samples_of_the_etx_stx_form() -> None:
    """The connector's own examples: DynamoDBItemWritableTest.testMalformedJsonDeserialization and
    the fixMalformedJson comment (^B = STX between attributes, ^C = ETX between name and value)."""
    item = parse_delimited_item(b'attr1\x03{"s":"seattle"}\x02attr2\x03{"nS":["123","456","789"]}')
    assert item == {"attr1": {"S": "seattle"}, "attr2": {"NS": ["123", "456", "789"]}}
    item = parse_data_pipeline_line(b'id\x03{"s":"Seattle"}\x02scores\x03{"nS":["100","30","45"]}\n')
    assert item == {"id": {"S": "Seattle"}, "scores": {"NS": ["100", "30", "45"]}}


V1 = {"S": "s", "N": "n", "B": "b", "SS": "sS", "NS": "nS", "BS": "bS", "M": "m", "L": "l", "BOOL": "bOOL"}


def v1(av: dict, null_key: str) -> dict:
    ((t, v),) = av.items()
    if t == "M":
        v = {k: v1(x, null_key) for k, x in v.items()}
    elif t == "L":
        v = [v1(x, null_key) for x in v]
    return {null_key if t == "NULL" else V1[t]: v}


EVERY_TYPE = {
    "patient_id": {"S": "P1"},
    "sample_id": {"S": "S1"},
    "n": {"N": "-1.50"},
    "b": {"B": "AAEC"},
    "ss": {"SS": ["x", "y"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": ["AA==", "AQ=="]},
    "m": {"M": {"k": {"NULL": True}, "l": {"L": []}}},
    "l": {"L": [{"S": "a"}, {"BOOL": False}, {"M": {}}]},
    "null": {"NULL": True},
    "bool": {"BOOL": True},
}


@pytest.mark.unit
@pytest.mark.parametrize("null_key", ["nULL", "nULLValue", "NULL"])
@pytest.mark.parametrize("form", ["etx", "json"])
def test_every_type_in_both_forms(form: str, null_key: str) -> None:
    """nULL: SDK v1 <= 1.10 field name (and the 5.x+ serializer); nULLValue: SDK 1.11's field,
    which connector 4.x's Gson reflection wrote."""
    attrs = {k: v1(av, null_key) for k, av in EVERY_TYPE.items()}
    line = "\x02".join(f"{k}\x03{json.dumps(v)}" for k, v in attrs.items()).encode() if form == "etx" else json.dumps(attrs).encode()
    got = parse_data_pipeline_line(line)
    assert items_equal(got, EVERY_TYPE) and list(got) == list(EVERY_TYPE)


@pytest.mark.unit
def test_etx_names_may_hold_what_json_names_cannot_be_split_on() -> None:
    """A value is Gson JSON, which escapes every control character, so the name is everything
    before the field's last ETX: names with ':' ',' '{' spaces or even ETX itself survive."""
    line = b'a b,c:{d}\x03{"s":"x\\u0003y"}\x02odd\x03name\x03{"n":"1"}'
    assert parse_delimited_item(line) == {"a b,c:{d}": {"S": "x\x03y"}, "odd\x03name": {"N": "1"}}


BAD_LINES = [
    (b'patient_id\x03{"s":"P9"}\x02sample_id{"s":"S9"}', "attribute 2 of 2: no ETX"),
    (b'patient_id\x03{"s":"P9"}\x02sample_id\x03{"s":"S9"', "attribute 2 of 2 ('sample_id'): value is not JSON"),
    (b'patient_id\x03{"s":"P9"}\x02sample_id\x03{"zz":"S9"}', "sample_id: unknown type key 'zz'"),
    (b'patient_id\x03{"s":"P9"}\x02patient_id\x03{"s":"S9"}', "attribute 'patient_id' appears twice"),
    (b'patient_id\x03{"s":"P9"}\x02\x03{"s":"S9"}', "empty attribute name"),
    (b'patient_id\x03{"s":"P\xff9"}', "not UTF-8"),
    (b'patient_id\x03{"n":"1e999"}', "out of DynamoDB range"),
    (b"patient_id=P9, sample_id=S9", "neither a JSON item"),
]


@pytest.mark.unit
@pytest.mark.parametrize("line, message", BAD_LINES, ids=[m for _l, m in BAD_LINES])
def test_corrupt_line_is_a_clear_error(line: bytes, message: str) -> None:
    with pytest.raises(CodecError) as e:
        parse_data_pipeline_line(line)
    assert message in str(e.value) and "\n" not in str(e.value) and "\x03" not in str(e.value)


# --------------------------------------------------------------------------- AWS's own examples (unit)

AWS_DOCS = BACKUPS / "aws-docs"  # its README names the page each file comes from
DOCS_EXPORT = AWS_DOCS / "AWSDynamoDB" / "01234567890123-a1b2c3d4"
# The item on the page "DynamoDB table export output format", written out by hand from the page.
DOCS_ITEM = {
    "Authors": {"SS": ["Author1", "Author2"]},
    "Dimensions": {"S": "8.5 x 11.0 x 1.5"},
    "ISBN": {"S": "333-3333333333"},
    "Id": {"N": "103"},
    "InPublication": {"BOOL": False},
    "PageCount": {"N": "600"},
    "Price": {"N": "2000"},
    "ProductCategory": {"S": "Book"},
    "Title": {"S": "Book 103 Title"},
}


@pytest.mark.unit
def test_the_documented_native_manifests_and_item_read_as_the_page_says() -> None:
    """AWS's examples, read by our readers: the summary (indented, as the page shows it), the files
    manifest's entry, and the data file's item; every expected value copied from the page by hand."""
    source = detect(LocalFolder(DOCS_EXPORT))
    assert source.kind == "native" and source.table_name == "ProductCatalog"
    assert source.expected_items == 8 and source.identity.endswith("/export/01234567890123-a1b2c3d4")
    ((ref,),) = [source.files]
    assert (ref.expected_items, ref.md5) == (8, "sQMSpEILNgoQmarvDFonGQ==")
    assert ref.manifest_key == "AWSDynamoDB/11111111111111-22222222/data/33334444EXAMPLE.json.gz"
    (line,) = gzip.decompress((DOCS_EXPORT / "data" / "33334444EXAMPLE.json.gz").read_bytes()).splitlines()
    got = parse_item_line(line)
    assert got == DOCS_ITEM and list(got) == list(DOCS_ITEM)


@pytest.mark.unit
def test_a_folder_named_as_the_data_pipeline_docs_name_a_file_is_read_without_a_manifest() -> None:
    """The Data Pipeline guide's file name (an identifier, no extension) holding the connector's own
    example lines: recognised as a Data Pipeline export without a manifest, items as the connector's
    test asserts them."""
    source = detect(LocalFolder(AWS_DOCS / "datapipeline"))
    assert source.kind == "datapipeline" and source.summary["manifest"] is False
    assert [f.key for f in source.files] == ["ae10f955-fb2f-4790-9b11-fbfea01a871e_000000"]
    assert list(iter_items(source)) == [
        {"attr1": {"S": "seattle"}, "attr2": {"NS": ["123", "456", "789"]}},
        {"id": {"S": "Seattle"}, "scores": {"NS": ["100", "30", "45"]}},
    ]


# --------------------------------------------------------------------------- layouts (unit)


@pytest.mark.unit
@pytest.mark.parametrize("name", ["datapipeline-etx", "datapipeline-no-manifest"])
def test_folder_without_manifest_is_read_item_for_item(name: str) -> None:
    source = detect(LocalFolder(FIXTURES[name][0]))
    assert source.kind == "datapipeline" and source.checks == CHECKS[DP_NO_MANIFEST]
    assert source.manifest_names == [] and not any(f.key.startswith("_") for f in source.files)
    assert same_items(list(iter_items(source)), expected(name))


@pytest.mark.unit
def test_forms_are_told_apart_per_line_and_with_a_manifest(tmp_path: Path) -> None:
    """The connector decides per line, so one file may hold both; the ETX/STX form under a manifest
    is read too."""
    root = copy(ETX_DIR, tmp_path)
    extra = dict(EVERY_TYPE, patient_id={"S": "P-json"})
    with open(root / "000001_0", "ab") as f:  # one more item, JSON form, in the ETX file
        f.write(json.dumps({k: v1(av, "nULLValue") for k, av in extra.items()}).encode() + b"\n")
    want = [*expected("datapipeline-etx"), extra]
    assert same_items(list(iter_items(detect(LocalFolder(root)))), want)
    urls = [f"s3://old-bucket/exports/2014-05-12-21-18-30/{n}" for n in ("000000_0", "000001_0")]
    (root / "manifest").write_text(
        json.dumps({"name": "DynamoDB-export", "version": 3, "entries": [{"url": u, "mandatory": True} for u in urls]})
    )
    source = detect(LocalFolder(root))
    assert source.summary["manifest"] is True and source.checks == CHECKS["datapipeline"]
    assert same_items(list(iter_items(source)), want)


@pytest.mark.unit
def test_hidden_files_and_folders_are_skipped_as_hadoop_does(tmp_path: Path) -> None:
    root = copy(NOMAN_DIR, tmp_path)
    (root / "_temporary" / "0").mkdir(parents=True)
    (root / "_temporary" / "0" / "part-00000").write_text("garbage\n")
    (root / ".part-00000.crc").write_bytes(b"\x00\x01")
    (root / "sub_$folder$").write_text("")
    assert len(detect(LocalFolder(root)).files) == 3


REFUSED = [
    ("subfolder", lambda r: (r / "data").mkdir() or (r / "data" / "x").write_text("{}\n"), "it has subfolders (data/)"),
    ("other-files", lambda r: (r / "items.json").write_text("{}\n"), "not Data Pipeline data files (items.json)"),
    ("not-items", lambda r: (r / "000000_0").write_text("hello world\n"), "line 1 of 000000_0 is not a Data Pipeline item"),
    ("empty-files", lambda r: [p.write_text("") for p in r.iterdir()], "its files hold no lines at all"),
]


@pytest.mark.unit
@pytest.mark.parametrize("case, spoil, message", REFUSED, ids=[c[0] for c in REFUSED])
def test_a_folder_that_is_no_data_pipeline_export_is_refused(case: str, spoil: Any, message: str, tmp_path: Path) -> None:
    root = copy(ETX_DIR, tmp_path)
    spoil(root)
    with pytest.raises(IncompleteExport) as e:
        detect(LocalFolder(root))
    assert "incomplete and not a backup" in str(e.value) and message in str(e.value)


@pytest.mark.unit
def test_a_folder_with_nothing_of_an_export_is_no_export_not_an_incomplete_one(tmp_path: Path) -> None:
    root = copy(ETX_DIR, tmp_path)
    for p in root.iterdir():
        p.unlink()
    with pytest.raises(BadInput, match=r"^no export at .*: give an export's folder"):
        detect(LocalFolder(root))


@pytest.mark.unit
def test_a_native_export_without_its_summary_is_still_incomplete(tmp_path: Path) -> None:
    root = copy(NATIVE, tmp_path)
    (root / "manifest-summary.json").unlink()
    with pytest.raises(IncompleteExport, match="incomplete"):
        detect(LocalFolder(root))
    (root / "data").rename(tmp_path / "elsewhere")  # an empty export: _started and manifests only
    with pytest.raises(IncompleteExport, match=r"not Data Pipeline data files \(manifest-files\.json"):
        detect(LocalFolder(root))


# --------------------------------------------------------------------------- verify and convert via the CLI (unit)


@pytest.mark.unit
@pytest.mark.parametrize("name", list(FIXTURES))
def test_verify_says_what_it_checked(name: str, capfd: pytest.CaptureFixture[str]) -> None:
    folder, _exp, files, checksums = FIXTURES[name]
    code, lines = cli(["verify", folder], capfd)
    assert code == 0 and len(lines) == 1
    line = lines[0]
    assert line.startswith(f"ok: {folder}: {count(LINES[name], 'item')} in {count(files, 'file')}")
    if checksums:
        assert line.endswith("every file read: MD5 checksums and item counts match")  # a local folder
    else:
        assert "checksums match" not in line
        assert "parsed as an item and counted" in line and "not checkable: " in line
        assert ("no manifest" in line) == (name != "datapipeline")


@pytest.mark.unit
@pytest.mark.parametrize("where", ["000000_0", "000001_0"])
def test_corrupt_etx_line_names_file_and_line(where: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    root = copy(ETX_DIR, tmp_path)
    path = root / where
    lines = path.read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b"\x02sample_id\x03", b"\x02sample_id", 1)  # the ETX of line 2 lost
    path.write_bytes(b"\n".join(lines))
    code, err = cli(["verify", root], capfd)
    assert code == 3 and len(err) == 1, err  # a corrupt export: 3, as from convert
    assert err[0].startswith("ddb-s3: ") and f"{where}: line 2: not an item (ETX/STX line, attribute 2 of" in err[0]
    assert "no ETX (\\x03) between name and value in 'sample_id{" in err[0]
    code, err = cli(["convert", root, "--format", "jsonl", "--out", tmp_path / "o.jsonl"], capfd)
    assert code == 3 and len(err) == 1 and f"{where} line 2: ETX/STX line, attribute 2 of" in err[0], err
    assert not (tmp_path / "o.jsonl").exists()


@pytest.mark.unit
@pytest.mark.parametrize("name", list(FIXTURES))
def test_convert_jsonl_item_for_item(name: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    folder, exp, _files, _c = FIXTURES[name]
    out = tmp_path / "out.jsonl"
    code, lines = cli(["convert", folder, "--format", "jsonl", "--out", out], capfd)
    if name == "incremental":  # a change log, not a table: refused by design (docs/backup.md, convert)
        assert code == 2 and "change log" in lines[-1] and not out.exists()
        return
    want = expected(exp)
    names = {k for i in want for k in i}
    assert code == 0 and lines == [f"wrote {len(want)} items ({len(names)} attributes) to {out}"]
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    got = {(r["patient_id"], r["sample_id"]): r for r in rows}
    assert len(got) == len(rows) == len(want)
    assert got == {(i["patient_id"]["S"], i["sample_id"]["S"]): plain_item(i) for i in want}


# --------------------------------------------------------------------------- restore via the CLI (local stack)


@pytest.fixture
def lab(ddb: Any):
    created: list[str] = []

    def make() -> str:
        created.append(unique_name("dp"))
        create_lab_table(ddb, created[-1])
        return created[-1]

    yield make
    for t in created:
        ddb.delete_table(TableName=t)


def assert_table_holds(ddb: Any, table: str, want: list[dict]) -> None:
    got = table_items(ddb, table)
    assert got.keys() == by_key(want).keys()
    bad = [k for k, i in by_key(want).items() if not items_equal(got[k], i)]
    assert not bad, f"{len(bad)} items differ, e.g. {bad[0]}"


@pytest.mark.integration
@pytest.mark.parametrize("name", list(FIXTURES))
def test_restore_item_for_item(name: str, ddb: Any, lab, capfd: pytest.CaptureFixture[str]) -> None:
    folder, exp, _files, _c = FIXTURES[name]
    table = lab()
    args = ["restore", folder, "--table", table, "--concurrency", "4"]
    if name == "incremental":  # applies onto the state it was taken from
        load_items(ddb, table, (json_to_wire(i) for i in expected("incremental-base")))
        args += ["--overwrite", "--force"]
    code, lines = cli(args, capfd)
    assert code == 0, lines
    assert lines[-1].startswith(f"restored {LINES[name] - (2 if name == 'incremental' else 0)} items into {table}")
    assert not any(" done (" in ln for ln in lines), "a progress line before 5 s had passed"
    assert_table_holds(ddb, table, expected(exp))


@pytest.mark.integration
def test_no_manifest_folder_on_s3(ddb: Any, s3: Any, bucket: str, lab, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """On S3 the folder is one listing: the EMR folder marker beside it and _SUCCESS in it are not
    data. Verified, downloaded (every line parsed) and restored from there."""
    prefix = "exports/LabResults/2014-05-12-21-18-30"
    s3.put_object(Bucket=bucket, Key=prefix + "_$folder$", Body=b"")
    for p in NOMAN_DIR.iterdir():
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{p.name}", Body=p.read_bytes())
    where = f"s3://{bucket}/{prefix}/"
    code, lines = cli(["verify", where], capfd)
    assert code == 0 and lines[-1].startswith(f"ok: {where}: 8 items in 3 files (Data Pipeline export without a manifest)")
    table = lab()
    code, lines = cli(["restore", where, "--table", table], capfd)
    assert code == 0 and lines[-1].startswith(f"restored 8 items into {table}"), lines
    assert_table_holds(ddb, table, expected("datapipeline-no-manifest"))
    code, lines = cli(["download", where, tmp_path / "dl"], capfd)
    assert code == 0, lines
    assert sorted(p.name for p in (tmp_path / "dl").iterdir()) == sorted(p.name for p in NOMAN_DIR.iterdir() if p.name != "_SUCCESS")
    assert same_items(list(iter_items(detect(LocalFolder(tmp_path / "dl")))), expected("datapipeline-no-manifest"))
