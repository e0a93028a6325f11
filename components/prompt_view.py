"""The assembled prompt, coloured by part (instruction, demonstrations, query, label words)."""

from __future__ import annotations

import html

import streamlit as st

from engine.prompts import Prompt

_COLORS = {"instruction": "#fff3cd", "demo": "#e7f1ff", "query": "#e6f4ea", "separator": "transparent"}


def prompt_html(prompt: Prompt) -> str:
    """HTML of the prompt with each segment shaded and label words in bold."""
    out: list[str] = []
    for seg in prompt.segments:
        piece = prompt.text[seg.start : seg.end]
        if seg.kind == "demo" and seg.label_start is not None and seg.label_end is not None:
            a, b = seg.label_start - seg.start, seg.label_end - seg.start
            inner = html.escape(piece[:a]) + "<b><u>" + html.escape(piece[a:b]) + "</u></b>" + html.escape(piece[b:])
        else:
            inner = html.escape(piece)
        title = seg.kind if seg.demo_index is None else f"demonstration {seg.demo_index + 1}"
        out.append(f'<span title="{title}" style="background:{_COLORS[seg.kind]}">{inner}</span>')
    out.append('<span style="background:#ffd6d6">▮</span>')
    return (
        '<div style="white-space:pre-wrap;font-family:monospace;font-size:0.85rem;border:1px solid #ddd;'
        'border-radius:6px;padding:8px;max-height:420px;overflow:auto">' + "".join(out) + "</div>"
    )


def render_prompt(prompt: Prompt, *, n_tokens: int | None = None) -> None:
    meta = f"{n_tokens} tokens · " if n_tokens is not None else ""
    st.caption(f"{meta}{len(prompt.demos)} demonstrations · {len(prompt.text)} characters · ▮ = where the label goes")
    if prompt.n_dropped:
        st.warning(
            f"{prompt.n_dropped} demonstration(s) were dropped from the far end so the prompt fits the "
            "model's context."
        )
    st.markdown(prompt_html(prompt), unsafe_allow_html=True)
    with st.expander("Plain text (copy)"):
        st.code(prompt.text, language=None)
