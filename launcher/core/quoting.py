"""The one place where names reach generated source code.

Every table or attribute name that ends up in HiveQL or in a rendered Python script passes through
exactly one of these functions. They are tested against hostile names (quotes, backticks, newlines,
template syntax); nothing else in the code base builds source text from names.
"""

from __future__ import annotations

import json


def python_json(value: object) -> str:
    """A Python string literal holding `value` as indented JSON; templates wrap it in json.loads().

    The JSON is ASCII only (ensure_ascii) with every single quote written as \\u0027, inside a raw
    triple-single-quoted string: nothing in it can end the literal, and json.loads reads every
    escape itself. So no name (quotes, newlines, backslashes, template syntax) can change the
    rendered program, and the plan stays readable in the script."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=True, indent=2).replace("'", "\\u0027")
    return "r'''" + text + "'''"


def hive_identifier(name: str) -> str:
    """A HiveQL quoted identifier: backticks, with a backtick doubled (Hive's escape).

    A quoted identifier has no escapes besides the doubled backtick, so the characters that act
    before the parser are refused: `;` (the Hive CLI splits a script on it, even inside quotes),
    `$` (`${var}` substitution runs on the raw text) and control characters (line ends)."""
    if not name or any(ch in name for ch in ";$") or any(ord(ch) < 0x20 or ch == "\x7f" for ch in name):
        raise ValueError(f"name cannot be used as a Hive identifier: {name!r}")
    return "`" + name.replace("`", "``") + "`"


def hive_string(value: str) -> str:
    """A HiveQL string literal in single quotes with backslash escapes, so no value can end it.

    Besides quotes, backslashes and control characters, two characters are written as octal
    escapes because they act on the raw script text before Hive parses it: `;` (\\073, the CLI
    splits statements on it even inside quotes) and `$` (\\044, `${...}` variable substitution)."""
    out = []
    for ch in value:
        if ch in ("\\", "'", '"'):
            out.append("\\" + ch)
        elif ch == ";":
            out.append("\\073")
        elif ch == "$":
            out.append("\\044")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ch == "\x7f":
            out.append(f"\\{ord(ch):03o}")
        else:
            out.append(ch)
    return "'" + "".join(out) + "'"


def submit_parameters(args: list[str]) -> str:
    """EMR Serverless's `sparkSubmitParameters`: spark-submit options in one string, which the service
    splits on whitespace and does not unquote. So no quoting can carry a space: an argument with
    whitespace, a quote, a backslash or a control character is refused rather than split or
    mangled; every other argument passes unchanged."""
    for arg in args:
        if not arg or any(ch.isspace() or ch in "'\"\\" or ord(ch) < 0x20 or ch == "\x7f" for ch in arg):
            raise ValueError(f"cannot pass {arg!r} in sparkSubmitParameters (no whitespace, quotes or backslashes)")
    return " ".join(args)
