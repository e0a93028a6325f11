"""The settings schema matches the widgets in the source: every setting widget of pages/ and
components/ has an entry (or a reason in NOT_SETTINGS), every entry has a widget, kinds and
bounds are the widgets' own; and `validate_settings` accepts what a widget holds, refuses the rest."""

from __future__ import annotations

import ast
import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from components.settings_schema import NOT_SETTINGS, SETTINGS, Setting, validate_settings

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*ROOT.glob("pages/*.py"), *ROOT.glob("components/*.py")])
# widgets that hold a value a page reads (buttons, uploaders, editors, charts, tables do not)
SETTING_WIDGETS = {
    "selectbox": ("choice",),
    "radio": ("choice",),
    "multiselect": ("multi",),
    "number_input": ("int", "float"),
    "slider": ("int", "float", "range"),
    "select_slider": ("choice",),
    "checkbox": ("bool",),
    "toggle": ("bool",),
    "text_input": ("str",),
    "text_area": ("str",),
    "pills": ("choice", "multi"),
    "segmented_control": ("choice", "multi"),
}


@dataclass(frozen=True)
class Widget:
    file: str
    line: int
    kind: str  # the st.* function
    key: str  # a key, or an f-string key as written (its template)
    dynamic: bool  # the key is an f-string
    lo: ast.expr | None
    hi: ast.expr | None
    value: ast.expr | None


def _imports(tree: ast.Module) -> dict[str, tuple[str, str | None]]:
    """Local name -> (module, attribute or None for a module alias)."""
    out: dict[str, tuple[str, str | None]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                out[a.asname or a.name] = (node.module, a.name)
        elif isinstance(node, ast.Import):
            for a in node.names:
                out[a.asname or a.name] = (a.name, None)
    return out


class Unresolved(Exception):
    pass


def _resolve(node: ast.expr, imports: dict[str, tuple[str, str | None]], own: str | None) -> str:
    """The string value of a key given as a constant, a module constant or a module attribute."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in imports:
            mod, attr = imports[node.id]
            return str(getattr(importlib.import_module(mod), attr or node.id))
        if own is not None and hasattr(importlib.import_module(own), node.id):
            return str(getattr(importlib.import_module(own), node.id))
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in imports:
        mod, attr = imports[node.value.id]
        target = importlib.import_module(mod if attr is None else f"{mod}.{attr}")
        return str(getattr(target, node.attr))
    raise Unresolved(ast.unparse(node))


def _parents(tree: ast.Module) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _keys_of(
    node: ast.expr,
    call: ast.Call,
    tree: ast.Module,
    parents: dict[ast.AST, ast.AST],
    imports: dict[str, tuple[str, str | None]],
    own: str | None,
) -> list[tuple[str, bool]]:
    """(key, is_template) for a widget's key expression. A parameter of the enclosing function is
    followed to the function's call sites in the file; a local variable computed by a call, or
    anything else not known statically, becomes the template "{<expression>}"."""
    if isinstance(node, ast.JoinedStr):
        return [(_template(node), True)]
    try:
        return [(_resolve(node, imports, own), False)]
    except Unresolved:
        pass
    func = parents.get(call)
    while func is not None and not isinstance(func, ast.FunctionDef):
        func = parents.get(func)
    if isinstance(node, ast.Name) and func is not None:
        params = [a.arg for a in func.args.args]
        if node.id in params:
            index = params.index(node.id)
            out = []
            for site in ast.walk(tree):
                if (
                    isinstance(site, ast.Call)
                    and isinstance(site.func, ast.Name)
                    and site.func.id == func.name
                ):
                    arg = _arg(site, index, node.id)
                    assert arg is not None, f"{func.name}() called without {node.id}"
                    out += _keys_of(arg, site, tree, parents, imports, own)
            return out
        for stmt in ast.walk(func):
            if isinstance(stmt, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == node.id for t in stmt.targets
            ):
                if isinstance(stmt.value, ast.JoinedStr):
                    return [(_template(stmt.value), True)]
                try:
                    return [(_resolve(stmt.value, imports, own), False)]
                except Unresolved:
                    return [("{" + ast.unparse(stmt.value) + "}", True)]
    return [("{" + ast.unparse(node) + "}", True)]


def _template(node: ast.JoinedStr) -> str:
    """An f-string key as written: f"{prefix}_top_k" -> "{prefix}_top_k"."""
    parts = []
    for v in node.values:
        if isinstance(v, ast.Constant):
            parts.append(str(v.value))
        else:
            assert isinstance(v, ast.FormattedValue)
            parts.append("{" + ast.unparse(v.value) + "}")
    return "".join(parts)


def _arg(call: ast.Call, pos: int, name: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return call.args[pos] if len(call.args) > pos else None


def setting_widgets() -> list[Widget]:
    found = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = _parents(tree)
        rel = path.relative_to(ROOT).as_posix()
        own = rel[:-3].replace("/", ".") if rel.startswith("components/") else None
        imports = _imports(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            kind = node.func.attr
            key_node = next((kw.value for kw in node.keywords if kw.arg == "key"), None)
            if kind not in SETTING_WIDGETS or key_node is None:
                continue
            for key, dynamic in _keys_of(key_node, node, tree, parents, imports, own):
                found.append(
                    Widget(
                        rel,
                        node.lineno,
                        kind,
                        key,
                        dynamic,
                        _arg(node, 1, "min_value"),
                        _arg(node, 2, "max_value"),
                        _arg(node, 3, "value"),
                    )
                )
    return found


WIDGETS = setting_widgets()


def _schema_keys_of(widget: Widget) -> list[str]:
    """The schema entries bound to this widget (by key, by f-string template, or through `widget=`)."""
    if widget.dynamic:
        keys = [k for k, s in SETTINGS.items() if s.template == widget.key]
        # every key the schema lists for a template is one the f-string can produce
        assert all(re.fullmatch(re.sub(r"\\\{[^}]*\\\}", ".+", re.escape(widget.key)), k) for k in keys)
        return keys
    return [k for k, s in SETTINGS.items() if not s.template and (s.widget or k) == widget.key]


def _excluded(widget: Widget) -> bool:
    return widget.key in NOT_SETTINGS


def test_the_scan_sees_the_widgets() -> None:
    keys = {w.key for w in WIDGETS}
    # constants, module attributes, f-strings and the sidebar's own widgets are all seen
    assert {"sc_scorers", "gen_source", "sb_device", "att_demo_layers", "sb_seed"} <= keys
    assert {"ds_opt_{name}", "sens_n_{experiment}", "{prefix}_temperature"} <= keys
    assert "sc_run" not in keys  # a button


def test_every_setting_widget_has_a_schema_entry() -> None:
    missing = [
        f"{w.file}:{w.line} {w.kind}(key={w.key!r})"
        for w in WIDGETS
        if not _schema_keys_of(w) and not _excluded(w)
    ]
    assert missing == [], "add these widgets to components/settings_schema.py (SETTINGS or NOT_SETTINGS)"


def test_every_schema_entry_has_a_widget() -> None:
    exact = {w.key for w in WIDGETS if not w.dynamic}
    templates = {w.key for w in WIDGETS if w.dynamic}
    orphans = [
        k
        for k, s in SETTINGS.items()
        if (s.template not in templates if s.template else (s.widget or k) not in exact)
    ]
    assert orphans == []
    # the exclusions name widgets that exist too
    assert [k for k in NOT_SETTINGS if k not in exact | templates] == []


def _literal(node: ast.expr | None) -> Any:
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except ValueError:
        names = [n for n in ast.walk(node) if isinstance(n, ast.Name)]
        if isinstance(node, ast.BinOp) and not names:  # 2**31 - 1
            return eval(compile(ast.Expression(node), "<bound>", "eval"), {})
        return ast.unparse(node)


@pytest.mark.parametrize("widget", WIDGETS, ids=lambda w: f"{w.key}@{w.file}:{w.line}")
def test_kinds_and_bounds_are_the_widgets_own(widget: Widget) -> None:
    for key in _schema_keys_of(widget):
        spec = SETTINGS[key]
        assert spec.kind in SETTING_WIDGETS[widget.kind], (key, spec.kind, widget.kind)
        if widget.kind == "slider":
            is_range = isinstance(widget.value, ast.Tuple)
            assert (spec.kind == "range") == is_range, key
        if widget.kind not in ("number_input", "slider"):
            continue
        lo, hi = _literal(widget.lo), _literal(widget.hi)
        if widget.dynamic and (isinstance(lo, str) or isinstance(hi, str)):
            continue  # bounds computed per key (ds_opt_*: from engine.retrieval.retrievers.OPTIONS, see the schema)
        assert spec.lo == lo, (key, spec.lo, lo)
        if isinstance(hi, str):
            assert spec.hi is None and spec.dynamic_hi == hi, (key, spec.dynamic_hi, hi)
        else:
            assert spec.hi == hi and not spec.dynamic_hi, (key, spec.hi, hi)
        if spec.kind in ("int", "float"):
            floats = any(isinstance(b, float) for b in (lo, hi))
            assert (spec.kind == "float") == floats, key


def test_retrieval_option_bounds_follow_the_engine() -> None:
    from engine.retrieval.retrievers import OPTIONS

    for name, opt in OPTIONS.items():
        spec = SETTINGS[f"ds_opt_{name}"]
        assert spec.kind == ("int" if opt.integer else "float")
        assert spec.lo == opt.low and spec.hi == (
            min(opt.high, 10_000) if opt.integer else min(opt.high, 5.0)
        )


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("sc_scorers", ["ppl", "direct"], ["ppl", "direct"]),
        ("sc_full_tokens", True, True),
        ("att_demo_layers", [2, 5], (2, 5)),
        ("sc_k", 0, 0),
        ("rk_tau", 2, 2.0),
        ("device", "cuda", "cuda"),
        ("sens_ks", [0, 4], [0, 4]),
        ("rk_instruction", "x" * 5000, "x" * 5000),
    ],
)
def test_valid_values_are_accepted(key: str, value: Any, expected: Any) -> None:
    accepted, rejected = validate_settings({key: value})
    assert rejected == []
    assert accepted == {key: expected}
    assert type(accepted[key]) is type(expected)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("device", "tpu"),
        ("sb_seed", "abc"),
        ("seed", 1e30),
        ("sc_run", True),
        ("nonexistent_key", 1),
        ("sc_k", 65),
        ("sc_k", 2.5),
        ("sc_k", True),
        ("sc_k", "3"),
        ("sc_n_test", 10**30),
        ("att_layer", 2**40),
        ("rk_tau", float("nan")),
        ("rk_tau", 0.0),
        ("sc_scorers", "direct"),
        ("sc_scorers", ["direct", "direct"]),
        ("sc_scorers", ["nope"]),
        ("sens_ks", ["4"]),
        ("sc_full_tokens", 1),
        ("att_demo_layers", [5, 2]),
        ("att_demo_layers", [0, 1, 2]),
        ("att_demo_layers", [-1, 2]),
        ("pl_scorer", "nope"),
        ("pl_calibration", "batch"),
        ("sc_retrieval", "fixed"),
        ("rk_instruction", "x" * 20_001),
        ("gen_trigger", 5),
    ],
)
def test_bad_values_are_refused_with_a_reason(key: str, value: Any) -> None:
    accepted, rejected = validate_settings({key: value, "sc_k": 4} if key != "sc_k" else {key: value})
    assert [k for k, _ in rejected] == [key]
    assert rejected[0][1]
    assert key not in accepted


def test_settings_that_are_not_an_object_are_refused() -> None:
    assert validate_settings(["sc_k", 4]) == ({}, [("settings", "expected an object")])


def test_setting_specs_are_frozen() -> None:
    with pytest.raises(AttributeError):
        SETTINGS["sc_k"].hi = 10  # type: ignore[misc]
    assert isinstance(SETTINGS["sc_k"], Setting)


def test_the_version_warning_is_translated(monkeypatch: pytest.MonkeyPatch) -> None:
    import components.i18n as i18n
    from engine.experiments.share import Experiment, version_note

    note = version_note(Experiment("m", "sst2", "", "{text} {label}", "\n", "", (), (), app_version="0.0.1"))
    assert note is not None
    monkeypatch.setattr(i18n, "lang", lambda: "zh")
    shown = i18n.t_error(note)
    assert "0.0.1" in shown and shown.startswith("此实验")
