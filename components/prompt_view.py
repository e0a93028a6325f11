"""The assembled prompt, coloured by part (instruction, demonstrations, query, label words)."""

from __future__ import annotations

import html

import streamlit as st

from components.html_text import escape_text
from components.i18n import t
from engine.prompting.prompts import Prompt

_COLORS = {"instruction": "#fff3cd", "demo": "#e7f1ff", "query": "#e6f4ea", "separator": "transparent"}


def prompt_html(prompt: Prompt) -> str:
    """HTML of the prompt with each segment shaded and label words in bold."""
    kinds = {
        "instruction": t("instruction"),
        "demo": t("demonstration"),
        "query": t("query"),
        "separator": t("separator"),
    }
    out: list[str] = []
    for seg in prompt.segments:
        piece = prompt.text[seg.start : seg.end]
        if seg.kind == "demo" and seg.label_start is not None and seg.label_end is not None:
            a, b = seg.label_start - seg.start, seg.label_end - seg.start
            inner = (
                escape_text(piece[:a])
                + "<b><u>"
                + escape_text(piece[a:b])
                + "</u></b>"
                + escape_text(piece[b:])
            )
        else:
            inner = escape_text(piece)
        title = (
            kinds.get(seg.kind, seg.kind)
            if seg.demo_index is None
            else t("demonstration {n}", n=seg.demo_index + 1)
        )
        out.append(
            f'<span title="{html.escape(title)}" style="background:{_COLORS[seg.kind]}">{inner}</span>'
        )
    out.append('<span style="background:#ffd6d6">▮</span>')
    return (
        '<div style="white-space:pre-wrap;font-family:monospace;font-size:0.85rem;border:1px solid #ddd;'
        'border-radius:6px;padding:8px;max-height:420px;overflow:auto">' + "".join(out) + "</div>"
    )


def render_prompt(prompt: Prompt, *, n_tokens: int | None = None) -> None:
    # the same count and words as the Attention page (`Prompt.n_tokens`: what the model reads before the label)
    meta = (
        t("{n} tokens before the label (BOS counted where the tokenizer adds one)", n=n_tokens) + " · "
        if n_tokens is not None
        else ""
    )
    st.caption(
        meta
        + t(
            "{d} demonstrations · {c} characters · ▮ = where the label goes",
            d=len(prompt.demos),
            c=len(prompt.text),
        )
    )
    if prompt.n_dropped:
        st.warning(
            t(
                "{n} demonstration(s) were dropped from the far end so the prompt fits the model's context.",
                n=prompt.n_dropped,
            )
        )
    st.markdown(prompt_html(prompt), unsafe_allow_html=True)
    with st.expander(t("Plain text (copy)")):
        st.code(prompt.text, language=None)
