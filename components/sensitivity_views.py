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

from components.i18n import lang, t
from components.i18n_zh_sensitivity import ZH_SENSITIVITY_FACTS
from components.prompt_view import render_prompt
from engine.experiments.sensitivity import (
    ENGLISH,
    EXPERIMENTS,
    LABEL_CONDITIONS,
    Fact,
    Row,
    SensitivityResult,
    render,
    setting_of,
)
from engine.experiments.sensitivity.facts import Value
from engine.scoring.scorers import SCORERS

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
FILLS = (
    "rgba(31,119,180,0.18)", "rgba(255,127,14,0.18)", "rgba(44,160,44,0.18)",
    "rgba(214,39,40,0.18)", "rgba(148,103,189,0.18)", "rgba(140,86,75,0.18)",
)  # fmt: skip


def fact_text(fact: Value) -> str:
    """An engine fact (summary, note, setting) in the UI language: the engine's English template,
    or the Chinese one of the same code (`ZH_SENSITIVITY_FACTS`)."""
    return render(fact, ENGLISH if lang() == "en" else ZH_SENSITIVITY_FACTS)


def experiment_titles() -> dict[str, str]:
    """Experiment titles in the UI language (translated now: format functions may run outside the script)."""
    return {name: t(spec.title) for name, spec in EXPERIMENTS.items()}


def experiment_descriptions() -> dict[str, str]:
    """One sentence per experiment in the UI language (`ExperimentSpec.description` in English)."""
    return {name: t(spec.description) for name, spec in EXPERIMENTS.items()}


def condition_titles() -> dict[str, str]:
    """The label conditions of the labels experiment (`CONDITION_TITLES` in English)."""
    return {c: fact_text(Fact(f"condition.{c}")) for c in LABEL_CONDITIONS}


def scorer_name(name: str) -> str:
    """A scoring function as the charts and the summary name it: its title in English, its id
    (as in the scorer menus) in Chinese."""
    if lang() == "en" and name in SCORERS:
        return SCORERS[name].title
    return name


def setting_title(row: Row) -> str:
    """The name of a row's setting in the UI language (English: the engine's `Row.setting`)."""
    return fact_text(setting_of(row))


def note_text(note: Fact | str) -> str:
    """An engine note (what was adjusted) in the UI language; a plain string is shown as is."""
    return note if isinstance(note, str) else fact_text(note)


def summary_sentence(result: SensitivityResult) -> str:
    """The result's summary (`SensitivityResult.summary_fact`) in the UI language."""
    return fact_text(result.summary_fact)


def summary_text(result: SensitivityResult) -> str:
    """The summary shown: the engine's sentence in English (the CLI prints the same), the same
    fact in the Chinese template otherwise."""
    return result.summary if lang() == "en" else summary_sentence(result)


def results_frame(result: SensitivityResult) -> pd.DataFrame:
    """The tidy table; list and dict cells as JSON so the CSV round-trips."""
    records = [
        {k: json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v for k, v in rec.items()}
        for rec in result.table()
    ]
    return pd.DataFrame(records)


def column_titles() -> dict[str, str]:
    """Headers of the table shown on the page (the CSV keeps the English column names)."""
    return {
        "setting": t("setting"),
        "accuracy": t("accuracy"),
        "macro_f1": t("macro-F1"),
        "n": t("queries"),
        "seconds": t("seconds"),
        "tokens": t("tokens"),
        "runs": t("runs"),
        "accuracy_std": t("accuracy std"),
        "accuracy_min": t("accuracy min"),
        "accuracy_max": t("accuracy max"),
        "accuracies": t("accuracy per run"),
        "macro_f1_std": t("macro-F1 std"),
        "demo_ids": t("demo ids"),
        "demo_labels": t("demo labels"),
        "shown_labels": t("labels shown"),
        "positions": t("positions in the draw (1-based)"),
        "order": t("order"),
        "draw": t("draw"),
        "draw_seed": t("draw seed"),
        "scorer": t("scoring function"),
        "condition": t("label condition"),
        "mapping": t("label mapping"),
        "kind": t("kind"),
        "words": t("label words"),
        "template": t("template"),
        "instruction": t("instruction"),
        "mean_dropped": t("demonstrations dropped (mean)"),
    }


def display_frame(result: SensitivityResult) -> pd.DataFrame:
    """The table as shown: `results_frame`, with settings and headers in the UI language."""
    frame = results_frame(result)
    if lang() == "en":
        return frame
    frame["setting"] = [setting_title(r) for r in result.rows]
    return frame.rename(columns=column_titles())


def _hover(row: Row) -> str:
    lines = [
        f"<b>{setting_title(row)}</b>",
        t("accuracy {acc:.1%}", acc=row.accuracy),
        t("macro-F1 {f1:.1%}", f1=row.macro_f1),
    ]
    if row.runs > 1:
        lines.append(
            t(
                "{runs} runs: {lo:.1%} to {hi:.1%} (std {std:.1f} pts)",
                runs=row.runs,
                lo=row.accuracy_min,
                hi=row.accuracy_max,
                std=100 * row.accuracy_std,
            )
        )
    labels = row.fields.get("shown_labels") or row.fields.get("demo_labels")
    if labels:
        lines.append(t("labels shown: {labels}", labels=", ".join(map(str, labels))))
    if "demo_ids" in row.fields:
        lines.append(t("demo ids: {ids}", ids=", ".join(map(str, row.fields["demo_ids"]))))
    if "mean_dropped" in row.fields:
        lines.append(t("{n:.1f} demonstrations dropped to fit (mean)", n=row.fields["mean_dropped"]))
    lines.append(t("{tokens:,} tokens, {seconds:.1f} s", tokens=row.tokens, seconds=row.seconds))
    return "<br>".join(lines)


def distribution_figure(result: SensitivityResult) -> go.Figure:
    """Box + strip of accuracy and macro-F1 over the rows (orders or draws)."""
    hover = [_hover(r) for r in result.rows]
    fig = go.Figure()
    for i, (name, values) in enumerate(
        [
            (t("accuracy"), [r.accuracy for r in result.rows]),
            (t("macro-F1"), [r.macro_f1 for r in result.rows]),
        ]
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
        yaxis={"title": t("score"), "tickformat": ".0%", "rangemode": "tozero"},
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
        title = scorer_name(scorer)
        fig.add_trace(
            go.Scatter(
                x=xs + xs[::-1],
                y=[r.accuracy_max for r in rows] + [r.accuracy_min for r in rows][::-1],
                fill="toself",
                fillcolor=fill,
                line={"width": 0},
                hoverinfo="skip",
                name=t("{scorer}: seed range", scorer=title),
                showlegend=True,
            )
        )
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=[r.accuracy for r in rows],
                mode="lines+markers",
                name=t("{scorer}: mean accuracy", scorer=title),
                line={"color": color, "width": 3},
                marker={"size": 9},
                hovertext=[_hover(r) for r in rows],
                hoverinfo="text",
            )
        )
    _chance(fig, len(result.labels))
    fig.update_layout(
        xaxis={"title": t("k (demonstrations)"), "type": "category"},
        yaxis={"title": t("accuracy"), "tickformat": ".0%"},
        height=420,
        margin={"l": 10, "r": 10, "t": 30, "b": 40},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def bars_figure(result: SensitivityResult) -> go.Figure:
    """Grouped bars of accuracy and macro-F1 per setting (error bars: std over seeds)."""
    names = [setting_title(r) for r in result.rows]
    hover = [_hover(r) for r in result.rows]
    fig = go.Figure()
    for i, (metric, values, errs) in enumerate(
        [
            (t("accuracy"), [r.accuracy for r in result.rows], [r.accuracy_std for r in result.rows]),
            (
                t("macro-F1"),
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
        yaxis={"title": t("score"), "tickformat": ".0%", "range": [0, 1.08]},
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
            annotation_text=t("chance {p:.0%}", p=1 / n_labels),
            annotation_position="bottom right",
        )


def figure_for(result: SensitivityResult) -> go.Figure:
    if result.experiment in ("order", "selection"):
        return distribution_figure(result)
    if result.experiment == "kcurve":
        return kcurve_figure(result)
    return bars_figure(result)


def _render_row_prompt(row: Row, title: str) -> None:
    st.markdown(
        t(
            "**{title}**: {setting} · accuracy **{acc:.1%}** · macro-F1 {f1:.1%}",
            title=title,
            setting=setting_title(row),
            acc=row.accuracy,
            f1=row.macro_f1,
        )
    )
    if row.prompt is not None:
        render_prompt(row.prompt, n_tokens=row.prompt.n_tokens)


def render_result(result: SensitivityResult, *, key: str = "sens") -> None:
    """Summary sentence, cost, chart, prompts, table and CSV download of one experiment."""
    st.success(summary_text(result))
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(t("Settings compared"), len(result.rows))
    m2.metric(
        t("Evaluations run"),
        f"{result.n_evaluations} / {result.n_total}" if result.partial else result.n_evaluations,
        help=t("Identical evaluations run once."),
    )
    m3.metric(t("Tokens through the model"), f"{result.tokens_processed:,}")
    m4.metric(t("Seconds taken"), f"{result.seconds:.1f}")
    for note in result.note_facts or result.notes:
        st.info(note_text(note))
    st.plotly_chart(figure_for(result), width="stretch", key=f"{key}_chart")
    st.caption(
        t(
            "{experiment}: {n} test queries per evaluation; hover a point or bar for its "
            "demonstrations, labels and cost. Dashed line: chance.",
            experiment=experiment_titles().get(result.experiment, result.experiment),
            n=result.n_test,
        )
    )

    if result.experiment in ("order", "selection") and len(result.rows) > 1:
        st.subheader(t("Best and worst order") if result.experiment == "order" else t("Best and worst draw"))
        st.caption(
            t("The prompt of the first test query; everything before the query is shared by all queries.")
        )
        left, right = st.columns(2)
        with left:
            _render_row_prompt(result.best(), t("Best"))
        with right:
            _render_row_prompt(result.worst(), t("Worst"))
    else:
        st.subheader(t("Prompt of a setting"))
        names = [r.setting for r in result.rows]
        shown = {r.setting: setting_title(r) for r in result.rows}  # translated now, not in format_func
        pick = st.selectbox(
            t("Setting"), names, format_func=lambda s: shown.get(s, s), key=f"{key}_prompt_pick"
        )
        row = result.rows[names.index(pick)] if pick in names else result.rows[0]
        _render_row_prompt(row, t("Setting"))

    st.subheader(t("Table"))
    st.dataframe(display_frame(result), hide_index=True, width="stretch", key=f"{key}_table")
    st.download_button(
        t("Download the table (CSV)"),
        results_frame(result).to_csv(index=False).encode("utf-8"),
        file_name=f"sensitivity_{result.experiment}.csv",
        mime="text/csv",
        key=f"{key}_download",
    )


def work_estimate(n_evaluations: int, n_test: int, n_labels: int) -> str:
    """A sentence saying how much this run will score before it starts."""
    return t(
        "Up to {n_evaluations} evaluations × {n_test} queries × {n_labels} labels = "
        "{total:,} label scores (shared prompt prefixes are computed once).",
        n_evaluations=n_evaluations,
        n_test=n_test,
        n_labels=n_labels,
        total=n_evaluations * n_test * n_labels,
    )
