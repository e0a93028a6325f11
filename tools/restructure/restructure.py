#!/usr/bin/env python3
"""Issue 13, step 1: move engine/'s flat modules into concept subpackages, behaviour unchanged.

Usage:  python restructure.py REPO [--ruff PATH] [--dry-run] [--no-ruff]

What it does, in order (every step is safe to repeat: a second run changes nothing):

1. checks the mapping (no old module's top-level name collides with a new submodule of the package
   that takes the old module's name, e.g. ``engine.scoring`` -> ``engine/scoring/``);
2. creates the subpackages (``__init__.py`` with a docstring saying what the layer is for) and
   ``git mv``s each module listed in MAPPING that is still at its old place;
3. rewrites references in every tracked text file (*.py, *.md, *.toml, *.cfg, *.ini, *.txt,
   *.yml/yaml, Makefile, .ci/*):
   - ``from engine import x [as y]`` and relative ``from . import x`` (ast-located) ->
     ``from engine.pkg import mod as x``;
   - relative ``from .x import y`` / ``from ..x import y`` resolving to a moved module -> absolute;
     in a module moved by this run, every relative import becomes absolute, resolved from the
     module's OLD place (its depth changed);
   - every dotted name ``engine.x`` (imports, ``import engine.x as y``, attribute use
     ``engine.x.f``, strings for ``monkeypatch.setattr`` / ``mock.patch``, ``python -m engine.x``,
     docs) -> ``engine.pkg.mod``;
   - every path ``engine/x.py`` -> ``engine/pkg/mod.py``;
4. runs ``ruff check --select I --fix`` and ``ruff format`` on the .py files it changed (import
   blocks re-sort because module paths changed, and some import lines grow past the line length);
5. self-check: prints every reference to an old module name that is still left.

It never relies on line numbers or on the content of the moved modules, only on MAPPING, so it
can be rerun on a newer main where those modules have changed.

Names that are both an old module and a new package (retrieval, scoring, generation, evaluation):
``engine.scoring.X`` is taken as new when X is a submodule of the new package or a name that the
package's ``__init__`` defines; a bare ``engine.scoring`` (``from engine import scoring``,
``import engine.scoring as s``, "see `engine.scoring`") is rewritten only in a run that moved
engine/scoring.py, since after the move it means the package.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

# old module (engine/<old>.py) -> new module path under engine/ (dotted, without "engine.")
MAPPING: dict[str, str] = {
    # core: the base every layer may use
    "errors": "core.errors",
    "fingerprint": "core.fingerprint",
    "progress": "core.progress",
    "text_safety": "core.text_safety",
    "background": "core.background",  # BackgroundJob (issue 22), new on main; imports only progress
    # model: runners, the scoring fast path, model loading
    "runner": "model.hf_runner",
    "models": "model.registry",
    "lean_llama": "model.lean_llama",
    "prefix_cache": "model.prefix_cache",
    "testing": "model.fake",
    "load_times": "model.load_times",  # measured model load times (issue 22, new on main; models imports it)
    "cost": "model.cost",  # cost of a request before it runs (issue 22, new on main; imports runner only)
    # data
    "datasets": "data.datasets",
    "gen_tasks": "data.gen_tasks",
    # prompting (cot: generation prompts; data/gen_tasks imports it, so it sits at the data layer)
    "prompts": "prompting.prompts",
    "cot": "prompting.cot",
    # scoring
    "scoring": "scoring.scorers",
    # retrieval
    "retrieval": "retrieval.retrievers",
    "orderings": "retrieval.orderings",
    "demo_index": "retrieval.demo_index",
    # generation
    "generation": "generation.decoders",
    "gen_metrics": "generation.metrics",
    # interpretability
    "heads": "interp.heads",
    "ablation": "interp.ablation",
    "prompt_attention": "interp.prompt_attention",
    # evaluation
    "evaluation": "evaluation.run",
    "stats": "core.stats",  # intervals and paired tests (pure maths; every layer reports with it, issue 14)
    # experiments
    "sensitivity": "experiments.sensitivity",
    "selection": "experiments.selection",
    "ranking": "experiments.ranking",
    "experiment": "experiments.share",
    "zero_few": "experiments.zero_few",  # zero- vs few-shot on the Home page (issue 22, new on main)
}

# new subpackage -> its __init__ docstring (what the layer is for, and what it may import)
PACKAGES: dict[str, str] = {
    "core": (
        "Core: user-facing errors, content fingerprints, progress and stop hooks, background jobs,\n"
        "text safety.\n\n"
        "The bottom layer: everything may import it; it imports no other engine layer."
    ),
    "model": (
        "Model: the runner protocol and its request / result types, the Hugging Face runner, the\n"
        "shared-prefix scoring fast path, the lean Llama forward, the model registry and the fake\n"
        "runner used by tests.\n\n"
        "Layer order: core < model < data, prompting < scoring, retrieval, generation, interp <\n"
        "evaluation < experiments < cli. This package imports only core."
    ),
    "data": (
        "Data: classification benchmarks and uploads, generation tasks and their uploads.\n\n"
        "Imports core and model only (and prompting, its neighbour on the same layer)."
    ),
    "prompting": (
        "Prompting: classification prompts (format, demonstrations, assembly, fitting a budget) and\n"
        "generation / chain-of-thought prompts with answer parsing.\n\n"
        "Imports core and model only (and data, its neighbour on the same layer)."
    ),
    "scoring": (
        "Scoring: direct, perplexity and channel scorers, and calibrations, turning log-probs into\n"
        "one answer per label.\n\n"
        "Imports core, model, data and prompting."
    ),
    "retrieval": (
        "Retrieval: demonstration retrievers, orderings and the embedding / BM25 indexes they use.\n\n"
        "Imports core, model, data and prompting."
    ),
    "generation": (
        "Generation: decoding strategies over a KV-cached model, streamed token by token, and metrics\n"
        "of generated text against references.\n\n"
        "Imports core, model, data and prompting."
    ),
    "interp": (
        "Interpretability: attention-head scores, head ablation and attention over prompt parts.\n\n"
        "Imports core, model, data and prompting."
    ),
    "evaluation": (
        "Evaluation: score every label of every test query and measure how well the model predicts.\n\n"
        "Imports the layers below it (core .. scoring, retrieval, generation, interp)."
    ),
    "experiments": (
        "Experiments: sensitivity lab, demonstration-selection comparisons, response ranking and\n"
        "experiments as files and links.\n\n"
        "Imports every layer below it; only cli (and the app) import it."
    ),
}

TEXT_SUFFIXES = {".py", ".md", ".toml", ".cfg", ".ini", ".txt", ".yml", ".yaml", ".pyi", ".rst"}
TEXT_NAMES = {"Makefile"}
SKIP_PREFIXES = ("artifacts/", "tools/restructure/")

OLD = sorted(MAPPING, key=len, reverse=True)
NEW_SUBMODULES: dict[str, set[str]] = {}
for _new in MAPPING.values():
    _pkg, _mod = _new.split(".", 1)
    NEW_SUBMODULES.setdefault(_pkg, set()).add(_mod.split(".")[0])
COLLIDING = {old for old in MAPPING if old in PACKAGES}  # old module name == new package name


def git(repo: Path, *args: str, check: bool = True) -> str:
    res = subprocess.run(["git", "-C", str(repo), *args], check=False, capture_output=True, text=True)
    if check and res.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed: {res.stderr.strip()}")
    return res.stdout


def new_path(old: str) -> str:
    return "engine/" + MAPPING[old].replace(".", "/") + ".py"


def old_path(old: str) -> str:
    return f"engine/{old}.py"


# ---------------------------------------------------------------- checks


def top_level_names(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name):
                        names.add(n.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                names.add((a.asname or a.name).split(".")[0])
    return names


def check_collisions(repo: Path) -> None:
    """An old module whose name becomes a package must not define a name that is also a new
    submodule of that package: ``engine.scoring.X`` would be ambiguous."""
    bad = []
    for old in sorted(COLLIDING):
        p = repo / old_path(old)
        if p.is_file():
            clash = top_level_names(p.read_text()) & NEW_SUBMODULES[old]
            if clash:
                bad.append(f"{old_path(old)} defines {sorted(clash)}, also new submodules of engine.{old}")
    if bad:
        raise SystemExit("mapping collision:\n  " + "\n  ".join(bad))


# ---------------------------------------------------------------- import statements (ast)


def module_of(rel_path: str) -> tuple[str, bool]:
    """Dotted module name of a repo-relative .py path and whether it is a package __init__."""
    parts = rel_path[:-3].split("/")
    is_pkg = parts[-1] == "__init__"
    if is_pkg:
        parts = parts[:-1]
    return ".".join(parts), is_pkg


def resolve_relative(rel_path: str, level: int, module: str | None) -> str | None:
    mod, is_pkg = module_of(rel_path)
    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
    if level - 1 > len(base):
        return None
    base = base[: len(base) - (level - 1)]
    if module:
        base = [*base, *module.split(".")]
    return ".".join(base)


def map_dotted(name: str, *, bare_ok: bool, init_names: dict[str, set[str]]) -> str | None:
    """engine.<old>[.rest] -> engine.<new>[.rest]; None when `name` is not an old reference."""
    parts = name.split(".")
    if len(parts) < 2 or parts[0] != "engine" or parts[1] not in MAPPING:
        return None
    old = parts[1]
    if old in COLLIDING:
        if len(parts) == 2 and not bare_ok:
            return None
        if len(parts) > 2 and (parts[2] in NEW_SUBMODULES[old] or parts[2] in init_names.get(old, set())):
            return None
    return ".".join(["engine", *MAPPING[old].split("."), *parts[2:]])


def _line_offsets(source: str) -> list[int]:
    offs = [0]
    for line in source.splitlines(keepends=True):
        offs.append(offs[-1] + len(line))
    return offs


def _alias(a: ast.alias) -> str:
    return a.name + (f" as {a.asname}" if a.asname else "")


def rewrite_imports(
    source: str, rel_path: str, *, absolutize_all: bool, moved_now: set[str], init_names: dict[str, set[str]]
) -> str:
    """Rewrite ImportFrom statements that need more than a dotted-name replacement:
    ``from engine import old`` / ``from . import old`` (module imports) and relative imports.
    With `absolutize_all`, every relative import becomes absolute (the file is about to move)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    offs = _line_offsets(source)
    edits: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level == 0 and node.module != "engine":
            continue  # `from engine.x import y`: the dotted-name pass handles it
        target = node.module if node.level == 0 else resolve_relative(rel_path, node.level, node.module)
        if target is None or not (target == "engine" or target.startswith("engine.")):
            continue
        indent = " " * node.col_offset
        stmts: list[str] = []
        if target == "engine":
            keep: list[ast.alias] = []
            for a in node.names:
                mapped = map_dotted(f"engine.{a.name}", bare_ok=a.name in moved_now, init_names=init_names)
                if mapped is None:
                    keep.append(a)
                    continue
                pkg, mod = mapped.rsplit(".", 1)
                local = a.asname or a.name
                stmts.append(f"from {pkg} import {mod}" + ("" if local == mod else f" as {local}"))
            if not stmts and not (absolutize_all and node.level > 0):
                continue
            if keep:
                stmts.insert(0, f"from engine import {', '.join(_alias(a) for a in keep)}")
        else:
            if node.level == 0:
                continue
            mapped = map_dotted(target, bare_ok=target.split(".")[1] in moved_now, init_names=init_names)
            if mapped is None and not absolutize_all:
                continue
            names = ", ".join(_alias(a) for a in node.names)
            stmts.append(f"from {mapped or target} import {names}")
        start = offs[node.lineno - 1] + node.col_offset
        end = offs[node.end_lineno - 1] + node.end_col_offset  # type: ignore[operator]
        edits.append((start, end, ("\n" + indent).join(stmts)))
    for start, end, text in sorted(edits, reverse=True):
        source = source[:start] + text + source[end:]
    return source


# ---------------------------------------------------------------- dotted names and paths (text)

_DOTTED = re.compile(r"(?<![\w.])engine\.(" + "|".join(OLD) + r")\b(\.[A-Za-z_]\w*)?")
_PATH = re.compile(r"(?<![\w./-])engine/(" + "|".join(OLD) + r")\.py\b")


def rewrite_text(text: str, *, moved_now: set[str], init_names: dict[str, set[str]]) -> str:
    def dotted(m: re.Match[str]) -> str:
        old, rest = m.group(1), m.group(2) or ""
        mapped = map_dotted(f"engine.{old}{rest}", bare_ok=old in moved_now, init_names=init_names)
        return m.group(0) if mapped is None else mapped

    text = _DOTTED.sub(dotted, text)
    return _PATH.sub(lambda m: new_path(m.group(1)), text)


# ---------------------------------------------------------------- files


def tracked_text_files(repo: Path) -> list[str]:
    out = []
    for rel in git(repo, "ls-files", "-z").split("\0"):
        if not rel or rel.startswith(SKIP_PREFIXES) or not (repo / rel).is_file():
            continue
        p = Path(rel)
        if p.suffix in TEXT_SUFFIXES or p.name in TEXT_NAMES or rel.startswith(".ci/"):
            out.append(rel)
    return out


def read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None


def write_if_changed(path: Path, new: str, old: str, dry: bool) -> bool:
    if new == old:
        return False
    if not dry:
        path.write_text(new, encoding="utf-8")
    return True


def package_init_names(repo: Path) -> dict[str, set[str]]:
    names: dict[str, set[str]] = {}
    for pkg in PACKAGES:
        init = repo / "engine" / pkg / "__init__.py"
        src = read(init) if init.is_file() else None
        names[pkg] = top_level_names(src) if src else set()
    return names


def init_text(pkg: str) -> str:
    return f'"""{PACKAGES[pkg]}\n"""\n'


def move(repo: Path, dry: bool) -> set[str]:
    """git mv every module still at its old place; returns the old names moved in this run."""
    moved: set[str] = set()
    for pkg in PACKAGES:
        d = repo / "engine" / pkg
        init = d / "__init__.py"
        if not init.exists():
            print(f"create engine/{pkg}/__init__.py")
            if not dry:
                d.mkdir(parents=True, exist_ok=True)
                init.write_text(init_text(pkg))
                git(repo, "add", f"engine/{pkg}/__init__.py")
    for old in sorted(MAPPING):
        src, dst = repo / old_path(old), repo / new_path(old)
        if src.is_file() and dst.exists():
            raise SystemExit(f"both {old_path(old)} and {new_path(old)} exist: merge them by hand first")
        if src.is_file():
            print(f"git mv {old_path(old)} {new_path(old)}")
            if not dry:
                dst.parent.mkdir(parents=True, exist_ok=True)
                git(repo, "mv", old_path(old), new_path(old))
            moved.add(old)
        elif not dst.exists():
            print(f"warning: neither {old_path(old)} nor {new_path(old)} exists (module removed?)")
    return moved


def find_ruff(repo: Path, given: str | None) -> str | None:
    for cand in [given, str(repo / ".venv/bin/ruff"), shutil.which("ruff")]:
        if cand and Path(cand).is_file() and os.access(cand, os.X_OK):
            return cand
    return None


def self_check(repo: Path, init_names: dict[str, set[str]]) -> int:
    """Print every stale reference left; returns how many."""
    stale_imp = re.compile(r"^\s*from\s+engine\s+import\s+.*\b(" + "|".join(OLD) + r")\b", re.MULTILINE)
    n = 0
    for rel in tracked_text_files(repo):
        text = read(repo / rel)
        if text is None:
            continue
        for lineno, line in enumerate(text.splitlines(), 1):
            hits = []
            for m in _DOTTED.finditer(line):
                old, rest = m.group(1), m.group(2) or ""
                if map_dotted(f"engine.{old}{rest}", bare_ok=old not in COLLIDING, init_names=init_names):
                    hits.append(m.group(0))
            hits += [m.group(0) for m in _PATH.finditer(line)]
            hits += [m.group(0).strip() for m in stale_imp.finditer(line)]
            for h in hits:
                print(f"  stale: {rel}:{lineno}: {h}")
                n += 1
    for old in sorted(MAPPING):
        if (repo / old_path(old)).exists():
            print(f"  stale: {old_path(old)} still exists")
            n += 1
    for p in sorted((repo / "engine").glob("*.py")):
        if p.name not in ("__init__.py", "__main__.py"):  # a module main gained after MAPPING was written
            print(f"  unmapped: engine/{p.name} is in no subpackage: add it to MAPPING and rerun")
            n += 1
    return n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("repo", type=Path)
    ap.add_argument("--ruff", help="ruff executable (default: REPO/.venv/bin/ruff, then PATH)")
    ap.add_argument("--no-ruff", action="store_true", help="do not sort imports / format changed files")
    ap.add_argument("--dry-run", action="store_true", help="print what would change, change nothing")
    args = ap.parse_args(argv)
    repo: Path = args.repo.resolve()
    if not (repo / "engine").is_dir():
        raise SystemExit(f"{repo} has no engine/ folder")
    dry = args.dry_run

    check_collisions(repo)
    to_move = {old for old in MAPPING if (repo / old_path(old)).is_file()}
    moved = move(repo, dry) if not dry else to_move
    init_names = package_init_names(repo)
    # where each moved module was: its relative imports resolve from there
    was_at = {new_path(old): old_path(old) for old in moved}
    if dry:  # nothing moved: read the modules at their old place
        was_at = {old_path(old): old_path(old) for old in moved}

    changed: set[str] = set()
    for rel in tracked_text_files(repo):
        path = repo / rel
        src = read(path)
        if src is None:
            continue
        # dotted names and paths first; then the import statements that need ast (their output
        # is already in the new form and must not go through the text pass again)
        new = rewrite_text(src, moved_now=moved, init_names=init_names)
        if rel.endswith(".py"):
            new = rewrite_imports(
                new,
                was_at.get(rel, rel),
                absolutize_all=rel in was_at,
                moved_now=moved,
                init_names=init_names,
            )
        if write_if_changed(path, new, src, dry):
            changed.add(rel)
            print(f"rewrite {rel}")

    py_changed = sorted(c for c in changed if c.endswith(".py") and (repo / c).is_file())
    py_changed += [f"engine/{p}/__init__.py" for p in PACKAGES if f"engine/{p}/__init__.py" not in py_changed]
    ruff = None if args.no_ruff or dry else find_ruff(repo, args.ruff)
    if ruff and py_changed:
        subprocess.run([ruff, "check", "--select", "I", "--fix", "-q", *py_changed], cwd=repo, check=False)
        subprocess.run([ruff, "format", "-q", *py_changed], cwd=repo, check=False)
    elif not args.no_ruff and not dry:
        print(
            "warning: ruff not found; run `ruff check --select I --fix` and `ruff format` on the changed files"
        )

    print(f"{len(moved)} modules moved, {len(changed)} files rewritten")
    if dry:
        return 0
    print("self-check: stale references to old engine modules")
    n = self_check(repo, init_names)
    print(f"  {n} left" if n else "  none")
    return 1 if n else 0


if __name__ == "__main__":
    sys.exit(main())
