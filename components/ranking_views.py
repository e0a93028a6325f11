"""Views of the Response Ranking page: ranking table, scores chart, contrastive loss against the
temperature, and each response's per-token log-probs."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components.i18n import t
from components.tokens import generation_strip_html
from engine.experiments.ranking import RankingResult, ScoreKind, contrastive_loss

TAU_TICKS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0)  # the loss curve's tau axis (log)


def loss_curve(result: RankingResult, kind: ScoreKind, tau: float) -> go.Figure:
    """Contrastive loss against the temperature (log-spaced), the current tau marked."""
    taus = np.geomspace(TAU_TICKS[0], TAU_TICKS[-1], 60)
    scores, goods = result.scores(kind), result.goods()
    losses = [contrastive_loss(scores, goods, float(x)) for x in taus]
    fig = go.Figure(go.Scatter(x=taus, y=losses, mode="lines", name="L(τ)"))
    fig.add_trace(
        go.Scatter(
            x=[tau],
            y=[contrastive_loss(scores, goods, tau)],
            mode="markers",
            marker={"size": 11, "color": "#d62728"},
            name=t("current τ"),
        )
    )
    fig.add_hline(y=math.log(sum(goods)), line_dash="dot")  # log N+: the best reachable loss
    fig.update_layout(
        height=260,
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
        # one label per tick: a log axis left to plotly labels its minor ticks "2", "5" between decades
        xaxis={
            "type": "log",
            "title": "τ",
            "tickvals": list(TAU_TICKS),
            "ticktext": [f"{x:g}" for x in TAU_TICKS],
        },
        yaxis={"title": t("contrastive loss")},
        showlegend=False,
    )
    return fig


def render_ranking(result: RankingResult, *, kind: ScoreKind, tau: float, key: str) -> None:
    """The model's ranking against the user's marks, the loss at tau, and per-token log-probs."""
    scores = result.scores(kind)
    goods = result.goods()
    loss = contrastive_loss(scores, goods, tau)
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    n_pos = sum(goods)
    c1, c2, c3 = st.columns(3)
    c1.metric(
        t("Contrastive loss"),
        f"{loss:.4f}",
        help=t("−1/N⁺ Σ_good log softmax(s/τ); lower = the model agrees"),
    )
    acc = _pairwise(scores, goods)
    c2.metric(
        t("Good above bad"),
        t("n/a") if math.isnan(acc) else f"{acc:.0%}",
        help=t("fraction of (good, bad) pairs ordered right"),
    )
    c3.metric(
        t("Best possible loss"),
        f"{math.log(n_pos):.4f}",
        help=t("log N⁺: every good response equally likely, bad ones at 0"),
    )
    rows = [
        {
            t("rank"): n + 1,
            t("mark"): t("good") if goods[i] else t("bad"),
            t("response"): result.responses[i].text,
            t("log P (sum)"): round(result.responses[i].logprob, 3),
            t("log P / token"): round(result.responses[i].mean_logprob, 3),
            t("tokens"): result.responses[i].n_tokens,
            "softmax(s/τ)": round(_softmax(scores, tau)[i], 4),
        }
        for n, i in enumerate(order)
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key=f"{key}_table")
    left, right = st.columns(2)
    with left:
        fig = go.Figure(
            go.Bar(
                x=[scores[i] for i in order],
                y=[_short(result.responses[i].text) for i in order],
                orientation="h",
                marker_color=["#2ca02c" if goods[i] else "#d62728" for i in order],
                hovertemplate="%{y}<br>score = %{x:.3f}<extra></extra>",
            )
        )
        fig.update_layout(
            height=max(180, 40 * len(order) + 60),
            margin={"l": 10, "r": 10, "t": 10, "b": 40},
            yaxis={"autorange": "reversed"},
            xaxis={"title": t("s(I, R) (sum)") if kind == "sum" else t("s(I, R) (mean per token)")},
        )
        st.plotly_chart(fig, width="stretch", key=f"{key}_bars")
        st.caption(t("Green = marked good, red = marked bad; the model's favourite is on top."))
    with right:
        st.plotly_chart(loss_curve(result, kind, tau), width="stretch", key=f"{key}_curve")
        st.caption(
            t(
                "Loss against τ: a small τ punishes every bad response ranked above a good one, "
                "a large τ flattens."
            )
        )
    st.markdown(t("**Per-token log-probs** (hover a token)"))
    for n, i in enumerate(order):
        r = result.responses[i]
        st.markdown(
            ("✅ " if r.good else "❌ ")
            + t(
                "rank {rank} · sum {total} · mean {mean}",
                rank=n + 1,
                total=f"{r.logprob:.2f}",
                mean=f"{r.mean_logprob:.2f}",
            )
        )
        st.markdown(generation_strip_html(r.tokens, r.token_logprobs), unsafe_allow_html=True)
    with st.expander(t("Context the responses were scored after")):
        st.code(result.context, language=None)


def _short(text: str, n: int = 48) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _softmax(scores: Sequence[float], tau: float) -> list[float]:
    z = np.asarray(scores, dtype=np.float64) / tau
    z = np.exp(z - z.max())
    return list(z / z.sum())


def _pairwise(scores: Sequence[float], goods: Sequence[bool]) -> float:
    from engine.experiments.ranking import pairwise_accuracy

    return pairwise_accuracy(scores, goods)
