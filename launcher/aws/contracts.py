"""Strict contracts: every request checked against botocore's service model with the rules botocore
and moto skip (AWS's services apply them): a string's full-match `pattern`, min/max length, enum, a
number's min/max, a list's or map's min/max size, and, in nested structures, required members.

Installed on a boto3 session (`install(session)`), it answers a request that breaks a rule as AWS
does, with a ValidationException (HTTP 400) as a ClientError, before anything is sent. The local stack
turns it on for every client of ours (DDB_S3_STRICT_CONTRACTS=1, set by `ddb-s3 local up` and the
tests); `violations()` is the check itself, which tests run on rendered requests."""

from __future__ import annotations

import functools
import json
import os
from typing import Any

from botocore.exceptions import ClientError
from botocore.model import OperationModel, Shape

from launcher.aws.json_body import BODY

try:  # AWS's patterns are Java regexes (\p{L} and such): the regex module reads those, re does not
    import regex as _re
except ImportError:  # pragma: no cover - the test and local-stack environments have it (moto's cfn-lint)
    import re as _re

ENV = "DDB_S3_STRICT_CONTRACTS"
# Java writes the code points above U+FFFF as a range of UTF-16 surrogate pairs; Python as themselves.
SURROGATE_RANGE = "\\uD800\\uDC00-\\uDBFF\\uDFFF"


@functools.lru_cache(maxsize=512)
def _pattern(java: str) -> Any:
    return _re.compile(java.replace(SURROGATE_RANGE, "\\U00010000-\\U0010FFFF"))


def violations(shape: Shape | None, value: Any, where: str = "") -> list[str]:
    """Every rule of `shape` that `value` breaks, as "where: what" lines (empty: valid)."""
    if shape is None or value is None:
        return []
    meta = shape.metadata
    out: list[str] = []
    kind = shape.type_name
    if kind == "structure":
        members = shape.members
        for name in shape.required_members:
            if name not in value:
                out.append(f"{where or 'request'}: missing required member {name!r}")
        for name, item in value.items():
            if name in members:
                out += violations(members[name], item, f"{where}.{name}" if where else name)
        return out
    if kind == "list":
        out += _size(meta, len(value), where, "items")
        for n, item in enumerate(value):
            out += violations(shape.member, item, f"{where}[{n}]")
        return out
    if kind == "map":
        out += _size(meta, len(value), where, "entries")
        for key, item in value.items():
            out += violations(shape.key, key, f"{where} key {key!r}")
            out += violations(shape.value, item, f"{where}[{key!r}]")
        return out
    if kind == "string" and isinstance(value, str):
        out += _size(meta, len(value), where, "characters")
        if shape.enum and value not in shape.enum:
            out.append(f"{where}: {value!r} is not one of {', '.join(shape.enum)}")
        pattern = meta.get("pattern")
        if pattern and not _pattern(pattern).fullmatch(value):
            out.append(f"{where}: {value!r} does not match the pattern {pattern}")
        return out
    if kind in ("integer", "long", "float", "double") and isinstance(value, int | float):
        if "min" in meta and value < meta["min"]:
            out.append(f"{where}: {value} is below the minimum {meta['min']}")
        if "max" in meta and value > meta["max"]:
            out.append(f"{where}: {value} is above the maximum {meta['max']}")
    return out


def _size(meta: dict[str, Any], n: int, where: str, unit: str) -> list[str]:
    if "min" in meta and n < meta["min"]:
        return [f"{where}: {n} {unit}, fewer than the minimum {meta['min']}"]
    if "max" in meta and n > meta["max"]:
        return [f"{where}: {n} {unit}, more than the maximum {meta['max']}"]
    return []


def check_request(operation: OperationModel, params: dict[str, Any]) -> None:
    """Raise the ClientError AWS answers a request that breaks its model's rules with."""
    found = violations(operation.input_shape, params)
    if found:
        message = f"{len(found)} validation error(s) detected: " + "; ".join(found)
        raise ClientError(
            {"Error": {"Code": "ValidationException", "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}},
            operation.name,
        )


def _before_parameter_build(params: dict[str, Any], model: OperationModel, context: dict[str, Any] | None = None, **_: Any) -> None:
    # A call whose JSON body we built (aws/json_body.py) carries its whole request there, in wire
    # JSON, whether or not its hook has moved it into the context yet.
    body = params.get(BODY) or (context or {}).get(BODY)
    check_request(model, json.loads(body) if body else params)


def install(session: Any) -> None:
    """Check every request of every client a boto3 session makes."""
    session.events.register("before-parameter-build", _before_parameter_build, unique_id="ddb-s3-strict-contracts")


def enabled() -> bool:
    return os.environ.get(ENV) == "1"
