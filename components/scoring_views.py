"""Renderers of the Scoring page: metric table, confusion matrices, per-query table and detail,
downloads. Pure table/figure builders are separate from the `render_*` functions that draw them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components.i18n import t
from components.tokens import render_tokens, scored_view
from engine.evaluation.run import EvalResult, QueryResult
from engine.scoring.scorers import CALIBRATIONS, SCORERS

TokenStrings = Callable[[Sequence[int]], list[str]]

# the Scoring page's demonstration modes (its widget's options; saved experiments are checked against them)
DEMO_MODES = {
    "per-query": "Fresh draw per query (OpenICL / StaICC)",
    "shared": "One shared draw for all queries",
    "prompt-lab": "The Prompt Lab's demonstrations (fixed prompt)",
}


# ----------------------------------------------------------------------------------- UI texts
def scorer_descriptions() -> dict[str, str]:
    """`SCORERS`' descriptions in the UI language (the engine's spec descriptions are English; the
    Chinese ones are keyed by them in `components.i18n_zh_scoring`)."""
    return {name: t(spec.description) for name, spec in SCORERS.items()}


def calibration_descriptions() -> dict[str, str]:
    """`CALIBRATIONS`' descriptions in the UI language (keyed like `scorer_descriptions`)."""
    return {name: t(spec.description) for name, spec in CALIBRATIONS.items()}


def metrics_headers() -> dict[str, str]:
    """Shown column titles of `metrics_frame` (the frame and the downloads keep English names)."""
    return {
        "variant": t("variant"),
        "scorer": t("scorer"),
        "calibration": t("calibration"),
        "accuracy": t("accuracy"),
        "macro_f1": t("macro_f1"),
        "ece": t("ece"),
        "mean_p_gold": t("mean_p_gold"),
        "n_test": t("n_test"),
        "seconds": t("seconds"),
        "tokens": t("tokens"),
    }


def queries_headers(results: Mapping[str, EvalResult]) -> dict[str, str]:
    """Shown column titles of `queries_frame`."""
    out = {"#": "#", "id": "id", "text": t("text"), "gold": t("gold")}
    for name in results:
        out[f"{name}: pred"] = t("{variant}: pred", variant=name)
        out[f"{name}: P(gold)"] = t("{variant}: P(gold)", variant=name)
    return out


def label_headers() -> dict[str, str]:
    """Shown column titles of `label_frame`."""
    return {
        "label": t("label"),
        "word": t("word"),
        "score": t("score"),
        "best is": t("best is"),
        "tokens scored": t("tokens scored"),
        "sum log p": t("sum log p"),
        "probability": t("probability"),
        "prior": t("prior"),
        "predicted": t("predicted"),
    }


def _shown(frame: pd.DataFrame, headers: Mapping[str, str]) -> pd.DataFrame:
    """`frame` with its columns renamed to their shown titles (unknown ones kept)."""
    return frame.rename(columns={c: headers.get(c, c) for c in frame.columns})


# ----------------------------------------------------------------------------------- builders
def metrics_frame(results: Mapping[str, EvalResult]) -> pd.DataFrame:
    """One row per variant: accuracy, macro-F1, ECE, mean P(gold), time, tokens."""
    rows = []
    for name, r in results.items():
        m = r.metrics
        rows.append(
            {
                "variant": name,
                "scorer": r.config.scoring.scorer,
                "calibration": r.config.scoring.calibration,
                "accuracy": round(m.accuracy, 4),
                "macro_f1": round(m.macro_f1, 4),
                "ece": round(m.ece, 4),
                "mean_p_gold": round(m.mean_true_prob, 4),
                "n_test": m.n,
                "seconds": round(r.seconds, 2),
                "tokens": r.tokens_processed,
            }
        )
    return pd.DataFrame(rows)


def confusion_figure(result: EvalResult, title: str) -> go.Figure:
    """Confusion matrix heatmap: rows gold, columns predicted, counts annotated."""
    labels = list(result.labels)
    z = [list(row) for row in result.metrics.confusion]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=labels,
            y=labels,
            colorscale="Blues",
            showscale=False,
            text=[[str(v) for v in row] for row in z],
            texttemplate="%{text}",
            hovertemplate=t("gold %{y}<br>predicted %{x}<br>%{z} queries<extra></extra>"),
        )
    )
    fig.update_layout(
        title=title,
        xaxis_title=t("predicted"),
        yaxis_title=t("gold"),
        yaxis_autorange="reversed",
        height=260 + 18 * len(labels),
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    return fig


def queries_frame(results: Mapping[str, EvalResult]) -> pd.DataFrame:
    """One row per query: text, gold, and each variant's prediction, correctness and P(gold)."""
    first = next(iter(results.values()))
    rows = []
    for i, q in enumerate(first.queries):
        row: dict[str, object] = {"#": i, "id": q.id, "text": q.text, "gold": q.gold}
        for name, r in results.items():
            qi = r.queries[i]
            row[f"{name}: pred"] = qi.pred + (" ✓" if qi.correct else " ✗")
            row[f"{name}: P(gold)"] = round(qi.probs[r.labels.index(qi.gold)], 3)
        rows.append(row)
    return pd.DataFrame(rows)


def results_csv(results: Mapping[str, EvalResult]) -> bytes:
    """Long CSV: one row per (variant, query) with scores and probabilities per label."""
    rows = []
    for name, r in results.items():
        for q in r.queries:
            row: dict[str, object] = {
                "variant": name,
                "scorer": r.config.scoring.scorer,
                "calibration": r.config.scoring.calibration,
                "id": q.id,
                "text": q.text,
                "gold": q.gold,
                "pred": q.pred,
                "correct": q.correct,
                "demo_ids": " ".join(str(d) for d in q.demo_ids),
            }
            for s, p in zip(q.label_scores, q.probs, strict=True):
                row[f"score[{s.label}]"] = s.score
                row[f"prob[{s.label}]"] = p
            rows.append(row)
    return pd.DataFrame(rows).to_csv(index=False).encode("utf-8")


def results_jsonl(results: Mapping[str, EvalResult]) -> bytes:
    """The CLI's results.jsonl records, with a "variant" field, one line per (variant, query)."""
    lines = []
    for name, r in results.items():
        for q in r.queries:
            lines.append(json.dumps({"variant": name, **q.to_json()}, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode("utf-8")


def label_frame(result: EvalResult, q: QueryResult) -> pd.DataFrame:
    """Per label of one query: score, tokens scored, log-prob, calibrated probability."""
    higher = SCORERS[result.config.scoring.scorer].higher_is_better
    return pd.DataFrame(
        [
            {
                "label": s.label,
                "word": s.word,
                "score": round(s.score, 4),
                "best is": "highest" if higher else "lowest",
                "tokens scored": s.n_tokens,
                "sum log p": round(s.logprob, 4),
                "probability": round(p, 4),
                "prior": None if q.prior is None else round(q.prior[i], 4),
                "predicted": "◀" if s.label == q.pred else "",
            }
            for i, (s, p) in enumerate(zip(q.label_scores, q.probs, strict=True))
        ]
    )


# ----------------------------------------------------------------------------------- renderers
def render_summary(results: Mapping[str, EvalResult], *, key: str = "sc") -> None:
    """Metric table, a bar chart of accuracy / macro-F1, and one confusion matrix per variant."""
    frame = metrics_frame(results)
    headers = metrics_headers()
    st.dataframe(_shown(frame, headers), hide_index=True, width="stretch", key=f"{key}_metrics")
    fig = go.Figure()
    for metric in ("accuracy", "macro_f1"):
        fig.add_bar(x=frame["variant"], y=frame[metric], name=headers[metric])
    n_labels = len(next(iter(results.values())).labels)
    fig.add_hline(y=1 / n_labels, line_dash="dot", annotation_text=t("chance"))
    fig.update_layout(barmode="group", height=300, yaxis_range=[0, 1], margin={"t": 20, "b": 10})
    st.plotly_chart(fig, width="stretch", key=f"{key}_bars")
    cols = st.columns(min(len(results), 3))
    for i, (name, r) in enumerate(results.items()):
        with cols[i % len(cols)]:
            st.plotly_chart(confusion_figure(r, name), width="stretch", key=f"{key}_cm_{i}")


def render_downloads(results: Mapping[str, EvalResult], *, key: str = "sc") -> None:
    c1, c2 = st.columns(2)
    with c1:
        st.download_button(
            t("Download results (CSV)"),
            results_csv(results),
            file_name="scoring_results.csv",
            mime="text/csv",
            key=f"{key}_dl_csv",
        )
    with c2:
        st.download_button(
            t("Download results (JSONL)"),
            results_jsonl(results),
            file_name="scoring_results.jsonl",
            mime="application/jsonl",
            key=f"{key}_dl_jsonl",
        )


def render_query_table(results: Mapping[str, EvalResult], *, key: str = "sc") -> int | None:
    """The per-query table; returns the index of the row the user clicked (None when none)."""
    event = st.dataframe(
        _shown(queries_frame(results), queries_headers(results)),
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key=f"{key}_queries",
        height=320,
    )
    rows = event.selection.rows if event is not None else []
    return int(rows[0]) if rows else None


def render_query_detail(
    results: Mapping[str, EvalResult],
    index: int,
    token_strings: TokenStrings,
    *,
    full_logprobs: Callable[[str], tuple[list[str], list[float]]] | None = None,
    key: str = "sc",
) -> None:
    """Each variant's label scores for one query, and every label's per-token log-probs on its text.

    Args:
        results: variant name -> result.
        index: the query's position.
        token_strings: ids -> token strings (the runner's).
        full_logprobs: text -> (tokens, log-probs of every token); when given, the whole prompt
            is coloured, not only the scored tokens.
        key: widget key prefix.
    """
    first = next(iter(results.values())).queries[index]
    st.markdown(
        t(
            "**Query {index}** (id {id}, gold **{gold}**): {text}",
            index=index,
            id=first.id,
            gold=first.gold,
            text=first.text,
        )
    )
    headers = label_headers()
    best = {"highest": t("highest"), "lowest": t("lowest")}
    tabs = st.tabs(list(results))
    for tab, (name, r) in zip(tabs, results.items(), strict=True):
        q = r.queries[index]
        with tab:
            verdict = t("correct") if q.correct else t("wrong")
            demos = ", ".join(str(d) for d in q.demo_ids) or t("none")
            line = t(
                "Predicted **{pred}** ({verdict}) · demonstrations (ids, prompt order): {demos}",
                pred=q.pred,
                verdict=verdict,
                demos=demos,
            )
            if q.n_dropped:
                line += t(" · {n} dropped to fit the context", n=q.n_dropped)
            st.markdown(line)
            frame = label_frame(r, q)
            frame["best is"] = frame["best is"].map(lambda v: best.get(v, v))
            st.dataframe(
                _shown(frame, headers), hide_index=True, width="stretch", key=f"{key}_lab_{name}_{index}"
            )
            for s in q.label_scores:
                st.markdown(
                    t("**{label}** (`{word}`): score {score:.4f}", label=s.label, word=s.word, score=s.score)
                )
                if full_logprobs is not None:
                    toks, lps = full_logprobs(s.text)
                    scored = set(range(s.start, len(s.token_ids)))
                    render_tokens(
                        toks,
                        lps,
                        caption=t(
                            "every token of this text coloured; the scored part starts at token {start} "
                            "({n} tokens, sum log p = {logprob:.3f})",
                            start=s.start,
                            n=len(scored),
                            logprob=s.logprob,
                        ),
                    )
                else:
                    toks, lps = scored_view(token_strings(s.token_ids), s.start, s.token_logprobs)
                    render_tokens(toks, lps)
