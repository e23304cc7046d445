"""launcher/'s import graph keeps the stage layout: no import cycle, each stage imports only the
stages below it, plan and render reach no runner and no boto3, and what runs on EMR nodes (core,
job) needs only the standard library and boto3. The graph comes from the source (ast), imports in
functions included, and the modules from walking the folder, so a new or moved module is checked
without editing this file. The checker first proves on a broken fixture package that it can fail."""

from __future__ import annotations

from pathlib import Path

import pytest
from import_graph import (
    Violation,
    cycle_report,
    cycles,
    imports,
    layer_rules,
    layer_violations,
    modules,
    plan_render_violations,
    pure_modules,
    report,
    third_party_violations,
    unresolved,
)

from helpers import REPO_ROOT

pytestmark = pytest.mark.unit

BAD = Path(__file__).resolve().parent / "fixtures" / "badpkg"
LAUNCHER = REPO_ROOT / "launcher"


# --------------------------------------------------------------------------- the checker can fail


def test_fixture_graph_resolves_relative_submodule_and_function_level_imports():
    edges = imports(BAD)
    internal = {(e.importer, e.target, e.line, e.type_only) for e in edges if not e.external and e.resolved}
    assert ("badpkg.core.a", "badpkg.core.b", 1, False) in internal  # from . import b: the submodule
    assert ("badpkg.core.b", "badpkg.core.a", 5, False) in internal  # in a function, relative
    assert ("badpkg.cli.main", "badpkg.core.a", 3, False) in internal  # from badpkg.core import a
    assert ("badpkg.export.render.steps", "badpkg.export.run", 2, False) in internal  # from ..run import run
    assert ("badpkg.cli.main", "badpkg.cli", 6, True) in internal  # under TYPE_CHECKING
    externals = {(e.importer, e.target) for e in edges if e.external}
    assert {
        ("badpkg.core.leaky", "boto3"),
        ("badpkg.core.leaky", "yaml"),
        ("badpkg.core.b", "json"),
        ("badpkg.export.plan", "math"),
    } <= externals
    assert "badpkg.export.render" in modules(BAD) and "badpkg" in modules(BAD)


def test_fixture_cycle_is_reported_with_its_path():
    edges = imports(BAD)
    # cli.main -> cli (type-only) -> cli.main is no cycle: that import never runs
    assert cycles(edges) == [["badpkg.core.a", "badpkg.core.b", "badpkg.core.a"]]
    assert cycle_report(cycles(edges)[0], edges, BAD) == (
        "import cycle: badpkg.core.a -> badpkg.core.b (badpkg/core/a.py:1); badpkg.core.b -> badpkg.core.a (badpkg/core/b.py:5)"
    )


def test_fixture_forbidden_edges_are_exactly_these():
    edges = imports(BAD)
    assert layer_violations(edges, layer_rules("badpkg"), BAD) == [
        Violation("core imports only core", "badpkg.core.leaky", "badpkg.cli.main", "badpkg/core/leaky.py:12"),
        Violation("job imports only core and job", "badpkg.job.scan", "badpkg.export.plan", "badpkg/job/scan.py:2"),
        Violation("only cli imports cli", "badpkg.core.leaky", "badpkg.cli.main", "badpkg/core/leaky.py:12"),
    ]
    assert unresolved(edges, BAD) == [
        Violation("imports a module that does not exist", "badpkg.job.scan", "badpkg.core.nothing_here.gone", "badpkg/job/scan.py:1")
    ]
    assert third_party_violations(edges, BAD) == [
        Violation("core/job import only the standard library and boto3/botocore", "badpkg.core.leaky", "yaml", "badpkg/core/leaky.py:10")
    ]


def test_fixture_plan_and_render_reach_a_runner_and_boto3_transitively():
    edges = imports(BAD)
    assert pure_modules("badpkg", modules(BAD)) == ["badpkg.export.plan", "badpkg.export.render", "badpkg.export.render.steps"]
    rule = "plan and render import no runner and no boto3 call"
    found = plan_render_violations(edges, BAD)
    assert found == [
        Violation(rule, "badpkg.export.plan", "boto3", "badpkg/core/leaky.py:3", ("badpkg.core.leaky",)),
        Violation(rule, "badpkg.export.render", "badpkg.export.run", "badpkg/export/render/steps.py:2", ("badpkg.export.render.steps",)),
        Violation(rule, "badpkg.export.render.steps", "badpkg.export.run", "badpkg/export/render/steps.py:2"),
    ]
    assert str(found[0]) == (f"badpkg/core/leaky.py:3: badpkg.export.plan -> badpkg.core.leaky -> boto3  [{rule}]")


# --------------------------------------------------------------------------- launcher/ itself


@pytest.fixture(scope="module")
def edges():
    return imports(LAUNCHER)


def test_walk_finds_every_module_and_its_imports(edges):
    files = {p for p in LAUNCHER.rglob("*.py") if "__pycache__" not in p.parts}
    found = modules(LAUNCHER)
    assert set(found.values()) == files
    importers = {e.importer for e in edges if not e.external}
    # every stage package is there and imports something of launcher (the rules below are not vacuous)
    for stage in ("core", "aws", "export", "job", "backup", "cli", "airflow", "dev"):
        assert any(m.startswith(f"launcher.{stage}.") for m in importers), stage
    assert pure_modules("launcher", found)


def test_every_launcher_import_names_a_module_that_exists(edges):
    found = unresolved(edges, LAUNCHER)
    assert not found, report("imports of launcher modules that do not exist", found)


def test_no_import_cycle(edges):
    found = cycles(edges)
    assert not found, "\n".join(cycle_report(c, edges, LAUNCHER) for c in found)


@pytest.mark.parametrize("rule", layer_rules("launcher"), ids=lambda r: r.name.replace(" ", "-"))
def test_stage_imports_only_what_it_may(edges, rule):
    found = layer_violations(edges, [rule], LAUNCHER)
    assert not found, report(f"forbidden imports ({rule.name})", found)


def test_plan_and_render_import_no_runner_and_no_boto3(edges):
    found = plan_render_violations(edges, LAUNCHER)
    assert not found, report("plan/render reaching a runner, launcher.aws or boto3", found)


def test_core_and_job_need_only_stdlib_and_boto3(edges):
    found = third_party_violations(edges, LAUNCHER)
    assert not found, report("third-party imports in what runs on EMR nodes", found)
