"""The shapes issue 22 asked for, kept by checks on the source: an AWS error is read in one place
(launcher/aws/errors.py), Airflow's exceptions are made in one place, a runner takes the session it
is given (one fallback, Runner.session), and hooks compose their S3 parts instead of inheriting
another hook. Each check is a plain search, shown first to find what it looks for."""

from __future__ import annotations

import ast
import re

import pytest

from helpers import REPO_ROOT

pytestmark = pytest.mark.unit
LAUNCHER = REPO_ROOT / "launcher"


def sources() -> dict[str, str]:
    return {p.relative_to(REPO_ROOT).as_posix(): p.read_text() for p in sorted(LAUNCHER.rglob("*.py"))}


def where(pattern: str, texts: dict[str, str]) -> list[str]:
    rx = re.compile(pattern)
    return [f"{name}:{n}" for name, text in texts.items() for n, line in enumerate(text.splitlines(), 1) if rx.search(line)]


ERROR_READ = r"""\.response(\[|\.get\()["']Error["']"""
AIRFLOW_RAISE = r"raise Airflow(Fail)?Exception\("
SESSION_FROM_PLAN = r"Aws\(plan\.region\)"


def test_the_searches_find_what_they_look_for():
    sample = {
        "x.py": 'code = e.response["Error"]["Code"]\nc = e.response.get("Error", {})\n'
        'raise AirflowFailException("x")\nraise AirflowException("y")\naws = Aws(plan.region)\n'
    }
    assert where(ERROR_READ, sample) == ["x.py:1", "x.py:2"]
    assert where(AIRFLOW_RAISE, sample) == ["x.py:3", "x.py:4"]
    assert where(SESSION_FROM_PLAN, sample) == ["x.py:5"]


def test_an_aws_error_is_read_only_in_aws_errors():
    assert {w.split(":")[0] for w in where(ERROR_READ, sources())} == {"launcher/aws/errors.py"}


def test_airflow_exceptions_are_made_in_one_place():
    found = where(AIRFLOW_RAISE, sources())
    # airflow_errors() maps ours; _options() a pydantic error; execute and _xcom report a bad event
    # or a failed verification; nothing else raises Airflow's exceptions.
    assert all(w.startswith("launcher/airflow/operators.py:") for w in found), found
    text = (LAUNCHER / "airflow" / "operators.py").read_text()
    assert text.count("except BadInput") == 1 and text.count("except DdbS3Error") == 1


def test_a_runner_uses_the_session_it_is_given():
    assert [w.split(":")[0] for w in where(SESSION_FROM_PLAN, sources())] == ["launcher/export/run/__init__.py"]


def test_hooks_compose_rather_than_inherit():
    hooks = {}
    for path in sorted((LAUNCHER / "aws").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Hook"):
                hooks[node.name] = [b.id for b in node.bases if isinstance(b, ast.Name)]
    assert {"EmrHook", "EmrServerlessHook", "GlueJobHook", "DynamoDbHook"} <= set(hooks)
    assert {name: bases for name, bases in hooks.items() if any(b.endswith("Hook") for b in bases)} == {}


def test_the_local_services_take_no_convention_from_the_runners_they_test():
    """dev/ may share tools with the runners (how to start Spark or Hive), never a convention the
    services have (log locations, failure texts, paths): those come from AWS's documentation."""
    conventions = ("launcher.export.run.step_logs", "launcher.core.versions", "launcher.core.emr")
    for path in sorted((LAUNCHER / "dev").glob("*.py")):
        text = path.read_text()
        assert not [c for c in conventions if c in text], path.name
