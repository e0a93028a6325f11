"""Renderers of a sensitivity result: summary, plotly charts with hover details, prompts, table, CSV.

* order / selection: the distribution of accuracy (and macro-F1) over orders or draws, as a box
  with every run as a point; the best and worst prompts side by side.
* kcurve: mean accuracy per k and scoring function, with a band from the worst to the best seed.
* labels / label_words / format: bars per setting (mean over seeds, error bar = std), with the
  chance level as a dashed line.
"""

from __future__ import annotations

import json

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components.prompt_view import render_prompt
from engine.scoring import SCORERS
from engine.sensitivity import EXPERIMENTS, Row, SensitivityResult

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
FILLS = (
    "rgba(31,119,180,0.18)", "rgba(255,127,14,0.18)", "rgba(44,160,44,0.18)",
    "rgba(214,39,40,0.18)", "rgba(148,103,189,0.18)", "rgba(140,86,75,0.18)",
)  # fmt: skip


def results_frame(result: SensitivityResult) -> pd.DataFrame:
    """The tidy table; list and dict cells as JSON so the CSV round-trips."""
    records = [
        {k: json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v for k, v in rec.items()}
        for rec in result.table()
    ]
    return pd.DataFrame(records)


def _hover(row: Row) -> str:
    lines = [f"<b>{row.setting}</b>", f"accuracy {row.accuracy:.1%}", f"macro-F1 {row.macro_f1:.1%}"]
    if row.runs > 1:
        lines.append(
            f"{row.runs} runs: {row.accuracy_min:.1%} to {row.accuracy_max:.1%} (std {100 * row.accuracy_std:.1f} pts)"
        )
    labels = row.fields.get("shown_labels") or row.fields.get("demo_labels")
    if labels:
        lines.append("labels shown: " + ", ".join(map(str, labels)))
    if "demo_ids" in row.fields:
        lines.append("demo ids: " + ", ".join(map(str, row.fields["demo_ids"])))
    if "mean_dropped" in row.fields:
        lines.append(f"{row.fields['mean_dropped']:.1f} demonstrations dropped to fit (mean)")
    lines.append(f"{row.tokens:,} tokens, {row.seconds:.1f} s")
    return "<br>".join(lines)


def distribution_figure(result: SensitivityResult) -> go.Figure:
    """Box + strip of accuracy and macro-F1 over the rows (orders or draws)."""
    hover = [_hover(r) for r in result.rows]
    fig = go.Figure()
    for i, (name, values) in enumerate(
        [("accuracy", [r.accuracy for r in result.rows]), ("macro-F1", [r.macro_f1 for r in result.rows])]
    ):
        fig.add_trace(
            go.Box(
                y=values,
                name=name,
                boxpoints="all",
                jitter=0.5,
                pointpos=0,
                marker={"color": COLORS[i], "size": 8, "opacity": 0.75},
                line={"color": COLORS[i]},
                hovertext=hover,
                hoverinfo="text",
            )
        )
    _chance(fig, len(result.labels))
    fig.update_layout(
        yaxis={"title": "score", "tickformat": ".0%", "rangemode": "tozero"},
        height=420,
        margin={"l": 10, "r": 10, "t": 30, "b": 40},
        showlegend=False,
    )
    return fig


def kcurve_figure(result: SensitivityResult) -> go.Figure:
    """Mean accuracy per k and scorer; shaded band from the worst to the best seed."""
    fig = go.Figure()
    scorers = list(dict.fromkeys(str(r.fields["scorer"]) for r in result.rows))
    for i, scorer in enumerate(scorers):
        rows = sorted(
            (r for r in result.rows if r.fields["scorer"] == scorer), key=lambda r: int(r.fields["k"])
        )
        xs = [str(r.fields["k"]) for r in rows]
        color, fill = COLORS[i % len(COLORS)], FILLS[i % len(FILLS)]
        title = SCORERS[scorer].title if scorer in SCORERS else scorer
        fig.add_trace(
            go.Scatter(
                x=xs + xs[::-1],
                y=[r.accuracy_max for r in rows] + [r.accuracy_min for r in rows][::-1],
                fill="toself",
                fillcolor=fill,
                line={"width": 0},
                hoverinfo="skip",
                name=f"{title}: seed range",
                showlegend=True,
            )
        )
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=[r.accuracy for r in rows],
                mode="lines+markers",
                name=f"{title}: mean accuracy",
                line={"color": color, "width": 3},
                marker={"size": 9},
                hovertext=[_hover(r) for r in rows],
                hoverinfo="text",
            )
        )
    _chance(fig, len(result.labels))
    fig.update_layout(
        xaxis={"title": "k (demonstrations)", "type": "category"},
        yaxis={"title": "accuracy", "tickformat": ".0%"},
        height=420,
        margin={"l": 10, "r": 10, "t": 30, "b": 40},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def bars_figure(result: SensitivityResult) -> go.Figure:
    """Grouped bars of accuracy and macro-F1 per setting (error bars: std over seeds)."""
    names = [r.setting for r in result.rows]
    hover = [_hover(r) for r in result.rows]
    fig = go.Figure()
    for i, (metric, values, errs) in enumerate(
        [
            ("accuracy", [r.accuracy for r in result.rows], [r.accuracy_std for r in result.rows]),
            (
                "macro-F1",
                [r.macro_f1 for r in result.rows],
                [float(pd.Series(r.macro_f1s).std(ddof=0)) if r.runs > 1 else 0.0 for r in result.rows],
            ),
        ]
    ):
        fig.add_trace(
            go.Bar(
                x=names,
                y=values,
                name=metric,
                marker_color=COLORS[i],
                error_y={"type": "data", "array": errs, "visible": any(e > 0 for e in errs)},
                text=[f"{v:.1%}" for v in values],
                textposition="outside",
                hovertext=hover,
                hoverinfo="text",
            )
        )
    _chance(fig, len(result.labels))
    fig.update_layout(
        barmode="group",
        yaxis={"title": "score", "tickformat": ".0%", "range": [0, 1.08]},
        height=420,
        margin={"l": 10, "r": 10, "t": 30, "b": 40},
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def _chance(fig: go.Figure, n_labels: int) -> None:
    if n_labels > 0:
        fig.add_hline(
            y=1 / n_labels,
            line_dash="dash",
            line_color="grey",
            annotation_text=f"chance {1 / n_labels:.0%}",
            annotation_position="bottom right",
        )


def figure_for(result: SensitivityResult) -> go.Figure:
    if result.experiment in ("order", "selection"):
        return distribution_figure(result)
    if result.experiment == "kcurve":
        return kcurve_figure(result)
    return bars_figure(result)


def _render_row_prompt(row: Row, title: str) -> None:
    st.markdown(f"**{title}**: {row.setting} · accuracy **{row.accuracy:.1%}** · macro-F1 {row.macro_f1:.1%}")
    if row.prompt is not None:
        render_prompt(row.prompt, n_tokens=row.prompt.n_tokens)


def render_result(result: SensitivityResult, *, key: str = "sens") -> None:
    """Summary sentence, cost, chart, prompts, table and CSV download of one experiment."""
    spec = EXPERIMENTS[result.experiment]
    st.success(result.summary)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Settings", len(result.rows))
    m2.metric("Evaluations run", result.n_evaluations, help="Identical evaluations run once.")
    m3.metric("Tokens through the model", f"{result.tokens_processed:,}")
    m4.metric("Seconds", f"{result.seconds:.1f}")
    for note in result.notes:
        st.info(note)
    st.plotly_chart(figure_for(result), width="stretch", key=f"{key}_chart")
    st.caption(
        f"{spec.title}: {result.n_test} test queries per evaluation; hover a point or bar for its "
        "demonstrations, labels and cost. Dashed line: chance."
    )

    if result.experiment in ("order", "selection") and len(result.rows) > 1:
        st.subheader(f"Best and worst {'order' if result.experiment == 'order' else 'draw'}")
        st.caption(
            "The prompt of the first test query; everything before the query is shared by all queries."
        )
        left, right = st.columns(2)
        with left:
            _render_row_prompt(result.best(), "Best")
        with right:
            _render_row_prompt(result.worst(), "Worst")
    else:
        st.subheader("Prompt of a setting")
        names = [r.setting for r in result.rows]
        pick = st.selectbox("Setting", names, key=f"{key}_prompt_pick")
        row = result.rows[names.index(pick)] if pick in names else result.rows[0]
        _render_row_prompt(row, "Setting")

    st.subheader("Table")
    frame = results_frame(result)
    st.dataframe(frame, hide_index=True, width="stretch", key=f"{key}_table")
    st.download_button(
        "Download the table (CSV)",
        frame.to_csv(index=False).encode("utf-8"),
        file_name=f"sensitivity_{result.experiment}.csv",
        mime="text/csv",
        key=f"{key}_download",
    )


def work_estimate(n_evaluations: int, n_test: int, n_labels: int) -> str:
    """A sentence saying how much this run will score before it starts."""
    return (
        f"Up to {n_evaluations} evaluations × {n_test} queries × {n_labels} labels = "
        f"{n_evaluations * n_test * n_labels:,} label scores (shared prompt prefixes are computed once)."
    )
