"""Reusable per-token log-prob view: the tokens of a text coloured by log-prob or surprisal.

Each token is a span whose background encodes how predictable it was (white: probable, red:
surprising) and whose tooltip shows the token, p, log p and the surprisal -ln p in nats (the unit of every log-prob
in the app, and of the Attention page's surprisal view).
Tokens without a value (the context before a scored continuation, or the first token, which
nothing predicts) are drawn plain, so a scored label or query text stands out on its prompt.

`token_html` is a pure function (testable without Streamlit); `render_tokens` draws it with a
caption. Pages pass parallel sequences: token strings and log-probs (nan = not scored).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Literal

import streamlit as st

from components.html_text import escape_text
from components.i18n import t

Mode = Literal["surprisal", "logprob"]
MAX_NATS = 10.0  # surprisal (nats) at which the colour saturates (p = e^-10); the Attention page uses it too


def colour(logprob: float, max_nats: float = MAX_NATS) -> str:
    """Background for a log-prob (nats): transparent when not scored, white->red by surprisal."""
    if not math.isfinite(logprob):
        return "transparent"
    a = min(max(-logprob / max_nats, 0.0), 1.0)
    return f"rgba(220,50,47,{0.10 + 0.80 * a:.2f})"


def tooltip(token: str, logprob: float, mode: Mode = "surprisal") -> str:
    """Hover text of one token."""
    if not math.isfinite(logprob):
        return t("{token}: not scored (context)", token=repr(token))
    p = math.exp(logprob)
    surprisal = t("surprisal {nats:.2f} nats", nats=-logprob)
    log_p = f"log p {logprob:.4f}"
    main, other = (surprisal, log_p) if mode == "surprisal" else (log_p, surprisal)
    return f"{token!r}: p = {p:.4g}, {main}, {other}"


def token_html(
    tokens: Sequence[str],
    logprobs: Sequence[float],
    *,
    mode: Mode = "surprisal",
    max_nats: float = MAX_NATS,
    show_values: bool = False,
    max_height: int = 360,
) -> str:
    """HTML for the coloured token view.

    Args:
        tokens: token strings, in order (they concatenate to the text).
        logprobs: natural-log probability of each token given everything before it; nan for
            tokens that were not scored.
        mode: what the tooltip (and `show_values`) leads with.
        max_nats: surprisal (nats) at which the colour saturates.
        show_values: print each scored token's value under it (small), for short texts.
        max_height: pixel height of the scroll box.

    Returns:
        A self-contained ``<div>`` (inline styles only).
    """
    if len(tokens) != len(logprobs):
        raise ValueError(f"{len(tokens)} tokens but {len(logprobs)} log-probs.")
    parts: list[str] = []
    for tok, lp in zip(tokens, logprobs, strict=True):
        shown = escape_text(tok).replace("\n", "↵<br>")
        if not tok.strip():
            shown = shown.replace(" ", "&nbsp;") or "&nbsp;"
        scored = math.isfinite(lp)
        border = "border-bottom:2px solid rgba(38,139,210,0.9);" if scored else ""
        value = ""
        if show_values and scored:
            v = -lp if mode == "surprisal" else lp
            value = f'<sub style="font-size:0.6rem;color:#555">{v:.1f}</sub>'
        parts.append(
            f'<span title="{html.escape(tooltip(tok, lp, mode))}" style="background:{colour(lp, max_nats)};'
            f'{border}border-radius:3px;padding:1px 0;white-space:pre-wrap">{shown}{value}</span>'
        )
    return (
        f'<div style="font-family:monospace;font-size:0.85rem;line-height:1.9;max-height:{max_height}px;'
        'overflow-y:auto;border:1px solid #ddd;padding:8px;border-radius:6px">' + "".join(parts) + "</div>"
    )


def summary(logprobs: Sequence[float]) -> str:
    """One line: how many tokens are scored, their total log-prob and mean surprisal."""
    scored = [lp for lp in logprobs if math.isfinite(lp)]
    if not scored:
        return t("{n} tokens, none scored", n=len(logprobs))
    total = sum(scored)
    return t(
        "{scored} of {n} tokens scored · sum log p = {total:.3f} · mean surprisal {nats:.2f} nats",
        scored=len(scored),
        n=len(logprobs),
        total=total,
        nats=-total / len(scored),
    )


def render_tokens(
    tokens: Sequence[str],
    logprobs: Sequence[float],
    *,
    mode: Mode = "surprisal",
    caption: str | None = None,
    show_values: bool = False,
    max_height: int = 360,
) -> None:
    """Draws the coloured token view with a caption (default: `summary` and a legend)."""
    legend = t(
        "white = predictable, red = surprising (saturates at {max_nats:.0f} nats); underlined = scored; "
        "hover a token for p, log p and surprisal.",
        max_nats=MAX_NATS,
    )
    st.caption(caption if caption is not None else f"{summary(logprobs)} · {legend}")
    st.markdown(
        token_html(tokens, logprobs, mode=mode, show_values=show_values, max_height=max_height),
        unsafe_allow_html=True,
    )


def scored_view(
    token_strings: Sequence[str], start: int, token_logprobs: Sequence[float]
) -> tuple[list[str], list[float]]:
    """Tokens and values for a text whose tokens from `start` on were scored (nan before).

    Args:
        token_strings: string form of every token of the text.
        start: index of the first scored token.
        token_logprobs: log-probs of tokens ``start ...``.
    """
    if start + len(token_logprobs) != len(token_strings):
        raise ValueError("token_logprobs must cover the tokens from `start` to the end.")
    return list(token_strings), [float("nan")] * start + [float(x) for x in token_logprobs]
