"""Renderers of the Demo Selection page: chosen demonstrations, the 2-D map, strategy comparison.

The demo index is cached per process by `engine.demo_index.get_demo_index` (memory, then disk),
so the page only wraps it with a progress bar; per-query selections and comparisons are
`st.cache_data` in the page, keyed by everything that determines them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components.prompt_view import render_prompt
from engine.datasets import Example
from engine.demo_index import DemoIndex, Projection, get_demo_index
from engine.selection import Selection, StrategyRun, summary_rows

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


def load_index(texts: Sequence[str], device: str | None) -> DemoIndex:
    """The demo index of `texts`, with a progress bar while it is built (or loaded)."""
    bar = st.progress(0.0, text="Preparing the demo index (MiniLM sentence embeddings)...")

    def progress(frac: float, msg: str) -> None:
        bar.progress(min(max(frac, 0.0), 1.0), text=msg)

    try:
        return get_demo_index(list(texts), device=device, progress=progress)
    finally:
        bar.empty()


def selection_table(sel: Selection) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "position": [d.position for d in sel.demos],
            "pool #": [d.pool_index for d in sel.demos],
            "label": [d.label for d in sel.demos],
            "similarity": [d.similarity for d in sel.demos],
            "similarity rank": [d.rank for d in sel.demos],
            "text": [d.text for d in sel.demos],
        }
    )


def similarity_by_position(sel: Selection, labels: Sequence[str]) -> go.Figure:
    """Bars: cosine to the query at each prompt position, coloured by label."""
    colour = {lab: PALETTE[i % len(PALETTE)] for i, lab in enumerate(labels)}
    fig = go.Figure()
    for lab in labels:
        ds = [d for d in sel.demos if d.label == lab]
        if not ds:
            continue
        fig.add_bar(
            x=[d.position for d in ds],
            y=[d.similarity or 0.0 for d in ds],
            name=lab,
            marker_color=colour[lab],
            customdata=[[d.pool_index, d.text[:80]] for d in ds],
            hovertemplate="position %{x}<br>cos %{y:.3f}<br>#%{customdata[0]}: %{customdata[1]}<extra></extra>",
        )
    fig.update_layout(
        xaxis={"title": "position in the prompt (1 = farthest from the query)", "dtick": 1},
        yaxis={"title": "cosine similarity to the query"},
        height=280,
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
        legend={"title": "label"},
    )
    return fig


def render_selection(sel: Selection, labels: Sequence[str]) -> None:
    """Table of the chosen demonstrations, similarity chart, label counts and the prompt."""
    if not sel.demos:
        st.info("No demonstrations were chosen (zero-shot): the prompt is the query alone.")
    else:
        sims = [d.similarity for d in sel.demos if d.similarity is not None]
        c1, c2, c3 = st.columns(3)
        c1.metric("demonstrations", len(sel.demos))
        c2.metric("mean similarity", f"{np.mean(sims):.3f}" if sims else "n/a")
        c3.metric("labels", " · ".join(f"{lab} {n}" for lab, n in sel.label_counts.items()))
        st.dataframe(
            selection_table(sel),
            hide_index=True,
            width="stretch",
            column_config={
                "similarity": st.column_config.ProgressColumn(format="%.3f", min_value=-1.0, max_value=1.0),
                "text": st.column_config.TextColumn(width="large"),
            },
        )
        if sims:
            st.plotly_chart(similarity_by_position(sel, labels), key="ds_sim_chart")
    st.caption(f"Retrieval and ordering took {sel.seconds * 1000:.0f} ms.")
    if sel.prompt is not None:
        with st.expander("The prompt, with the demonstrations where they sit", expanded=False):
            render_prompt(sel.prompt, n_tokens=sel.prompt.n_tokens)


def map_figure(
    proj: Projection, pool: Sequence[Example], labels: Sequence[str], chosen: Sequence[int], query: str
) -> go.Figure:
    """PCA map: pool points by label (faint), chosen demonstrations ringed and numbered, the query."""
    colour = {lab: PALETTE[i % len(PALETTE)] for i, lab in enumerate(labels)}
    fig = go.Figure()
    ids = np.asarray(proj.pool_ids)
    for lab in labels:
        mask = np.array([pool[i].label == lab for i in ids], dtype=bool)
        if not mask.any():
            continue
        fig.add_scattergl(
            x=proj.pool_xy[mask, 0],
            y=proj.pool_xy[mask, 1],
            mode="markers",
            name=lab,
            marker={"size": 5, "color": colour[lab], "opacity": 0.35},
            customdata=[[int(i), pool[int(i)].text[:80]] for i in ids[mask]],
            hovertemplate="#%{customdata[0]}: %{customdata[1]}<extra>" + lab + "</extra>",
        )
    row_of = {int(i): r for r, i in enumerate(ids)}
    pts = [row_of[i] for i in chosen if i in row_of]
    if pts:
        fig.add_scatter(
            x=proj.pool_xy[pts, 0],
            y=proj.pool_xy[pts, 1],
            mode="markers+text",
            name="chosen",
            text=[str(p + 1) for p, i in enumerate(chosen) if i in row_of],
            textposition="top center",
            marker={
                "size": 13,
                "color": [colour.get(pool[i].label, "#333") for i in chosen if i in row_of],
                "line": {"width": 2, "color": "black"},
            },
            customdata=[[i, pool[i].label, pool[i].text[:80]] for i in chosen if i in row_of],
            hovertemplate="chosen #%{customdata[0]} [%{customdata[1]}]: %{customdata[2]}<extra></extra>",
        )
    if proj.extra_xy.shape[0]:
        fig.add_scatter(
            x=proj.extra_xy[:1, 0],
            y=proj.extra_xy[:1, 1],
            mode="markers",
            name="query",
            marker={"size": 18, "symbol": "star", "color": "gold", "line": {"width": 1.5, "color": "black"}},
            hovertemplate=f"query: {query[:80]}<extra></extra>",
        )
    fig.update_layout(
        xaxis={"title": f"PC1 ({proj.explained[0]:.0%} of variance)"},
        yaxis={"title": f"PC2 ({proj.explained[1]:.0%})"},
        height=460,
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
    )
    return fig


def comparison_table(runs: Sequence[StrategyRun]) -> pd.DataFrame:
    return pd.DataFrame(summary_rows(runs))


def comparison_figures(runs: Sequence[StrategyRun], labels: Sequence[str]) -> tuple[go.Figure, go.Figure]:
    """(accuracy and macro-F1 bars per strategy, stacked label shares of the chosen demos)."""
    names = [f"{r.retrieval} + {r.ordering}" for r in runs]
    perf = go.Figure()
    perf.add_bar(x=names, y=[r.accuracy for r in runs], name="accuracy", marker_color="#1f77b4")
    perf.add_bar(x=names, y=[r.macro_f1 for r in runs], name="macro-F1", marker_color="#9ecae1")
    perf.update_layout(
        barmode="group",
        yaxis={"range": [0, 1], "title": "score"},
        height=320,
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
    )
    share = go.Figure()
    for i, lab in enumerate(labels):
        share.add_bar(
            x=names,
            y=[r.label_share.get(lab, 0.0) for r in runs],
            name=lab,
            marker_color=PALETTE[i % len(PALETTE)],
        )
    share.update_layout(
        barmode="stack",
        yaxis={"range": [0, 1], "title": "share of chosen demonstrations"},
        height=320,
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
        legend={"title": "label"},
    )
    return perf, share


def render_comparison(runs: Sequence[StrategyRun], labels: Sequence[str]) -> None:
    st.dataframe(comparison_table(runs), hide_index=True, width="stretch", key="ds_cmp_table")
    perf, share = comparison_figures(runs, labels)
    c1, c2 = st.columns(2)
    with c1:
        st.markdown("**Accuracy and macro-F1**")
        st.plotly_chart(perf, key="ds_cmp_perf")
    with c2:
        st.markdown("**Labels of the chosen demonstrations**")
        st.plotly_chart(share, key="ds_cmp_share")
    best = max(runs, key=lambda r: (r.accuracy, r.macro_f1))
    n = best.result.metrics.n
    st.caption(
        f"Best here: **{best.retrieval} + {best.ordering}** ({best.accuracy:.1%} accuracy on {n} queries). "
        f"With {n} queries one query moves accuracy by {1 / max(n, 1):.1%}: small differences are noise."
    )
