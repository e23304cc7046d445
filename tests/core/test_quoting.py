"""launcher.core.quoting's Hive functions: the one place names reach HiveQL. Unit tests of their text,
and (integration) Hive's own parser reading them back unchanged."""

from __future__ import annotations

import ast
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from launcher.core.quoting import hive_identifier, hive_string, python_json

pytestmark = pytest.mark.unit

HOSTILE = [
    "plain",
    "it's",
    'dq"',
    "back`tick",
    "a.b",
    "select",
    "TABLE",
    "semi;colon",
    "${env:HOME}",
    "$x",
    "back\\slash",
    "new\nline",
    "cr\rlf",
    "tab\t",
    "\x01\x02\x03",
    "caf\u00e9 \U0001f600",
    "'); DROP TABLE x; --",
    "--comment",
    "\\073",
    "",
    "  spaced  ",
    "{{ jinja }}",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hive_string_cannot_be_ended_split_or_substituted(value):
    lit = hive_string(value)
    assert lit[0] == lit[-1] == "'"
    body = lit[1:-1]
    # every quote and backslash in the body is escaped; nothing acts before the parser
    i = 0
    while i < len(body):
        if body[i] == "\\":
            i += 2
            continue
        assert body[i] not in "'\";$\n\r", (value, lit)
        i += 1
    assert "\n" not in lit and ";" not in lit and "$" not in lit


def test_hive_string_examples():
    assert hive_string("it's") == "'it\\'s'"
    assert hive_string("a;b") == "'a\\073b'"
    assert hive_string("${x}") == "'\\044{x}'"
    assert hive_string("\x01") == "'\\001'"


@pytest.mark.parametrize("name", ["item", "select", "back`tick", "a.b", "it's", 'dq"', "caf\u00e9", "c0"])
def test_hive_identifier_doubles_backticks(name):
    q = hive_identifier(name)
    assert q.startswith("`") and q.endswith("`")
    assert q[1:-1].replace("``", "").count("`") == 0
    assert q[1:-1].replace("``", "`") == name


@pytest.mark.parametrize("name", ["", "semi;colon", "${x}", "new\nline", "nul\x00", "\x7f"])
def test_hive_identifier_refuses_what_acts_before_the_parser(name):
    with pytest.raises(ValueError):
        hive_identifier(name)


@pytest.mark.integration
def test_hive_parser_reads_every_hostile_string_back(tmp_path):
    """One SELECT per hostile value through Hive's ParseDriver, split as `hive -f` splits: each
    statement stays one statement and its literal unescapes to exactly the value."""
    from launcher.export.run.hive_local import hql_check

    script = tmp_path / "q.hql"
    script.write_text(
        "".join(f"SELECT {hive_string(v)} AS {hive_identifier('c' + str(i))} FROM {hive_identifier('t')};\n" for i, v in enumerate(HOSTILE))
    )
    statements = hql_check(script)
    assert len(statements) == len(HOSTILE)
    assert [s["strings"] for s in statements] == [[v] for v in HOSTILE]


@pytest.mark.integration
def test_hive_parser_reads_hostile_identifiers_back(tmp_path):
    from launcher.export.run.hive_local import hql_check

    names = ["select", "back`tick", "a.b", "it's", 'dq"']
    script = tmp_path / "q.hql"
    script.write_text("".join(f"SELECT 1 AS {hive_identifier(n)} FROM {hive_identifier('t')};\n" for n in names))
    statements = hql_check(script)
    assert len(statements) == len(names)
    for name, s in zip(names, statements, strict=False):
        # the tree shows the identifier as Hive resolved it (backticks unescaped, lower-cased)
        assert json.dumps(s["tree"]).count("tok_selexpr") == 1
        assert name.lower().replace("``", "`") in s["tree"].lower()


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=20,
    )
)
@settings(max_examples=300, deadline=None)
def test_python_json_is_one_literal_that_reads_back(value):
    """Whatever the value, the rendered text is a single string literal holding exactly its JSON."""
    literal = python_json(value)
    tree = ast.parse(literal, mode="eval")
    assert isinstance(tree.body, ast.Constant) and isinstance(tree.body.value, str)
    assert json.loads(tree.body.value) == value
