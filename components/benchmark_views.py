"""Renderers of the Scoring page's Benchmark section (issue 14): StaICC's protocol, with intervals.

One table (accuracy with its Wilson 95 % interval, macro-F1 and ECE with their bootstrap 95 %
intervals, per data set), a bar chart with the same intervals as error bars, a caption saying
whether the run is StaICC's standard protocol or a cut-down one, plain words on what the
intervals do and do not show, and CSV downloads. Pure frame / figure / text builders come first;
`render_benchmark` draws them. Frames and downloads keep English column names (a CSV is read by
programs); the table shown on screen has its headers in the UI language.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components.i18n import t
from engine.data.benchmarks import DATASETS
from engine.experiments.benchmark import BenchmarkResult, DatasetResult

N_STANDARD = 1024  # prompts per data set in StaICC's standard protocol (512 test queries, asked twice)
METRICS = ("accuracy", "macro_f1", "ece")


def incomplete(result: BenchmarkResult) -> bool:
    """Whether the run was stopped: a data set marked stopped, or fewer data sets than asked (a
    stop before a data set's first chunk leaves it out, and the one before it is whole)."""
    return result.stopped or len(result.results) < len(result.config.datasets)


def dataset_title(name: str) -> str:
    """A data set's title in the UI language (the engine's name when it has none)."""
    spec = DATASETS.get(name)
    return t(spec.title) if spec is not None else name


# ------------------------------------------------------------------------------ pure builders
def benchmark_frame(result: BenchmarkResult) -> pd.DataFrame:
    """One row per data set: n, each metric with its interval ends, seconds, stopped."""
    rows = []
    for r in result.results:
        row: dict[str, object] = {"dataset": r.dataset, "staicc_name": r.staicc_name, "n": r.n}
        for metric in METRICS:
            lo, hi = getattr(r, f"{metric}_ci")
            row |= {metric: getattr(r, metric), f"{metric}_lo": lo, f"{metric}_hi": hi}
        row |= {"seconds": round(r.seconds, 2), "stopped": r.stopped}
        rows.append(row)
    return pd.DataFrame(rows)


def benchmark_csv(result: BenchmarkResult) -> bytes:
    """`benchmark_frame` with what the run was (model, k, limit, resamples, seed, standard)."""
    cfg = result.config
    frame = benchmark_frame(result)
    frame.insert(0, "model", result.model)
    frame = frame.assign(
        k=cfg.k, limit=cfg.limit if cfg.limit is not None else "all", resamples=cfg.resamples,
        seed=cfg.seed, standard=cfg.standard,
    )  # fmt: skip
    return frame.to_csv(index=False).encode("utf-8")


def prompts_csv(result: BenchmarkResult) -> bytes:
    """Per prompt: data set, its index in StaICC's order, gold label, prediction, each label's score."""
    rows = []
    for r in result.results:
        for i, (gold, scores) in enumerate(zip(r.gold, r.label_logprobs, strict=True)):
            pred = max(range(len(scores)), key=scores.__getitem__)  # the first of a tie, as StaICC
            row: dict[str, object] = {"dataset": r.dataset, "prompt": i, "gold": r.label_space[gold],
                                      "prediction": r.label_space[pred], "correct": pred == gold}  # fmt: skip
            row |= {f"logprob {label}": s for label, s in zip(r.label_space, scores, strict=True)}
            rows.append(row)
    buf = io.StringIO()
    pd.DataFrame(rows).to_csv(buf, index=False)
    return buf.getvalue().encode("utf-8")


def interval_text(lo: float, hi: float) -> str:
    """ "0.412 – 0.588" (or "–" when the interval is undefined: fewer than two prompts)."""
    if lo != lo or hi != hi:  # NaN
        return "–"
    return f"{lo:.3f} – {hi:.3f}"


def shown_frame(result: BenchmarkResult) -> pd.DataFrame:
    """The table on screen: each metric beside its 95 % interval, headers in the UI language."""
    rows = []
    for r in result.results:
        row: dict[str, object] = {t("data set"): dataset_title(r.dataset), t("prompts"): r.n}
        for metric, title in zip(METRICS, (t("accuracy"), t("macro-F1"), t("ECE")), strict=True):
            row[title] = round(float(getattr(r, metric)), 4)
            row[t("{metric} 95 % interval", metric=title)] = interval_text(*getattr(r, f"{metric}_ci"))
        row[t("seconds")] = round(r.seconds, 1)
        row[t("partial")] = t("yes") if r.stopped else ""
        rows.append(row)
    return pd.DataFrame(rows)


def benchmark_bars(result: BenchmarkResult) -> go.Figure:
    """Accuracy, macro-F1 and ECE per data set, grouped, each bar with its 95 % interval."""
    fig = go.Figure()
    x = [dataset_title(r.dataset) for r in result.results]
    for metric, title in zip(METRICS, (t("accuracy"), t("macro-F1"), t("ECE")), strict=True):
        values = [float(getattr(r, metric)) for r in result.results]
        cis = [getattr(r, f"{metric}_ci") for r in result.results]
        fig.add_bar(
            x=x,
            y=values,
            name=title,
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [
                    max(hi - v, 0.0) if hi == hi else 0.0 for v, (_, hi) in zip(values, cis, strict=True)
                ],
                "arrayminus": [
                    max(v - lo, 0.0) if lo == lo else 0.0 for v, (lo, _) in zip(values, cis, strict=True)
                ],
            },
        )
    fig.update_layout(barmode="group", height=320, yaxis_range=[0, 1], margin={"t": 20, "b": 10})
    return fig


def protocol_text(result: BenchmarkResult) -> str:
    """Whether the numbers are StaICC's standard protocol or a cut-down run, in the UI language."""
    cfg = result.config
    if cfg.standard and not incomplete(result):
        return t(
            "StaICC's standard protocol: k = 4 demonstrations, all 1,024 prompts per data set (512 test "
            "queries, each asked twice with other demonstrations), StaICC's own demonstrations, templates "
            "and metrics; the engine's direct scorer. Comparable with other StaICC results."
        )
    n = cfg.limit if cfg.limit is not None else N_STANDARD
    return t(
        "A cut-down run, not StaICC's standard protocol: k = {k}, at most {n} of the 1,024 prompts per data "
        "set (the first ones in StaICC's order). Do not compare these numbers with published StaICC "
        "results; choose all prompts (standard) for that.",
        k=cfg.k,
        n=n,
    )


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def honesty_lines(results: Sequence[DatasetResult]) -> list[str]:
    """Plain words on the intervals: accuracies not distinguishable from guessing, and data sets
    whose accuracy intervals overlap (these are different test sets, so no paired test applies)."""
    lines = []
    for r in results:
        chance = 1 / max(len(r.label_space), 1)
        lo, hi = r.accuracy_ci
        if lo <= chance <= hi:
            lines.append(
                t(
                    "{name}: the accuracy interval includes chance ({chance:.2f}, guessing among {labels} "
                    "labels): with {n} prompts this accuracy is not distinguishable from guessing.",
                    name=dataset_title(r.dataset),
                    chance=chance,
                    labels=len(r.label_space),
                    n=r.n,
                )
            )
    pairs = [
        (a, b)
        for i, a in enumerate(results)
        for b in results[i + 1 :]
        if _overlap(a.accuracy_ci, b.accuracy_ci)
    ]
    if len(results) > 1 and len(pairs) == len(results) * (len(results) - 1) // 2:
        lines.append(
            t(
                "All the accuracy intervals overlap: at this number of prompts these numbers do not rank "
                "the data sets (overlapping intervals do not show that there is no difference either)."
            )
        )
    elif pairs:
        names = "; ".join(f"{dataset_title(a.dataset)} / {dataset_title(b.dataset)}" for a, b in pairs)
        lines.append(
            t(
                "Accuracy intervals that overlap ({pairs}): these differences may be chance at this number "
                "of prompts.",
                pairs=names,
            )
        )
    return lines


# ----------------------------------------------------------------------------------- renderer
def render_benchmark(result: BenchmarkResult, *, key: str = "bm") -> None:
    """The run's table, chart, protocol caption, plain words on the intervals and downloads."""
    if not result.results:
        st.warning(
            t("Stopped before the first prompts were scored: press **Run the benchmark** to run again.")
        )
        return
    if incomplete(result):
        done = sum(r.n for r in result.results)
        st.warning(
            t(
                "Stopped after {done} prompts: partial result. The data sets shown were scored on the "
                "prompts done so far (one stopped part-way is marked partial; data sets not reached are "
                "left out); press **Run the benchmark** to run them all.",
                done=done,
            )
        )
    st.caption(protocol_text(result))
    st.dataframe(shown_frame(result), hide_index=True, width="stretch", key=f"{key}_table")
    st.plotly_chart(benchmark_bars(result), width="stretch", key=f"{key}_bars")
    st.caption(
        t(
            "Error bars and intervals: 95 %. Accuracy: Wilson interval; macro-F1 and ECE: percentile "
            "bootstrap over the prompts ({resamples} resamples, seed {seed}). Model: {model}.",
            resamples=result.config.resamples,
            seed=result.config.seed,
            model=result.model,
        )
    )
    for line in honesty_lines(result.results):
        st.markdown(f"- {line}")
    c1, c2 = st.columns(2)
    with c1:
        st.download_button(
            t("Download the benchmark table (CSV)"),
            benchmark_csv(result),
            file_name="staicc_benchmark.csv",
            mime="text/csv",
            key=f"{key}_dl_csv",
        )
    with c2:
        st.download_button(
            t("Download per-prompt scores (CSV)"),
            prompts_csv(result),
            file_name="staicc_benchmark_prompts.csv",
            mime="text/csv",
            key=f"{key}_dl_prompts",
        )
