"""The Attention page's ablation: its run (count, time left, Stop), its result and its verdict.

`run_ablation` runs `engine.experiments.ablation.ablation_experiment` with a progress bar and a
Stop button (`RunControl` "abl"), remembering the full result per request and, after a Stop,
the partial one. `render_ablation` shows the accuracy bars with their Wilson intervals, the
per-query P(gold) scatter, the tables and each drop with its paired uncertainty.

A class reading "Accuracy drop: -0.200" on 40 queries cannot tell an effect from chance. The
runs are paired (the same queries and prompts with and without the ablation), so each drop is
shown with McNemar's exact test, an exact 95 % interval, and the queries that changed, and the
page says in words whether the drop is within noise (`engine.experiments.ablation.paired_drop`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from components import state
from components.heatmaps import ablation_bars, gold_prob_scatter
from components.i18n import t
from components.run_control import Clock, RunControl, eta_text
from engine.data.datasets import Example
from engine.evaluation.run import EvalConfig
from engine.experiments import ablation as ablation_exp  # by module: tests replace its functions
from engine.experiments.ablation import AblationConfig, AblationResult, PairedDrop, paired_drop
from engine.model.hf_runner import HFRunner

ABL_RESULTS = "att_ablation"  # the session's last full ablation result (`state.remember`)
ABL = RunControl("abl")  # Stop button, flag and partial result ("att" prefixes the page's widgets)


def render_ablation_intro() -> None:
    """What the ablation does, and what to expect from its defaults."""
    st.caption(
        t(
            "Evaluates the current prompt format on test queries (fresh demonstrations per query, seeded) "
            "three times: intact, with the top heads ablated, and with as many random other heads ablated "
            "as a control. Hooks on each layer's output projection replace the heads' outputs; the model "
            "itself is never changed."
        )
    )
    st.caption(
        t(
            "What to expect (measured on SmolLM2-135M with the defaults on SST-2, seed 0): the top 10 "
            "induction heads change the answers beyond noise, 10 random heads do not, but accuracy goes "
            "**up** (0.575 to 0.775 on 40 queries, McNemar exact p = 0.02). One reading, not tested here: "
            "at this scale the demonstrations' labels are copied, and these heads copy them; without them "
            "the model leans on the query. Each drop below comes with its paired 95 % interval: a drop "
            "within noise says nothing either way."
        )
    )


def _run(
    key: tuple[Any, ...],
    cfg: EvalConfig,
    abl: AblationConfig,
    runner: HFRunner,
    pool: Sequence[Example],
    queries: Sequence[Example],
) -> AblationResult:
    """The ablation run with a progress bar (count and time left) and a Stop button.

    Kept per session, not in `st.cache_data` (see `state.remembered`: it updates a progress bar).
    The partial result is kept after every chunk of queries: a click on Stop interrupts this
    script, and the rerun shows what was kept (see `components.run_control`).
    """
    bar = st.progress(0.0, text=t("Starting..."))
    stop_slot = ABL.stop_button()
    clock = Clock()
    progress_text = t("Evaluating: {msg}")  # the engine's step message stays as it comes
    count = [eta_text(0, len(queries), 0.0)]

    def progress(frac: float, msg: str) -> None:
        bar.progress(min(max(frac, 0.0), 1.0), text=f"{count[0]} · {progress_text.format(msg=msg)}")

    def on_chunk(partial: AblationResult) -> None:
        ABL.keep_partial(key, partial)
        count[0] = eta_text(partial.n_done, len(queries), clock.elapsed())

    try:
        result = ablation_exp.ablation_experiment(
            runner,
            pool,
            queries,
            cfg,
            abl,
            progress=progress,
            should_stop=ABL.should_stop,
            on_chunk=on_chunk,
        )
    finally:
        bar.empty()
        stop_slot.empty()
    if result.partial:
        ABL.keep_partial(key, result)
        ABL.request_stop()  # later reruns show it until Run is pressed
    else:
        state.remember(ABL_RESULTS, key, result)
        ABL.clear()
    return result


def run_ablation(
    key: tuple[Any, ...],
    cfg: EvalConfig,
    abl: AblationConfig,
    runner: HFRunner,
    pool: Sequence[Example],
    queries: Sequence[Example],
) -> AblationResult:
    """The remembered result for this request; after Stop the partial one (never a new run); else a run.

    Args:
        key: what the result depends on besides `cfg` and `abl` (model, data by content, seed...).
    """
    full_key = (key, cfg, abl)
    found, value = state.recall(ABL_RESULTS, full_key)
    if found:
        return value  # type: ignore[no-any-return]
    if ABL.stopped():
        partial = ABL.partial_for(full_key)
        if partial is None:
            st.warning(
                t("Stopped before the first queries were scored: press **Run the ablation** to run again.")
            )
            st.stop()
        return partial  # type: ignore[no-any-return]
    return _run(full_key, cfg, abl, runner, pool, queries)


def render_ablation(result: AblationResult, *, dataset: str, k: int, mode: str, by: str) -> None:
    """The result: partial mark, accuracy bars with Wilson intervals, P(gold) scatter, tables, drops."""
    if result.partial:
        st.warning(
            t(
                "Stopped after {done} of {total} queries: partial result. Every condition ran on the same "
                "{done} queries, so the drops below compare like with like; press **Run the ablation** to "
                "run them all.",
                done=result.n_done,
                total=result.n_total,
            )
        )
    summary = result.summary()
    st.caption(
        t(
            "{n} queries from {dataset}, k = {k}, {mode} ablation, ranked by {score}.",
            n=result.n_done,
            dataset=dataset,
            k=k,
            mode=mode,
            score=by,
        )
    )
    r1, r2 = st.columns(2)
    with r1:
        st.plotly_chart(
            ablation_bars(summary, result.accuracy_intervals()), width="stretch", key="att_abl_bars"
        )
        st.caption(t("Error bars: the Wilson 95 % interval of each accuracy on its own."))
    with r2:
        st.plotly_chart(gold_prob_scatter(result.label_probs()), width="stretch", key="att_abl_scatter")
    st.dataframe(pd.DataFrame(summary).round(4), hide_index=True, key="att_abl_table")
    probs = pd.DataFrame(result.label_probs())
    mean_probs = probs.pivot_table(index="condition", columns="label", values="prob", aggfunc="mean")
    st.caption(t("Mean probability of each label under each condition (side by side)."))
    st.dataframe(mean_probs.round(4), key="att_abl_probs")
    render_drops(result)


def drop_text(name: str, d: PairedDrop) -> str:
    """One condition's drop in accuracy and in P(gold), each with its 95 % interval."""
    return t(
        "**{name}**: accuracy drop **{drop:+.3f}** (95 % interval {lo:+.3f} … {hi:+.3f}; {lost} of {n} "
        "queries went from right to wrong, {gained} from wrong to right; McNemar exact p = {p:.3f}). "
        "Mean P(gold label) drop {pdrop:+.3f} (bootstrap 95 % interval {plo:+.3f} … {phi:+.3f}).",
        name=name,
        drop=d.accuracy_drop,
        lo=d.accuracy_lo,
        hi=d.accuracy_hi,
        lost=d.lost,
        gained=d.gained,
        n=d.n,
        p=d.p_value,
        pdrop=d.prob_drop,
        plo=d.prob_lo,
        phi=d.prob_hi,
    )


def verdict_text(d: PairedDrop) -> str:
    """Whether the accuracy drop is within noise, a real loss, or a real gain."""
    if d.lost + d.gained == 0:
        return t("No query changed its answer's correctness: no measurable effect on accuracy.")
    if d.accuracy_within_noise:
        return t(
            "Within noise: with {n} paired queries, a split of {lost} lost to {gained} gained is what chance "
            "gives (p ≥ 0.05). More test queries narrow the interval.",
            n=d.n,
            lost=d.lost,
            gained=d.gained,
        )
    if d.accuracy_drop > 0:
        return t("Beyond noise (p < 0.05): on this task the model needs these heads.")
    return t(
        "Beyond noise (p < 0.05), and accuracy went **up**: on this task these heads hurt more than they help "
        "(for example by copying labels from the demonstrations instead of reading the query)."
    )


def render_drops(result: AblationResult) -> None:
    """Each ablated condition's drop with its verdict, then top heads against the random control."""
    drops = result.paired()
    for run, d in zip(result.runs, drops, strict=True):
        st.markdown(drop_text(run.head_set.name, d))
        st.caption(verdict_text(d))
    if len(result.runs) == 2:
        top, control = result.runs
        vs = paired_drop(control.result, top.result)  # > 0: the top heads cost more than the control
        st.markdown(
            t(
                "**{top}** against **{control}**: ablating the top heads costs {diff:+.3f} more accuracy than "
                "the control (negative: it gains more; 95 % interval {lo:+.3f} … {hi:+.3f}, McNemar exact "
                "p = {p:.3f}).",
                top=top.head_set.name,
                control=control.head_set.name,
                diff=vs.accuracy_drop,
                lo=vs.accuracy_lo,
                hi=vs.accuracy_hi,
                p=vs.p_value,
            )
        )
        st.caption(
            t("The difference from the random control is within noise.")
            if vs.accuracy_within_noise
            else t("The difference from the random control is beyond noise (p < 0.05).")
        )
