"""One wait (launcher/core/wait.py) and one lifecycle (launcher/export/run/__init__.py's Runner.run):
no module sleeps except those named here with their reason, and every runner implements the parts
of the lifecycle rather than its own `run`. The checks read the source (ast), so a new module is
checked without editing this file; each is first shown to fail on a source that breaks it."""

from __future__ import annotations

import ast
import importlib
import inspect

import pytest

from helpers import REPO_ROOT

pytestmark = pytest.mark.unit
LAUNCHER = REPO_ROOT / "launcher"
# Where a sleep is not a wait for a state, and why.
MAY_SLEEP = {
    "launcher/core/wait.py": "the one wait",
    "launcher/core/budget.py": "the read budget's pacing between Scan pages",
    "launcher/backup/restore.py": "the backoff before sending a throttled write again",
}


def sleeps(source: str) -> list[int]:
    """Lines that call time.sleep (as `time.sleep(...)`, `from time import sleep`, or any alias)."""
    tree = ast.parse(source)
    names = {
        a.asname or a.name
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.module == "time"
        for a in n.names
        if a.name == "sleep"
    }
    modules = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names if a.name == "time"}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if (isinstance(f, ast.Name) and f.id in names) or (
            isinstance(f, ast.Attribute) and f.attr == "sleep" and isinstance(f.value, ast.Name) and f.value.id in modules
        ):
            found.append(node.lineno)
    return found


def test_the_check_finds_every_spelling_of_a_sleep():
    source = (
        "import time\nimport time as t\nfrom time import sleep as nap\n"
        "def f():\n    time.sleep(1)\n    t.sleep(2)\n    nap(3)\n    clock.sleep(4)\n    asyncio.sleep(5)\n"
    )
    assert sleeps(source) == [5, 6, 7]


def test_no_module_sleeps_outside_the_one_wait():
    found = {}
    for path in sorted(LAUNCHER.rglob("*.py")):
        rel = path.relative_to(REPO_ROOT).as_posix()
        if rel.startswith("launcher/dev/") or rel in MAY_SLEEP:  # dev/: the local services, not the tool
            continue
        if lines := sleeps(path.read_text()):
            found[rel] = lines
    assert not found, f"sleeps outside launcher/core/wait.py (use poll_until, or name the reason in MAY_SLEEP): {found}"


RUNNERS = [
    "launcher.export.run.local:LocalRunner",
    "launcher.export.run.emr:EmrRunner",
    "launcher.export.run.emr_serverless:EmrServerlessRunner",
    "launcher.export.run.glue:GlueRunner",
    "launcher.export.run.native:NativeRunner",
]


@pytest.mark.parametrize("path", RUNNERS)
def test_each_runner_gives_the_parts_and_keeps_the_one_lifecycle(path):
    from launcher.export.run import Runner

    module, name = path.split(":")
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, Runner) and cls.name
    assert "run" not in vars(cls) and "finish" not in vars(cls), f"{name} writes its own lifecycle"
    for part in ("submit", "diagnose"):
        assert part in vars(cls), f"{name} does not give {part}"
    # poll is what the wait (and Airflow's trigger) calls; only the local runner, whose steps run in
    # this process, waits by running them instead.
    assert ("poll" in vars(cls)) != (name == "LocalRunner")


def test_the_registry_names_every_runner():
    from launcher.backends import BACKENDS, NATIVE

    assert sorted(b.runner for b in [*BACKENDS.values(), NATIVE]) == sorted(RUNNERS)
    for backend in [*BACKENDS.values(), NATIVE]:
        assert inspect.isclass(backend.runner_class()) and backend.runner_class().name == backend.name
        for path in filter(None, (backend.target, backend.requests)):
            assert callable(backend.load(path)), path
