"""The Attention page's ablation verdict: each accuracy drop with its paired uncertainty.

A class reading "Accuracy drop: -0.200" on 40 queries cannot tell an effect from chance. The
runs are paired (the same queries and prompts with and without the ablation), so each drop is
shown with McNemar's exact test, an exact 95 % interval, and the queries that changed, and the
page says in words whether the drop is within noise (`engine.interp.ablation.paired_drop`).
"""

from __future__ import annotations

import streamlit as st

from components.i18n import t
from engine.interp.ablation import AblationResult, PairedDrop, paired_drop


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
