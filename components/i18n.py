"""UI language: English and 简体中文.

Every user-visible string in pages and components goes through `t()`: the English text is the
key (so a page reads naturally and a missing translation falls back to English), and
`ZH` maps it to Chinese. Format fields are filled after translation: ``t("{n} tokens", n=5)``.
Engine error messages (English, built at run time) go through `t_error()`, which translates the
common message patterns and otherwise shows the English text after a Chinese lead-in.

`missing_translations()` lists the keys used in the code that have no Chinese yet; a unit
test keeps it empty.
"""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

from components.i18n_zh import ERROR_PATTERNS, ZH

# The language lives under LANG_KEY, which no widget uses: the sidebar's radio (drawn by each
# page, so dropped from session state on every page change) has its own key, LANG_WIDGET,
# initialised from LANG_KEY when missing and written back by its callback (issue 22, bug 1).
LANG_KEY = "lang"
LANG_WIDGET = "w_lang"
LANGUAGES = {"en": "English", "zh": "简体中文"}


def lang() -> str:
    value = st.session_state.get(LANG_KEY, "en")
    return value if value in LANGUAGES else "en"


def set_lang(code: str) -> None:
    """Sets the UI language from code (a loaded experiment); call before the sidebar is drawn.
    The radio's key is dropped so that it re-initialises from the new value."""
    st.session_state[LANG_KEY] = code if code in LANGUAGES else "en"
    if LANG_WIDGET in st.session_state:
        del st.session_state[LANG_WIDGET]


def store_lang() -> None:
    """on_change of the language radio: its choice becomes the session's language."""
    st.session_state[LANG_KEY] = str(st.session_state.get(LANG_WIDGET, "en"))


def prepare_lang_widget() -> None:
    """Gives the language radio the session's language; call right before drawing it.

    Written on every run, not only when the key is missing: the sidebar is drawn by each page,
    so after a page change the key still names the previous page's radio (a different widget)
    during the first run, and the new radio would start from its default, English. A user's
    click has already reached LANG_KEY through `store_lang` when this runs.
    """
    st.session_state[LANG_WIDGET] = lang()


def t(text: str, /, **fields: object) -> str:
    """`text` in the current UI language, with `fields` formatted in."""
    out = ZH.get(text, text) if lang() == "zh" else text
    return out.format(**fields) if fields else out


def t_error(message: str) -> str:
    """An engine error message in the current UI language."""
    if lang() != "zh":
        return message
    for pattern, zh in ERROR_PATTERNS:
        m = re.search(pattern, message, flags=re.S)
        if m:
            return zh.format(*m.groups(), message=message)
    return f"出错了:{message}"


_T_CALL = re.compile(r"""\bt\(\s*(?P<q>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*[,)]""")

# Constructors whose string fields are English keys translated at render time (positions, names).
_KEYED_CALLS: dict[str, tuple[tuple[int, ...], frozenset[str]]] = {
    "TourStep": ((1, 2, 3), frozenset({"title", "text", "button"})),
}


def _literal_keys(source: str) -> set[str]:
    """String literals passed as t("...")'s first argument or as the translated fields of
    `_KEYED_CALLS` (implicitly concatenated and triple-quoted literals included)."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:  # fall back to the plain pattern on a file that does not parse
        keys: set[str] = set()
        for m in _T_CALL.finditer(source):
            try:
                keys.add(ast.literal_eval(m.group("q")))
            except (ValueError, SyntaxError):
                continue
        return keys

    def literal(node: ast.expr) -> str | None:
        return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None

    keys = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name == "t" and node.args:
            args = node.args[:1]
        elif name in _KEYED_CALLS:
            positions, names = _KEYED_CALLS[name]
            args = [a for i, a in enumerate(node.args) if i in positions]
            args += [kw.value for kw in node.keywords if kw.arg in names]
        else:
            continue
        keys.update(k for k in map(literal, args) if k is not None)
    return keys


def missing_translations(root: Path | None = None) -> list[str]:
    """English keys used in pages/ and components/ that have no Chinese entry: the first
    argument of t("...") calls, and the title / text / button literals of `TourStep(...)`."""
    root = root or Path(__file__).resolve().parent.parent
    keys: set[str] = set()
    for folder in ("pages", "components"):
        for path in (root / folder).glob("*.py"):
            keys |= _literal_keys(path.read_text(encoding="utf-8"))
    return sorted(k for k in keys if k not in ZH)
