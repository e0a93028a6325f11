"""Small plotly figures shared by pages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from components.i18n import t


def label_probability_bar(
    probs: Mapping[str, float], words: Mapping[str, str], pred: str, gold: str | None = None
) -> go.Figure:
    """Horizontal bars of P(label), predicted label highlighted, gold label marked."""
    labels = list(probs)
    colors = ["#1f77b4" if lab == pred else "#9ecae1" for lab in labels]
    text = [f"{probs[lab]:.1%}" for lab in labels]
    gold_mark = "  " + t("✓ gold")
    names = [f"{lab} ({words.get(lab, lab)!r})" + (gold_mark if lab == gold else "") for lab in labels]
    fig = go.Figure(
        go.Bar(
            x=[probs[lab] for lab in labels],
            y=names,
            orientation="h",
            marker_color=colors,
            text=text,
            textposition="auto",
            hovertemplate="%{y}<br>P = %{x:.4f}<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis={"range": [0, 1], "title": t("probability (normalised over the labels)")},
        yaxis={"autorange": "reversed"},
        height=max(160, 48 * len(labels) + 60),
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
    )
    return fig


def top_tokens_bar(tokens: Sequence[str], probs: Sequence[float]) -> go.Figure:
    shown = [repr(tok) for tok in tokens]
    fig = go.Figure(
        go.Bar(
            x=list(probs),
            y=shown,
            orientation="h",
            marker_color="#74c476",
            hovertemplate="%{y}<br>P = %{x:.4f}<extra></extra>",
        )
    )
    fig.update_layout(
        yaxis={"autorange": "reversed"},
        xaxis={"title": t("next-token probability (whole vocabulary)")},
        height=max(160, 28 * len(shown) + 60),
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
    )
    return fig
