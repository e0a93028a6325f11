"""Plotly figures for attention heads: layer x head score maps, the pattern viewer, thumbnails,
attention to demonstrations / label words, and the ablation comparison.

Figures only: no Streamlit calls here, so they can be tested and reused. Shapes follow the
engine: scores `[layer, head]`, patterns `[layer, head, q_pos, k_pos]`; heads are `L{layer}H{head}`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from components.i18n import t

SCORE_TITLES: dict[str, str] = {
    "induction": "Induction",
    "prefix_matching": "Prefix matching",
    "previous_token": "Previous token",
    "duplicate_token": "Duplicate token",
    "copying": "Copying (OV eigenvalues)",
}
MAX_TICKS = 60


def score_titles() -> dict[str, str]:
    """`SCORE_TITLES` in the UI language (translated now: widgets' format functions may be
    called outside the script run, where the language is not known)."""
    return {
        "induction": t("Induction"),
        "prefix_matching": t("Prefix matching"),
        "previous_token": t("Previous token"),
        "duplicate_token": t("Duplicate token"),
        "copying": t("Copying (OV eigenvalues)"),
    }


def score_title(name: str) -> str:
    """The title of a head score in the UI language."""
    return score_titles().get(name, SCORE_TITLES.get(name, name))


def token_label(tok: str) -> str:
    """A token as an axis label: whitespace made visible, long tokens cut; "…" marks a byte piece
    that continues the character shown on the token before it (see `readable_pieces`)."""
    if tok == "":
        return "…"
    s = tok.replace("\n", "↵").replace("\t", "⇥").replace(" ", "·")
    return s if len(s) <= 14 else s[:13] + "…"


def score_heatmap(scores: np.ndarray, name: str, *, height: int | None = None) -> go.Figure:
    """Layer (rows, layer 0 at the top) x head (columns) map of one score; hover names the head."""
    scores = np.asarray(scores, dtype=float)
    n_layers, n_heads = scores.shape
    labels = np.array([[f"L{layer}H{head}" for head in range(n_heads)] for layer in range(n_layers)])
    diverging = name == "copying"
    title = score_title(name)
    fig = go.Figure(
        go.Heatmap(
            z=scores,
            x=list(range(n_heads)),
            y=list(range(n_layers)),
            customdata=labels,
            colorscale="RdBu" if diverging else "Viridis",
            zmin=-1.0 if diverging else 0.0,
            zmax=1.0 if diverging else max(float(np.nanmax(scores)), 1e-6),
            zmid=0.0 if diverging else None,
            hovertemplate="%{customdata}<br>" + title + ": %{z:.3f}<extra></extra>",
            colorbar={"thickness": 12},
        )
    )
    fig.update_yaxes(autorange="reversed", title=t("layer"), dtick=max(1, n_layers // 15))
    fig.update_xaxes(title=t("head"), dtick=1)
    fig.update_layout(
        title=title,
        height=height or max(260, 18 * n_layers + 90),
        margin={"l": 40, "r": 10, "t": 40, "b": 40},
    )
    return fig


def pattern_heatmap(pattern: np.ndarray, tokens: Sequence[str], title: str = "") -> go.Figure:
    """One head's `[q_pos, k_pos]` pattern with tokens on both axes.

    Hover shows the query token, the key token (with positions) and the weight; the masked
    future (k > q) is left blank.
    """
    p = np.asarray(pattern, dtype=float)
    n = p.shape[0]
    z = np.where(np.tril(np.ones((n, n), dtype=bool)), p, np.nan)
    labels = [token_label(t) for t in tokens]
    q_lab = np.array([[f"#{i} {labels[i]}" for _ in range(n)] for i in range(n)])
    k_lab = np.array([[f"#{j} {labels[j]}" for j in range(n)] for _ in range(n)])
    custom = np.stack([q_lab, k_lab], axis=-1)
    step = max(1, int(np.ceil(n / MAX_TICKS)))
    ticks = list(range(0, n, step))
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(range(n)),
            y=list(range(n)),
            customdata=custom,
            colorscale="Blues",
            zmin=0.0,
            zmax=1.0,
            hovertemplate=t(
                "query %{customdata[0]}<br>key %{customdata[1]}<br>weight %{z:.4f}<extra></extra>"
            ),
            colorbar={"thickness": 12},
        )
    )
    fig.update_yaxes(
        autorange="reversed",
        tickvals=ticks,
        ticktext=[labels[i] for i in ticks],
        title=t("query"),
        tickfont={"size": 9},
    )
    fig.update_xaxes(
        tickvals=ticks,
        ticktext=[labels[i] for i in ticks],
        title=t("key"),
        tickangle=-60,
        tickfont={"size": 9},
    )
    size = min(900, max(420, 9 * n + 160))
    fig.update_layout(title=title, height=size, margin={"l": 60, "r": 10, "t": 40, "b": 60})
    return fig


def downsample(mat: np.ndarray, size: int) -> np.ndarray:
    """Block means of a `[n, n]` matrix on a `size x size` grid (no-op when already small)."""
    n = mat.shape[0]
    if n <= size:
        return np.asarray(mat, dtype=float)
    edges = np.linspace(0, n, size + 1).astype(int)
    counts = np.diff(edges).astype(float)
    rows = np.add.reduceat(np.asarray(mat, dtype=float), edges[:-1], axis=0) / counts[:, None]
    return np.add.reduceat(rows, edges[:-1], axis=1) / counts[None, :]


def thumbnail_grid(pattern: np.ndarray, *, size: int = 24, layers: Sequence[int] | None = None) -> go.Figure:
    """Every head's pattern as a small tile, layers as rows and heads as columns (one heatmap).

    Each tile is the `[q, k]` pattern block-averaged to `size x size` (and shown on a square
    root scale so weak structure stays visible); hover names the head.
    """
    pat = np.asarray(pattern, dtype=float)
    n_layers, n_heads = pat.shape[:2]
    rows = list(layers) if layers is not None else list(range(n_layers))
    s = min(size, pat.shape[-1])
    gap = 1
    grid = np.full((len(rows) * (s + gap), n_heads * (s + gap)), np.nan)
    names = np.full(grid.shape, "", dtype=object)
    for r, layer in enumerate(rows):
        for head in range(n_heads):
            tile = np.sqrt(np.clip(downsample(pat[layer, head], s), 0.0, 1.0))
            y0, x0 = r * (s + gap), head * (s + gap)
            grid[y0 : y0 + s, x0 : x0 + s] = tile
            names[y0 : y0 + s, x0 : x0 + s] = f"L{layer}H{head}"
    fig = go.Figure(
        go.Heatmap(
            z=grid,
            customdata=names,
            colorscale="Blues",
            zmin=0.0,
            zmax=1.0,
            showscale=False,
            hovertemplate="%{customdata}<extra></extra>",
        )
    )
    fig.update_yaxes(
        autorange="reversed",
        tickvals=[r * (s + gap) + s / 2 for r in range(len(rows))],
        ticktext=[f"L{layer}" for layer in rows],
        showgrid=False,
        zeroline=False,
    )
    fig.update_xaxes(
        tickvals=[h * (s + gap) + s / 2 for h in range(n_heads)],
        ticktext=[f"H{h}" for h in range(n_heads)],
        showgrid=False,
        zeroline=False,
        side="top",
    )
    fig.update_layout(
        height=max(300, 28 * len(rows) + 60),
        margin={"l": 40, "r": 10, "t": 30, "b": 10},
        yaxis_scaleanchor="x",
    )
    return fig


def demo_attention_bar(rows: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Per demonstration: attention of the final position to its label word and to the rest."""
    demos = [t("demo {n}", n=r["demo"]) for r in rows]
    fig = go.Figure(
        [
            go.Bar(
                name=t("label word"),
                x=demos,
                y=[r["to_label_word"] for r in rows],
                hovertemplate=t("%{x}: %{y:.4f} to the label word<extra></extra>"),
            ),
            go.Bar(
                name=t("rest of the demonstration"),
                x=demos,
                y=[r["to_rest_of_demo"] for r in rows],
                hovertemplate=t("%{x}: %{y:.4f} to the rest<extra></extra>"),
            ),
        ]
    )
    fig.update_layout(
        barmode="stack",
        yaxis_title=t("attention from the final position"),
        height=330,
        margin={"l": 40, "r": 10, "t": 30, "b": 40},
        legend={"orientation": "h", "y": 1.12},
    )
    return fig


def layer_profile(by_layer: Mapping[str, np.ndarray]) -> go.Figure:
    """Attention of the final position to each prompt part, per layer (mean over heads)."""
    fig = go.Figure()
    for part, values in by_layer.items():
        v = np.asarray(values, dtype=float)
        fig.add_trace(
            go.Scatter(
                x=list(range(len(v))),
                y=v,
                mode="lines+markers",
                name=part,
                hovertemplate=t("layer %{{x}}: %{{y:.3f}} to {part}<extra></extra>", part=part),
            )
        )
    fig.update_layout(
        xaxis_title=t("layer"),
        yaxis_title=t("attention mass (mean over heads)"),
        height=330,
        margin={"l": 40, "r": 10, "t": 30, "b": 40},
        legend={"orientation": "h", "y": 1.15},
    )
    return fig


def ablation_bars(
    summary: Sequence[Mapping[str, Any]], accuracy_ci: Sequence[tuple[float, float]] | None = None
) -> go.Figure:
    """Accuracy and mean P(gold) per condition (no ablation, top heads, random heads).

    Args:
        summary: `AblationResult.summary` rows.
        accuracy_ci: per row, the (low, high) interval of the accuracy (`AblationResult.
            accuracy_intervals`: Wilson 95 %), drawn as error bars; None draws none.
    """
    names = [str(r["condition"]) for r in summary]
    hover = [str(r.get("heads", "")) or "-" for r in summary]
    acc = [float(r["accuracy"]) for r in summary]
    error_y: dict[str, Any] | None = None
    if accuracy_ci is not None:
        if len(accuracy_ci) != len(acc):
            raise ValueError("accuracy_ci needs one interval per summary row")
        error_y = {
            "type": "data",
            "symmetric": False,
            "array": [max(hi - a, 0.0) for a, (_lo, hi) in zip(acc, accuracy_ci, strict=True)],
            "arrayminus": [max(a - lo, 0.0) for a, (lo, _hi) in zip(acc, accuracy_ci, strict=True)],
        }
    fig = go.Figure(
        [
            go.Bar(
                name=t("accuracy"),
                x=names,
                y=[r["accuracy"] for r in summary],
                customdata=hover,
                text=[f"{r['accuracy']:.3f}" for r in summary],
                error_y=error_y,
                hovertemplate=t("%{x}<br>accuracy %{y:.3f}<br>heads: %{customdata}<extra></extra>"),
            ),
            go.Bar(
                name=t("mean P(gold label)"),
                x=names,
                y=[r["mean_true_prob"] for r in summary],
                customdata=hover,
                text=[f"{r['mean_true_prob']:.3f}" for r in summary],
                hovertemplate=t("%{x}<br>mean P(gold) %{y:.3f}<br>heads: %{customdata}<extra></extra>"),
            ),
        ]
    )
    fig.update_layout(
        barmode="group",
        yaxis={"range": [0, 1], "title": t("value")},
        height=340,
        margin={"l": 40, "r": 10, "t": 30, "b": 40},
        legend={"orientation": "h", "y": 1.12},
    )
    return fig


def gold_prob_scatter(label_probs: Sequence[Mapping[str, Any]], baseline: str = "no ablation") -> go.Figure:
    """Per query: P(gold label) without ablation (x) vs with each ablation (y)."""
    gold = {(r["condition"], r["query"]): float(r["prob"]) for r in label_probs if r["label"] == r["gold"]}
    queries = sorted({q for c, q in gold if c == baseline})
    conditions = list(dict.fromkeys(c for c, _ in gold if c != baseline))
    fig = go.Figure()
    for cond in conditions:
        fig.add_trace(
            go.Scatter(
                x=[gold[(baseline, q)] for q in queries],
                y=[gold.get((cond, q), np.nan) for q in queries],
                mode="markers",
                name=cond,
                customdata=queries,
                hovertemplate=t(
                    "query %{customdata}<br>no ablation %{x:.3f}<br>ablated %{y:.3f}<extra></extra>"
                ),
            )
        )
    fig.add_trace(
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "grey"}, showlegend=False)
    )
    fig.update_layout(
        xaxis={"range": [0, 1], "title": t("P(gold) without ablation")},
        yaxis={"range": [0, 1], "title": t("P(gold) with ablation")},
        height=360,
        margin={"l": 40, "r": 10, "t": 30, "b": 40},
        legend={"orientation": "h", "y": 1.12},
    )
    return fig
