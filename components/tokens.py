"""The one token strip: the tokens of a text, each a span shaded by how likely it was.

`strip_html` draws every strip of the app (a pure function, testable without Streamlit); the
three views differ only in each token's background and tooltip:

* `token_html` / `render_tokens` (Scoring, Prompt Lab): background white->red by surprisal
  -ln p in nats (the unit of every log-prob in the app); tokens without a value (the context
  before a scored continuation) drawn plain and the scored ones underlined, so a scored label
  or query text stands out on its prompt. Pages pass parallel sequences: token strings and
  log-probs (nan = not scored).
* `surprisal_html` / `render_surprisal` (Attention): the same colour scale (`MAX_NATS`), the
  first token, which nothing predicts, grey.
* `generation_strip_html` (Generation, Response Ranking): background red (unlikely) -> yellow
  -> green (likely) by p, the tooltip with the model's top alternatives.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import streamlit as st

from components.html_text import escape_text
from components.i18n import t

if TYPE_CHECKING:
    from engine.model.protocol import SequenceLogprobs

Mode = Literal["surprisal", "logprob"]
MAX_NATS = 10.0  # surprisal (nats) at which the colour saturates (p = e^-10); the Attention page uses it too


UNSCORED_GREY = "rgba(200,200,200,0.5)"  # the Attention view's first token (no prediction)
SCORED_MARK = "border-bottom:2px solid rgba(38,139,210,0.9);"


def strip_html(
    tokens: Sequence[str],
    backgrounds: Sequence[str],
    titles: Sequence[str],
    *,
    marks: Sequence[str] | None = None,
    suffixes: Sequence[str] | None = None,
    max_height: int = 360,
) -> str:
    """HTML of a token strip: one span per token in a scroll box (inline styles only).

    Args:
        tokens: token strings, in order (they concatenate to the text); shown escaped (Markdown
            and LaTeX syntax too), a newline as "↵" and a line break, a tab as "⇥", a blank
            token as non-breaking spaces.
        backgrounds: a CSS colour per token.
        titles: the tooltip per token (plain text; escaped here).
        marks: extra CSS per token (e.g. `SCORED_MARK`), or None.
        suffixes: HTML after each token's text (e.g. its value, small), or None.
        max_height: pixel height of the scroll box.

    Returns:
        A self-contained ``<div>``.
    """
    if not len(tokens) == len(backgrounds) == len(titles):
        raise ValueError(f"{len(tokens)} tokens but {len(backgrounds)} colours and {len(titles)} tooltips.")
    parts: list[str] = []
    for i, tok in enumerate(tokens):
        shown = escape_text(tok).replace("\n", "↵<br>").replace("\t", "⇥")
        if not tok.strip():
            shown = shown.replace(" ", "&nbsp;") or "&nbsp;"
        mark = marks[i] if marks is not None else ""
        suffix = suffixes[i] if suffixes is not None else ""
        parts.append(
            f'<span title="{html.escape(titles[i])}" style="background:{backgrounds[i]};'
            f'{mark}border-radius:3px;padding:1px 0;white-space:pre-wrap">{shown}{suffix}</span>'
        )
    return (
        f'<div style="font-family:monospace;font-size:0.85rem;line-height:1.9;max-height:{max_height}px;'
        'overflow-y:auto;border:1px solid #ddd;padding:8px;border-radius:6px">' + "".join(parts) + "</div>"
    )


def colour(logprob: float, max_nats: float = MAX_NATS, unscored: str = "transparent") -> str:
    """Background for a log-prob (nats): `unscored` when not scored, white->red by surprisal."""
    if not math.isfinite(logprob):
        return unscored
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
    suffixes = [
        f'<sub style="font-size:0.6rem;color:#555">{(-lp if mode == "surprisal" else lp):.1f}</sub>'
        if show_values and math.isfinite(lp)
        else ""
        for lp in logprobs
    ]
    return strip_html(
        tokens,
        [colour(lp, max_nats) for lp in logprobs],
        [tooltip(tok, lp, mode) for tok, lp in zip(tokens, logprobs, strict=True)],
        marks=[SCORED_MARK if math.isfinite(lp) else "" for lp in logprobs],
        suffixes=suffixes,
        max_height=max_height,
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


# ---------------------------------------------------------------- Attention: surprisal of every token
def surprisal_html(tokens: Sequence[str], logprobs: Sequence[float]) -> str:
    """The Attention view's strip: background by surprisal, a tooltip with p and -ln p; the first
    token (nan: nothing predicts it) grey."""
    tips = [
        f"{tok!r}: "
        + (
            t("p = {p:.4f}, surprisal -ln p = {s:.2f} nats", p=math.exp(lp), s=-lp)
            if math.isfinite(lp)
            else t("first token: no prediction")
        )
        for tok, lp in zip(tokens, logprobs, strict=True)
    ]
    return strip_html(tokens, [colour(lp, unscored=UNSCORED_GREY) for lp in logprobs], tips, max_height=420)


def render_surprisal(seq: SequenceLogprobs) -> None:
    """Draws the Attention view's strip with a legend and the mean surprisal."""
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
    st.markdown(surprisal_html(seq.tokens, seq.token_logprobs), unsafe_allow_html=True)


# ---------------------------------------------------------------- Generation: probability and alternatives
def prob_colour(p: float, alpha: float = 0.35) -> str:
    """Red (unlikely) -> yellow -> green (likely), as an rgba background."""
    p = min(max(p, 0.0), 1.0)
    r = int(230 - 150 * p)
    g = int(90 + 130 * p)
    return f"rgba({r},{g},90,{alpha})"


def generation_strip_html(
    tokens: Sequence[str],
    logprobs: Sequence[float],
    tops: Sequence[Sequence[tuple[str, float]]] | None = None,
) -> str:
    """Generated tokens shaded by probability; the tooltip gives p, log p and the top alternatives."""
    probs = [math.exp(lp) if math.isfinite(lp) else 0.0 for lp in logprobs]
    titles: list[str] = []
    for i, (p, lp) in enumerate(zip(probs, logprobs, strict=True)):
        title = f"p = {p:.3f}  (log p = {lp:.3f})"
        if tops is not None and i < len(tops) and tops[i]:
            title += " — top: " + "; ".join(f"{a!r} {math.exp(b):.3f}" for a, b in tops[i])
        titles.append(title)
    return strip_html(tokens, [prob_colour(p) for p in probs], titles, max_height=600)
