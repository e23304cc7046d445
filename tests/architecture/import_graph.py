"""The import graph of a package folder, from its source (ast, nothing imported), and the rules the
stage layout of launcher/ keeps. Pure functions of a package root folder, so the same checks run on
launcher/ and on the broken fixture package in fixtures/ (which shows that each check can fail).

What counts as an import: every `import x` / `from x import y` anywhere in a module, inside functions
and methods too (an import there still runs on the same machine, just later); relative imports are
resolved against the module's package; `from pkg.a import b` where pkg/a/b.py exists is an import of
pkg.a.b, otherwise of pkg.a. Imports under `if TYPE_CHECKING:` never run: they count for the layer
rules (they still name the dependency) but not for cycles. Importing pkg.a.b also runs pkg/a/__init__,
but that implicit edge is not added (it would make every package that re-exports a submodule a cycle).
"""

from __future__ import annotations

import ast
import itertools
import sys
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

SKIP_DIRS = {"__pycache__"}


@dataclass(frozen=True, order=True)
class Import:
    importer: str  # module name, e.g. launcher.export.plan
    target: str  # a module of the package, or (external=True) a top-level distribution name: boto3
    path: Path
    line: int
    external: bool = False
    type_only: bool = False  # under `if TYPE_CHECKING:`
    resolved: bool = True  # False: names a module of the package that does not exist

    def where(self, root: Path) -> str:
        return f"{self.path.relative_to(root.parent)}:{self.line}"


@dataclass(frozen=True, order=True)
class Violation:
    rule: str
    importer: str
    target: str
    where: str  # file:line of the (last) import
    via: tuple[str, ...] = ()  # for transitive rules: the modules between importer and target

    def __str__(self) -> str:
        chain = " -> ".join((self.importer, *self.via, self.target))
        return f"{self.where}: {chain}  [{self.rule}]"


# --------------------------------------------------------------------------- the graph


def modules(root: Path) -> dict[str, Path]:
    """Every module under the package folder `root`, by dotted name (a package is its __init__.py)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent)
        if SKIP_DIRS & set(rel.parts):
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST) -> Iterable[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement with whether it sits under `if TYPE_CHECKING:` (any depth)."""
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, type_only = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, type_only
            continue
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack += [(n, True) for n in node.body] + [(n, type_only) for n in node.orelse]
            continue
        stack += [(n, type_only) for n in ast.iter_child_nodes(node)]


def _resolve(name: str, known: dict[str, Path]) -> str:
    """The longest prefix of `name` that is a module of the package ('' if none)."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        candidate = ".".join(parts[:i])
        if candidate in known:
            return candidate
    return ""


def imports(root: Path) -> list[Import]:
    """Every import of every module under `root`, internal targets resolved to modules."""
    pkg = root.name
    known = modules(root)
    out: list[Import] = []
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node, type_only in _import_nodes(tree):
            targets: list[tuple[str, bool]]  # (absolute name, from `from base import alias`)
            if isinstance(node, ast.Import):
                targets = [(a.name, False) for a in node.names]
            else:
                base = node.module or ""
                if node.level:  # relative: `from ..x import y` in pkg.a.b.m is pkg.a.x
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - (node.level - 1)] + ([base] if base else []))
                targets = [(base if a.name == "*" else f"{base}.{a.name}", True) for a in node.names]
            for target, from_import in targets:
                top = target.split(".")[0]
                if top != pkg:
                    out.append(Import(name, top, path, node.lineno, external=True, type_only=type_only))
                    continue
                module = _resolve(target, known)
                # `from pkg.a import b` with no module pkg.a.b imports pkg.a, which must exist
                ok = module == target or (from_import and module == target.rpartition(".")[0])
                out.append(Import(name, module if ok else target, path, node.lineno, type_only=type_only, resolved=ok))
    return sorted(set(out))


def internal_graph(edges: Iterable[Import], *, runtime_only: bool = False) -> dict[str, dict[str, Import]]:
    """importer -> {imported module: the first import of it}, internal and resolved edges only."""
    graph: dict[str, dict[str, Import]] = {}
    for e in sorted(edges):
        if e.external or not e.resolved or (runtime_only and e.type_only):
            continue
        graph.setdefault(e.importer, {}).setdefault(e.target, e)
    return graph


# --------------------------------------------------------------------------- checks


def unresolved(edges: Iterable[Import], root: Path) -> list[Violation]:
    """Imports of package modules that do not exist (a function-level one fails only when called)."""
    return [
        Violation("imports a module that does not exist", e.importer, e.target, e.where(root))
        for e in edges
        if not e.external and not e.resolved
    ]


def cycles(edges: Iterable[Import]) -> list[list[str]]:
    """One shortest cycle per strongly connected component of the runtime import graph, as a path
    that starts and ends at the component's first module by name: [a, b, a]. Self-imports count."""
    graph = {k: sorted(v) for k, v in internal_graph(edges, runtime_only=True).items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []

    def connect(v: str) -> None:  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    found = []
    for component in components:
        start = component[0]
        if len(component) == 1 and start not in graph.get(start, ()):
            continue
        members = set(component)
        parent: dict[str, str] = {}
        queue = deque([start])
        while queue:  # BFS back to start within the component
            v = queue.popleft()
            if start in graph.get(v, ()):
                path = [v]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                found.append([start, *reversed(path[:-1]), start] if v != start else [start, start])
                break
            for w in graph.get(v, ()):
                if w in members and w not in parent and w != start:
                    parent[w] = v
                    queue.append(w)
    return sorted(found)


def cycle_report(cycle: list[str], edges: Iterable[Import], root: Path) -> str:
    graph = internal_graph(edges, runtime_only=True)
    steps = [f"{a} -> {b} ({graph[a][b].where(root)})" for a, b in itertools.pairwise(cycle)]
    return "import cycle: " + "; ".join(steps)


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


@dataclass(frozen=True)
class Rule:
    """Modules matching `applies` may only import package modules for which `allowed` holds."""

    name: str
    applies: Callable[[str], bool]
    allowed: Callable[[str], bool]


def layer_rules(pkg: str) -> list[Rule]:
    """The stage layout of launcher/ (pkg is the package name, so the rules apply to fixtures too)."""

    def under(*stages: str) -> Callable[[str], bool]:
        return lambda m: any(within(m, f"{pkg}.{s}") for s in stages)

    return [
        Rule("only cli imports cli", lambda m: not under("cli")(m), lambda t: not under("cli")(t)),
        Rule("only dev and cli import dev", lambda m: not under("dev", "cli")(m), lambda t: not under("dev")(t)),
        Rule("core imports only core", under("core"), under("core")),
        Rule("job imports only core and job", under("job"), under("core", "job")),
        Rule("aws imports only core and aws", under("aws"), under("core", "aws")),
        Rule("backup imports no export, cli, airflow or dev", under("backup"), lambda t: not under("export", "cli", "airflow", "dev")(t)),
    ]


def layer_violations(edges: Iterable[Import], rules: Iterable[Rule], root: Path) -> list[Violation]:
    edges = [e for e in edges if not e.external and e.resolved]
    return sorted(
        Violation(r.name, e.importer, e.target, e.where(root))
        for r in rules
        for e in edges
        if r.applies(e.importer) and not r.allowed(e.target)
    )


def pure_modules(pkg: str, known: Iterable[str]) -> list[str]:
    """Plan and render: the modules that must not reach a runner, the AWS layer or boto3. The option
    and column modules are named at both their current and their planned homes, if present."""
    names = {
        f"{pkg}.{m}" for m in ("export.plan", "export.estimate", "export.hive_columns", "export.request", "options", "core.hive_columns")
    }
    return sorted(m for m in known if m in names or within(m, f"{pkg}.export.render"))


def reachable_violations(
    edges: Iterable[Import],
    sources: Iterable[str],
    forbidden_module: Callable[[str], bool],
    forbidden_external: set[str],
    rule: str,
    root: Path,
) -> list[Violation]:
    """For each source, the shortest import chain (through package modules) to a forbidden module or
    a forbidden external package, if any: one violation per (source, forbidden target)."""
    edges = list(edges)
    graph = internal_graph(edges)
    externals: dict[str, dict[str, Import]] = {}
    for e in sorted(edges):
        if e.external:
            externals.setdefault(e.importer, {}).setdefault(e.target, e)
    out = []
    for source in sources:
        parent: dict[str, str | None] = {source: None}
        queue = deque([source])
        reported: set[str] = set()

        def chain(v: str, parent: dict[str, str | None] = parent) -> tuple[str, ...]:
            path = []
            while parent[v] is not None:
                path.append(v)
                v = parent[v]  # type: ignore[assignment]
            return tuple(reversed(path))

        while queue:
            v = queue.popleft()
            for ext, e in externals.get(v, {}).items():
                if ext in forbidden_external and ext not in reported:
                    reported.add(ext)
                    out.append(Violation(rule, source, ext, e.where(root), chain(v)))
            for w, e in graph.get(v, {}).items():
                if forbidden_module(w):
                    if w not in reported:
                        reported.add(w)
                        out.append(Violation(rule, source, w, e.where(root), chain(v)))
                    continue  # the forbidden module itself is the finding; not walked further
                if w not in parent:
                    parent[w] = v
                    queue.append(w)
    return sorted(out)


def plan_render_violations(edges: Iterable[Import], root: Path) -> list[Violation]:
    """Plan and render import nothing from export.run, export.flow or aws, and no boto3/botocore,
    directly or through other package modules."""
    pkg = root.name
    edges = list(edges)
    sources = pure_modules(pkg, modules(root))

    def forbidden(m: str) -> bool:
        return any(within(m, f"{pkg}.{s}") for s in ("export.run", "export.flow", "aws"))

    return reachable_violations(
        edges, sources, forbidden, {"boto3", "botocore"}, "plan and render import no runner and no boto3 call", root
    )


# What EMR nodes have besides the standard library.
NODE_PACKAGES = {"boto3", "botocore"}


def third_party_violations(
    edges: Iterable[Import], root: Path, stages: Iterable[str] = ("core", "job"), allowed: set[str] = NODE_PACKAGES
) -> list[Violation]:
    """Modules of `stages` (shipped to Spark on EMR) import only the standard library and boto3."""
    pkg = root.name
    stdlib = set(sys.stdlib_module_names)
    stages = tuple(stages)
    return sorted(
        Violation(
            f"{'/'.join(stages)} import only the standard library and {'/'.join(sorted(allowed))}", e.importer, e.target, e.where(root)
        )
        for e in edges
        if e.external and e.target not in stdlib and e.target not in allowed and any(within(e.importer, f"{pkg}.{s}") for s in stages)
    )


def report(title: str, violations: Iterable[object]) -> str:
    lines = [str(v) for v in violations]
    return f"{title}: {len(lines)}\n  " + "\n  ".join(lines) if lines else f"{title}: none"
