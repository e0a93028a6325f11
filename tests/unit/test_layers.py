"""engine/'s import graph keeps its layers: no cycles, nothing imports a layer above it, no streamlit.

Layers, bottom to top (a module may import its own layer's packages and any layer below):

    core < model < data, prompting < scoring, retrieval, generation, interp < evaluation
         < experiments < cli

Every import counts: module-level, inside a function (a deferred import still couples the two
modules, it only hides the cycle from Python) and under ``if TYPE_CHECKING:`` (marked "type"). The
graph is read with `ast` from the files, so nothing is imported and the test needs no model.

Run ``python tests/unit/test_layers.py`` (or ``tools/restructure/check_layers.py``) for the full
report (also the sibling imports on one layer, which are allowed and listed for information). The
report lists every violation; the tests fail on any violation not in the allow-lists below, which
named the ones the restructure was removing (issue 13); both are empty now.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# package under engine/ -> layer rank; "" is engine/__init__.py and engine/__main__.py
LAYERS: dict[str, int] = {
    "core": 0,
    "model": 1,
    "data": 2,
    "prompting": 2,
    "scoring": 3,
    "retrieval": 3,
    "generation": 3,
    "interp": 3,
    "evaluation": 4,
    "experiments": 5,
    "cli": 6,
    "": 6,
}
FORBIDDEN_TOP = ("streamlit", "components", "pages", "app")  # engine never imports the UI

# Known violations allowed while they are being removed: empty since issue 13's restructure
# removed the last ones (retrieval orderings <-> retrievers, interp.ablation -> evaluation.run).
# A cycle is the set of its modules; an upward import is (src, dst). Keep these empty.
KNOWN_CYCLES: frozenset[frozenset[str]] = frozenset()
KNOWN_UPWARD: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True)
class Edge:
    """One import statement: `src` imports `dst` at `path`:`line`; kind is module / function / type."""

    src: str
    dst: str
    path: str
    line: int
    kind: str

    def where(self) -> str:
        return f"{self.path}:{self.line}: {self.src} -> {self.dst} ({self.kind})"


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def engine_modules(root: Path) -> dict[str, Path]:
    return {module_name(root, p): p for p in sorted((root / "engine").rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module) -> Iterator[tuple[ast.Import | ast.ImportFrom, str]]:
    """Every import statement with its kind: module, function (inside a def) or type."""

    def walk(node: ast.AST, kind: str) -> Iterator[tuple[ast.Import | ast.ImportFrom, str]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, kind
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                yield from walk(child, "type" if kind == "type" else "function")
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    yield from walk(ast.Module(body=[stmt], type_ignores=[]), "type")
                for stmt in child.orelse:
                    yield from walk(ast.Module(body=[stmt], type_ignores=[]), kind)
            else:
                yield from walk(child, kind)

    yield from walk(tree, "module")


def _resolve(src: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = src.split(".") if is_pkg else src.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def import_edges(root: Path = ROOT) -> list[Edge]:
    """All imports of engine/ modules: edges to other engine modules and to forbidden packages."""
    mods = engine_modules(root)
    edges: list[Edge] = []
    for src, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        rel = str(path.relative_to(root))
        for node, kind in _imports(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = _resolve(src, path.name == "__init__.py", node)
                for a in node.names:  # `from pkg import submodule` imports the submodule
                    targets.append(f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base)
            for t in dict.fromkeys(targets):
                if t.split(".")[0] in FORBIDDEN_TOP:
                    edges.append(Edge(src, t, rel, node.lineno, kind))
                    continue
                while t and t not in mods:  # `import engine.a.b.c` where c is an attribute
                    t = t.rpartition(".")[0]
                if t and t != src and t.startswith("engine"):
                    edges.append(Edge(src, t, rel, node.lineno, kind))
    return edges


def layer_of(mod: str) -> tuple[str, int | None]:
    parts = mod.split(".")
    pkg = parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in LAYERS) else ""
    return pkg, LAYERS.get(pkg)


def upward_imports(edges: list[Edge], allowed: frozenset[tuple[str, str]] = frozenset()) -> list[str]:
    """Imports of a higher layer (or of a package in no layer), except the `allowed` (src, dst) pairs."""
    out = []
    for e in edges:
        if e.dst.split(".")[0] in FORBIDDEN_TOP or (e.src, e.dst) in allowed:
            continue
        (sp, sl), (dp, dl) = layer_of(e.src), layer_of(e.dst)
        if sl is None or dl is None:
            out.append(f"{e.where()}: not in a layer ({sp or e.src} / {dp or e.dst}); add it to LAYERS")
        elif dl > sl:
            out.append(f"{e.where()}: {sp or 'engine'} (layer {sl}) imports {dp} (layer {dl})")
    return out


def sibling_imports(edges: list[Edge]) -> list[str]:
    """Imports between different packages of one layer (allowed; listed in the report)."""
    out = []
    for e in edges:
        (sp, sl), (dp, dl) = layer_of(e.src), layer_of(e.dst)
        if sl is not None and sl == dl and sp != dp and sp and dp:
            out.append(f"{e.where()}: {sp} -> {dp}, both layer {sl}")
    return out


def forbidden_imports(edges: list[Edge]) -> list[str]:
    return [f"{e.where()}: engine imports the UI" for e in edges if e.dst.split(".")[0] in FORBIDDEN_TOP]


def cycles(edges: list[Edge], allowed: frozenset[frozenset[str]] = frozenset()) -> list[str]:
    """Strongly connected components of more than one module (Tarjan), each with its edges; a
    component that is exactly one of the `allowed` module sets is left out."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        if e.dst.startswith("engine"):
            graph.setdefault(e.src, set()).add(e.dst)
            graph.setdefault(e.dst, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    comps: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    out = []
    for comp in comps:
        members = set(comp)
        if frozenset(members) in allowed:
            continue
        inner = [e.where() for e in edges if e.src in members and e.dst in members]
        out.append(f"cycle {' <-> '.join(comp)}:\n      " + "\n      ".join(inner))
    return out


def report(root: Path = ROOT) -> dict[str, list[str]]:
    edges = import_edges(root)
    return {
        "cycles": cycles(edges),
        "upward imports": upward_imports(edges),
        "UI imports (streamlit, components, pages, app)": forbidden_imports(edges),
        "sibling imports on one layer (allowed)": sibling_imports(edges),
    }


def test_no_import_cycles_in_engine() -> None:
    found = cycles(import_edges(), KNOWN_CYCLES)
    assert not found, "import cycles in engine/:\n  " + "\n  ".join(found)


def test_no_engine_module_imports_a_layer_above_it() -> None:
    found = upward_imports(import_edges(), KNOWN_UPWARD)
    assert not found, "upward imports in engine/:\n  " + "\n  ".join(found)


def test_engine_never_imports_streamlit_or_the_ui() -> None:
    found = forbidden_imports(import_edges())
    assert not found, "\n  ".join(found)


def test_the_checker_sees_function_level_and_type_only_imports() -> None:
    """The graph reader itself: a deferred and a TYPE_CHECKING import are edges, with their kind."""
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "import engine.a\n"
        "if TYPE_CHECKING:\n    from engine.b import X\n"
        "def f():\n    from engine import c\n"
    )
    kinds = {(ast.unparse(n), k) for n, k in _imports(tree)}
    assert ("import engine.a", "module") in kinds
    assert ("from engine.b import X", "type") in kinds
    assert ("from engine import c", "function") in kinds


def test_the_allow_lists_hide_only_what_they_name() -> None:
    """An allowed cycle or upward import is left out; a different one on the same modules is not."""

    def e(src: str, dst: str) -> Edge:
        return Edge(src, dst, "x.py", 1, "module")

    a, b, c = "engine.retrieval.a", "engine.retrieval.b", "engine.retrieval.c"
    assert cycles([e(a, b), e(b, a)], frozenset({frozenset({a, b})})) == []
    assert len(cycles([e(a, b), e(b, c), e(c, a)], frozenset({frozenset({a, b})}))) == 1
    up = [e("engine.core.x", "engine.cli.y")]
    assert upward_imports(up, frozenset({("engine.core.x", "engine.cli.y")})) == []
    assert len(upward_imports(up, frozenset({("engine.core.x", "engine.cli.z")}))) == 1


def print_report(root: Path = ROOT) -> int:
    """Print the report; the number of violations (cycles, upward and UI imports)."""
    total = 0
    for title, lines in report(root).items():
        print(f"{title}: {len(lines) or 'none'}")
        for line in lines:
            print(f"  {line}")
        if "allowed" not in title:
            total += len(lines)
    return total


if __name__ == "__main__":
    sys.exit(1 if print_report(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT) else 0)
