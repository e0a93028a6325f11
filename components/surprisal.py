"""Per-token log-prob view of a text: each token coloured by its surprisal (-log p, in nats).

Where a prompt repeats a format, the model quickly stops being surprised by the template
tokens ("Review:", "Sentiment:") and by the label words: the colour shows where the model has
started predicting the demonstration format. Hover a token for its probability.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import streamlit as st

from components.html_text import escape_text
from components.i18n import t
from components.tokens import MAX_NATS  # one colour scale for surprisal on every page
from engine.model.hf_runner import SequenceLogprobs


def _colour(surprisal: float) -> str:
    """White (predictable) to red (surprising); grey for the first token (no prediction)."""
    if not math.isfinite(surprisal):
        return "rgba(200,200,200,0.5)"
    a = min(max(surprisal / MAX_NATS, 0.0), 1.0)
    return f"rgba(220,50,47,{0.08 + 0.82 * a:.2f})"


def token_html(tokens: Sequence[str], logprobs: Sequence[float]) -> str:
    """HTML spans, one per token, background by surprisal, a tooltip with p and -log p."""
    parts: list[str] = []
    for tok, lp in zip(tokens, logprobs, strict=True):
        s = -lp if math.isfinite(lp) else float("nan")
        tip = (
            t("first token: no prediction")
            if not math.isfinite(s)
            else t("p = {p:.4f}, surprisal -ln p = {s:.2f} nats", p=math.exp(lp), s=s)
        )
        shown = escape_text(tok).replace("\n", "↵<br>")
        if not shown.strip():
            shown = shown.replace(" ", "&nbsp;") or "&nbsp;"
        parts.append(
            f'<span title="{html.escape(repr(tok))}: {tip}" style="background:{_colour(s)};'
            f'border-radius:3px;padding:1px 0;white-space:pre-wrap">{shown}</span>'
        )
    return (
        '<div style="font-family:monospace;font-size:0.85rem;line-height:1.9;'
        'max-height:420px;overflow-y:auto;border:1px solid #ddd;padding:8px;border-radius:6px">'
        + "".join(parts)
        + "</div>"
    )


def render_surprisal(seq: SequenceLogprobs) -> None:
    """Draws the coloured token view with a legend and the mean surprisal."""
    finite = [-lp for lp in seq.token_logprobs if math.isfinite(lp)]
    mean = sum(finite) / len(finite) if finite else float("nan")
    st.caption(
        t(
            "{n} tokens · mean surprisal {mean:.2f} nats · white = predictable, red = surprising "
            "(saturates at {max_nats:.0f} nats); hover a token for p.",
            n=len(seq.tokens),
            mean=mean,
            max_nats=MAX_NATS,
        )
    )
    st.markdown(token_html(seq.tokens, seq.token_logprobs), unsafe_allow_html=True)
