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

LANG_KEY = "lang"
LANGUAGES = {"en": "English", "zh": "简体中文"}


def lang() -> str:
    value = st.session_state.get(LANG_KEY, "en")
    return value if value in LANGUAGES else "en"


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


def missing_translations(root: Path | None = None) -> list[str]:
    """English keys passed to t("...") in pages/ and components/ that have no Chinese entry."""
    import ast

    root = root or Path(__file__).resolve().parent.parent
    keys: set[str] = set()
    for folder in ("pages", "components"):
        for path in (root / folder).glob("*.py"):
            for m in _T_CALL.finditer(path.read_text(encoding="utf-8")):
                try:
                    keys.add(ast.literal_eval(m.group("q")))
                except (ValueError, SyntaxError):
                    continue
    return sorted(k for k in keys if k not in ZH)
