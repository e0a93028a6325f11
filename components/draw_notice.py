"""What the Prompt Lab's "Draw from pool" says when it could not draw what was asked (issue 22, bug 5):
fewer demonstrations than k (the pool is too small), or a label-balanced draw that could not stay
balanced (a label has too few pool examples)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import streamlit as st

from components.i18n import t
from engine.data.datasets import Example


def draw_notice(
    k: int, drawn: Sequence[dict[str, str]], pool: Sequence[Example], labels: Sequence[str], balanced: bool
) -> str | None:
    """None when the draw is what was asked; otherwise one sentence saying what was drawn and why."""
    n = len(drawn)
    if k <= 0:
        return None
    if n < k:
        if not balanced:
            return t(
                "Drew {n} of the {k} demonstrations asked for: the pool has only {pool} examples.",
                n=n,
                k=k,
                pool=len(pool),
            )
        usable = sum(1 for e in pool if e.label in labels)
        return t(
            "Drew {n} of the {k} demonstrations asked for: the pool has only {usable} examples "
            "with one of the labels ({counts}).",
            n=n,
            k=k,
            usable=usable,
            counts=_counts(pool, labels),
        )
    if balanced and labels:
        short = _short_labels(k, pool, labels)
        if short:
            return t(
                "Drew {k} demonstrations, but not label-balanced: the pool has too few examples of "
                "{labels} ({counts}), so other labels filled in.",
                k=k,
                labels=", ".join(short),
                counts=_counts(pool, labels),
            )
    return None


def _counts(pool: Sequence[Example], labels: Sequence[str]) -> str:
    have = Counter(e.label for e in pool)
    return ", ".join(f"{lab}: {have.get(lab, 0)}" for lab in labels)


def _short_labels(k: int, pool: Sequence[Example], labels: Sequence[str]) -> list[str]:
    """Labels with fewer pool examples than their share of k (k // labels, one more for the first
    k % labels labels, as the round-robin draw takes them)."""
    have = Counter(e.label for e in pool)
    base, extra = divmod(k, len(labels))
    return [lab for i, lab in enumerate(labels) if have.get(lab, 0) < base + (1 if i < extra else 0)]


def show_draw_notice(
    k: int, drawn: Sequence[dict[str, str]], pool: Sequence[Example], labels: Sequence[str], balanced: bool
) -> None:
    """Draws the notice (a warning) when there is one."""
    text = draw_notice(k, drawn, pool, labels, balanced)
    if text is not None:
        st.warning(text)
