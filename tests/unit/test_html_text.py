"""User text in the app's HTML views is shown as typed: never Markdown, LaTeX or markup."""

from __future__ import annotations

import html
import re

from hypothesis import given
from hypothesis import strategies as st

from components.html_text import escape_text
from components.prompt_view import prompt_html
from engine.prompting.prompts import Demo, PromptFormat, build_prompt

NASTY = ["![t](https://example.org/t.png)", "$5 and $10", "**bold** _it_ `code`", "<b>x</b> & [link](u)"]


def _visible(fragment: str) -> str:
    """The text a browser shows for an HTML fragment (tags dropped, references decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def test_markdown_and_latex_syntax_is_neutralised() -> None:
    for text in NASTY:
        out = escape_text(text)
        assert not set(out) & set("$![]()*_`<>"), out
        assert _visible(out) == text


@given(st.text())
def test_any_text_is_shown_as_typed(text: str) -> None:
    out = escape_text(text)
    assert "<" not in out and "$" not in out
    assert _visible(out) == text


def test_prompt_view_shows_demonstrations_with_markdown_literally() -> None:
    demos = [Demo(NASTY[0], "positive"), Demo(NASTY[1], "negative")]
    words = {"positive": "positive", "negative": "negative"}
    prompt = build_prompt(PromptFormat("Review: {text}\nSentiment: {label}"), demos, NASTY[2], words)
    out = prompt_html(prompt)
    body = re.sub(r"<[^>]+>", "", out)  # what Markdown would parse, outside the tags
    assert "$" not in body and "![" not in body and "](" not in body and "**" not in body
    shown = _visible(out)
    for text in NASTY[:3]:
        assert text in shown
