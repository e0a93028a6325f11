"""Renderers of the Demo Selection page: chosen demonstrations, the 2-D map, strategy comparison.

The demo index is cached per process by `engine.retrieval.demo_index.get_demo_index` (memory, then disk),
so the page only wraps it with a progress bar; per-query selections and comparisons are
`st.cache_data` in the page, keyed by everything that determines them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components.i18n import lang, t
from components.i18n_zh_demo import ZH_OPTION_HELP, ZH_STRATEGY_DESCRIPTIONS
from components.prompt_view import render_prompt
from engine.data.datasets import Example
from engine.experiments.selection import Selection, StrategyRun, summary_rows
from engine.retrieval.demo_index import DemoIndex, Projection, get_demo_index
from engine.retrieval.retrievers import DESCRIPTIONS, OPTIONS

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
# the Demo Selection page's pool sizes (its widget's options; saved experiments are checked against them)
POOL_SIZES: dict[str, int | None] = {"1,000": 1000, "5,000": 5000, "20,000": 20000, "whole pool": None}


# ---------------------------------------------------------------- UI-language texts
def description(name: str) -> str:
    """The strategy's spec description (`engine.retrieval.retrievers.DESCRIPTIONS`) in the UI language.

    Chinese is keyed by the registry name (`ZH_STRATEGY_DESCRIPTIONS`); a name without one falls
    back to the English of its spec."""
    if lang() == "zh" and name in ZH_STRATEGY_DESCRIPTIONS:
        return ZH_STRATEGY_DESCRIPTIONS[name]
    return DESCRIPTIONS.get(name, name)


def strategy_labels(names: Sequence[str]) -> dict[str, str]:
    """Shown titles of retriever / ordering names (the names stay the widget values): the name
    itself in English, the name and a short Chinese title in Chinese."""
    short = {
        "zero": t("zero-shot"),
        "fixed": t("your picks"),
        "random": t("random"),
        "label_balanced": t("label-balanced"),
        "topk": t("nearest neighbours"),
        "bm25": t("lexical match"),
        "mmr": t("maximal marginal relevance"),
        "votek": t("vote-k"),
        "dpp": t("determinantal point process"),
        "mdl": t("minimum description length"),
        "as_retrieved": t("as retrieved"),
        "similar_last": t("most similar last"),
        "similar_first": t("most similar first"),
        "label_interleaved": t("labels interleaved"),
        "global_e": t("global entropy"),
        "local_e": t("local entropy"),
    }
    if lang() == "en":
        return {n: n for n in names}
    return {n: f"{n} · {short[n]}" if n in short else n for n in names}


def option_help(name: str) -> str:
    """The help text of a strategy option (`engine.retrieval.context.OPTIONS`) in the UI language
    (Chinese keyed by the option name, `ZH_OPTION_HELP`)."""
    if lang() == "zh" and name in ZH_OPTION_HELP:
        return ZH_OPTION_HELP[name]
    spec = OPTIONS.get(name)
    return spec.help if spec else name


_NUM = r"([\d,.]+)"
_PROGRESS: list[tuple[re.Pattern[str], Callable[..., str]]] = [
    (
        re.compile(rf"^Loaded the demo index of {_NUM} texts from the cache \({_NUM} s\)\.$"),
        lambda n, s: t("Loaded the demo index of {n} texts from the cache ({seconds} s).", n=n, seconds=s),
    ),
    (
        re.compile(rf"^Reused {_NUM} embeddings \(cached index of another pool or an interrupted build\)\.$"),
        lambda n: t("Reused {n} embeddings (cached index of another pool or an interrupted build).", n=n),
    ),
    (
        re.compile(rf"^Embedding the pool: {_NUM}/{_NUM} texts \({_NUM} texts/s, ~{_NUM} s left\)$"),
        lambda d, n, r, e: t(
            "Embedding the pool: {done}/{total} texts ({rate} texts/s, ~{eta} s left)",
            done=d,
            total=n,
            rate=r,
            eta=e,
        ),
    ),
    (re.compile(r"^Demo index already loaded\.$"), lambda: t("Demo index already loaded.")),
    (
        re.compile(rf"^Indexing {_NUM} texts for BM25\.\.\.$"),
        lambda n: t("Indexing {n} texts for BM25...", n=n),
    ),
    (
        re.compile(rf"^Generating the probing set: {_NUM}/{_NUM}$"),
        lambda i, n: t("Generating the probing set: {i}/{n}", i=i, n=n),
    ),
    (
        re.compile(rf"^Scoring candidate orders: {_NUM}/{_NUM}$"),
        lambda i, n: t("Scoring candidate orders: {i}/{n}", i=i, n=n),
    ),
    (re.compile(r"^building prompts$"), lambda: t("building prompts")),
    (re.compile(rf"^scored {_NUM}/{_NUM} batches$"), lambda i, n: t("scored {i}/{n} batches", i=i, n=n)),
    (re.compile(r"^scored prompts$"), lambda: t("scored prompts")),
    (re.compile(r"^scored shared prefix$"), lambda: t("scored shared prefix")),
    (re.compile(r"^scored rows$"), lambda: t("scored rows")),
    (re.compile(r"^done$"), lambda: t("done")),
]
_STRATEGY_PREFIX = re.compile(r"^(\w+ \+ \w+): (.*)$", flags=re.S)


def progress_text(message: str) -> str:
    """An engine progress message in the UI language (unknown messages stay as they are)."""
    if lang() == "en":
        return message
    m = _STRATEGY_PREFIX.match(message)
    if m:
        return f"{m.group(1)}: {progress_text(m.group(2))}"
    for pattern, translate in _PROGRESS:
        m = pattern.match(message)
        if m:
            return translate(*m.groups())
    return message


def load_index(texts: Sequence[str], device: str | None) -> DemoIndex:
    """The demo index of `texts`, with a progress bar while it is built (or loaded)."""
    bar = st.progress(0.0, text=t("Preparing the demo index (MiniLM sentence embeddings)..."))

    def progress(frac: float, msg: str) -> None:
        bar.progress(min(max(frac, 0.0), 1.0), text=progress_text(msg))

    try:
        return get_demo_index(list(texts), device=device, progress=progress)
    finally:
        bar.empty()


def selection_table(sel: Selection) -> pd.DataFrame:
    """The chosen demonstrations, one row each, with column headers in the UI language."""
    return pd.DataFrame(
        {
            t("position"): [d.position for d in sel.demos],
            t("pool #"): [d.pool_index for d in sel.demos],
            t("label"): [d.label for d in sel.demos],
            t("similarity"): [d.similarity for d in sel.demos],
            t("similarity rank"): [d.rank for d in sel.demos],
            t("text"): [d.text for d in sel.demos],
        }
    )


def similarity_by_position(sel: Selection, labels: Sequence[str]) -> go.Figure:
    """Bars: cosine to the query at each prompt position, coloured by label."""
    colour = {lab: PALETTE[i % len(PALETTE)] for i, lab in enumerate(labels)}
    hover = t("position") + " %{x}<br>cos %{y:.3f}<br>#%{customdata[0]}: %{customdata[1]}<extra></extra>"
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
            hovertemplate=hover,
        )
    fig.update_layout(
        xaxis={"title": t("position in the prompt (1 = farthest from the query)"), "dtick": 1},
        yaxis={"title": t("cosine similarity to the query")},
        height=280,
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
        legend={"title": t("label")},
    )
    return fig


def render_selection(sel: Selection, labels: Sequence[str]) -> None:
    """Table of the chosen demonstrations, similarity chart, label counts and the prompt."""
    if not sel.demos:
        st.info(t("No demonstrations were chosen (zero-shot): the prompt is the query alone."))
    else:
        sims = [d.similarity for d in sel.demos if d.similarity is not None]
        c1, c2, c3 = st.columns(3)
        c1.metric(t("demonstrations"), len(sel.demos))
        c2.metric(t("mean similarity"), f"{np.mean(sims):.3f}" if sims else t("n/a"))
        c3.metric(t("labels"), " · ".join(f"{lab} {n}" for lab, n in sel.label_counts.items()))
        st.dataframe(
            selection_table(sel),
            hide_index=True,
            width="stretch",
            column_config={
                t("similarity"): st.column_config.ProgressColumn(
                    format="%.3f", min_value=-1.0, max_value=1.0
                ),
                t("text"): st.column_config.TextColumn(width="large"),
            },
        )
        if sims:
            st.plotly_chart(similarity_by_position(sel, labels), key="ds_sim_chart")
    st.caption(t("Retrieval and ordering took {ms} ms.", ms=f"{sel.seconds * 1000:.0f}"))
    if sel.prompt is not None:
        with st.expander(t("The prompt, with the demonstrations where they sit"), expanded=False):
            render_prompt(sel.prompt, n_tokens=sel.prompt.n_tokens)


def map_figure(
    proj: Projection, pool: Sequence[Example], labels: Sequence[str], chosen: Sequence[int], query: str
) -> go.Figure:
    """PCA map: pool points by label (faint), chosen demonstrations ringed and numbered, the query."""
    colour = {lab: PALETTE[i % len(PALETTE)] for i, lab in enumerate(labels)}
    chosen_name, query_name = t("chosen"), t("query")
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
            name=chosen_name,
            text=[str(p + 1) for p, i in enumerate(chosen) if i in row_of],
            textposition="top center",
            marker={
                "size": 13,
                "color": [colour.get(pool[i].label, "#333") for i in chosen if i in row_of],
                "line": {"width": 2, "color": "black"},
            },
            customdata=[[i, pool[i].label, pool[i].text[:80]] for i in chosen if i in row_of],
            hovertemplate=chosen_name
            + " #%{customdata[0]} [%{customdata[1]}]: %{customdata[2]}<extra></extra>",
        )
    if proj.extra_xy.shape[0]:
        fig.add_scatter(
            x=proj.extra_xy[:1, 0],
            y=proj.extra_xy[:1, 1],
            mode="markers",
            name=query_name,
            marker={"size": 18, "symbol": "star", "color": "gold", "line": {"width": 1.5, "color": "black"}},
            hovertemplate=f"{query_name}: {query[:80]}<extra></extra>",
        )
    fig.update_layout(
        xaxis={"title": t("PC1 ({share} of variance)", share=f"{proj.explained[0]:.0%}")},
        yaxis={"title": f"PC2 ({proj.explained[1]:.0%})"},
        height=460,
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
    )
    return fig


def comparison_table(runs: Sequence[StrategyRun]) -> pd.DataFrame:
    """`summary_rows` with column headers in the UI language (the row values stay as they are)."""
    df = pd.DataFrame(summary_rows(runs))
    if lang() == "en":
        return df
    names = {
        "retrieval": t("retriever"),
        "ordering": t("ordering"),
        "accuracy": t("accuracy"),
        "macro_f1": t("macro-F1"),
        "mean_similarity": t("mean similarity"),
        "seconds": t("seconds"),
    }
    for col in df.columns:
        if col.startswith("share "):
            names[col] = t("share {label}", label=col.removeprefix("share "))
    return df.rename(columns=names)


def comparison_figures(runs: Sequence[StrategyRun], labels: Sequence[str]) -> tuple[go.Figure, go.Figure]:
    """(accuracy and macro-F1 bars per strategy, stacked label shares of the chosen demos)."""
    names = [f"{r.retrieval} + {r.ordering}" for r in runs]
    perf = go.Figure()
    perf.add_bar(x=names, y=[r.accuracy for r in runs], name=t("accuracy"), marker_color="#1f77b4")
    perf.add_bar(x=names, y=[r.macro_f1 for r in runs], name=t("macro-F1"), marker_color="#9ecae1")
    perf.update_layout(
        barmode="group",
        yaxis={"range": [0, 1], "title": t("score")},
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
        yaxis={"range": [0, 1], "title": t("share of chosen demonstrations")},
        height=320,
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
        legend={"title": t("label")},
    )
    return perf, share


def render_comparison(runs: Sequence[StrategyRun], labels: Sequence[str]) -> None:
    st.dataframe(comparison_table(runs), hide_index=True, width="stretch", key="ds_cmp_table")
    perf, share = comparison_figures(runs, labels)
    c1, c2 = st.columns(2)
    with c1:
        st.markdown(t("**Accuracy and macro-F1**"))
        st.plotly_chart(perf, key="ds_cmp_perf")
    with c2:
        st.markdown(t("**Labels of the chosen demonstrations**"))
        st.plotly_chart(share, key="ds_cmp_share")
    best = max(runs, key=lambda r: (r.accuracy, r.macro_f1))
    n = best.result.metrics.n
    st.caption(
        t(
            "Best here: **{strategy}** ({accuracy} accuracy on {n} queries). "
            "With {n} queries one query moves accuracy by {step}: small differences are noise.",
            strategy=f"{best.retrieval} + {best.ordering}",
            accuracy=f"{best.accuracy:.1%}",
            n=n,
            step=f"{1 / max(n, 1):.1%}",
        )
    )
