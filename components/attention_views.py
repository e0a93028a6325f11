"""The Attention page's views: head-score maps and table, the pattern viewer on the current prompt,
attention to each demonstration and label word, and the prompt's surprisal.

Renderers only: the page makes the engine calls (`score_heads`, `prompt_attention`,
`sequence_logprobs`) and hands their results here; the figures are `components.heatmaps`.
Widget keys start with ``att_`` (the page's prefix). Before a long prompt runs, `prompt_gate_open`
asks (issue 22: a 20,000-character query ran 256 s unasked), with the Prompt Lab's `CostGate`.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.cost_gate import CostGate, flops_per_s
from components.heatmaps import (
    demo_attention_bar,
    layer_profile,
    pattern_heatmap,
    score_heatmap,
    score_titles,
    thumbnail_grid,
)
from components.i18n import t
from components.settings_schema import fit_range
from components.surprisal import render_surprisal
from engine.interp.heads import HEAD_SCORE_NAMES, HeadScores, head_label
from engine.interp.prompt_attention import PromptAttention, prompt_attention_requests, surprisal_by_demo
from engine.model.cost import estimate_seconds
from engine.model.hf_runner import AttentionResult, ModelRunner, SequenceLogprobs
from engine.prompting.prompts import Prompt

SCORE_NAMES: list[str] = list(HEAD_SCORE_NAMES)
LONG_PROMPT_CHARS = 4000  # shorter prompts run in seconds: no estimate is made (as in the Prompt Lab)
PROMPT_GATE = CostGate("att_prompt")  # a long prompt waits here until the user confirms it
APPROVED_KEY = "att_prompt_ok"  # (model, prompt text) the user let run, or that was estimated short
ASKED_KEY = "att_prompt_asked"  # (model, prompt text) the gate asked about (Cancel keeps it asked)


def _approve(request: object) -> None:
    st.session_state[APPROVED_KEY] = request


def _ask_again() -> None:
    st.session_state.pop(ASKED_KEY, None)


def prompt_gate_open(runner: ModelRunner, model_key: str, prompt: Prompt) -> bool:
    """True when the prompt's analysis may run now: short, estimated quick, or confirmed.

    Otherwise shows the estimate with "Run anyway" / "Cancel" (after Cancel: a note and a button
    that asks again) and returns False; the page skips the prompt's views, nothing else.
    """
    request = (model_key, prompt.text)
    if len(prompt.text) < LONG_PROMPT_CHARS or st.session_state.get(APPROVED_KEY) == request:
        return True
    if st.session_state.get(ASKED_KEY) != request:
        reqs = prompt_attention_requests(runner, prompt)
        with st.spinner(t("Estimating how long this long prompt takes...")):
            speed = flops_per_s(model_key, runner)
        estimate = estimate_seconds(runner.info, reqs, speed)
        if not estimate.ask_first:
            _approve(request)
            return True
        PROMPT_GATE.hold(request, estimate)
        st.session_state[ASKED_KEY] = request
    if PROMPT_GATE.render(_approve, t("running it with attention patterns")):
        return False
    st.info(t("The long prompt was not run: shorten it in the Prompt Lab, or ask again."))
    st.button(t("Estimate again"), key="att_prompt_ask_again", on_click=_ask_again)
    return False


def render_head_scores(scores: HeadScores, seed: int) -> None:
    """The probes used, one layer x head map per score (tabs) and the sortable table of heads."""
    titles = score_titles()  # translated now: format functions may run outside the script
    st.caption(
        t(
            "{n_layers} layers × {n_heads} heads · probes: 4 × (BOS + 2 × 50) random tokens for "
            "induction / previous / duplicate token, 4 × (BOS + 4 × 25) for prefix matching (seed "
            "{seed} from the sidebar) · copying from the weights (OV-circuit eigenvalues, -1 … 1).",
            n_layers=scores.n_layers,
            n_heads=scores.n_heads,
            seed=seed,
        )
    )
    tabs = st.tabs([titles[n] for n in HEAD_SCORE_NAMES])
    for tab, name in zip(tabs, HEAD_SCORE_NAMES, strict=True):
        with tab:
            st.plotly_chart(
                score_heatmap(scores.scores[name], name), width="stretch", key=f"att_heatmap_{name}"
            )

    c1, c2 = st.columns([1, 1])
    with c1:
        sort_by = st.selectbox(
            t("Sort the table by"), SCORE_NAMES, format_func=titles.__getitem__, key="att_sort"
        )
    with c2:
        top_n = int(
            st.number_input(t("Heads shown"), 1, scores.n_layers * scores.n_heads, 15, key="att_top_n")
        )
    table = pd.DataFrame(scores.table()).sort_values(sort_by, ascending=False).head(top_n)
    st.dataframe(table.round(4), hide_index=True, width="stretch", key="att_table")


def render_pattern_viewer(att: AttentionResult, scores: HeadScores) -> None:
    """One head's pattern on the prompt (the best induction head first) and all heads as thumbnails."""
    st.subheader(t("Pattern viewer"))
    best = scores.top("induction", 1)[0][0]
    v1, v2 = st.columns(2)
    with v1:
        layer = int(st.number_input(t("Layer"), 0, scores.n_layers - 1, best[0], key="att_layer"))
    with v2:
        head = int(st.number_input(t("Head"), 0, scores.n_heads - 1, best[1], key="att_head"))
    st.caption(
        t(
            "{head}: induction {induction:.3f} · previous token {previous:.3f} · copying {copying:.3f}. "
            "Hover a cell for the token pair and weight.",
            head=head_label(layer, head),
            induction=scores.scores["induction"][layer, head],
            previous=scores.scores["previous_token"][layer, head],
            copying=scores.scores["copying"][layer, head],
        )
    )
    st.plotly_chart(
        pattern_heatmap(
            att.pattern[layer, head],
            att.tokens,
            t("{head} on the current prompt", head=head_label(layer, head)),
        ),
        width="stretch",
        key="att_pattern",
    )

    with st.expander(t("All heads at a glance (thumbnails)"), expanded=False):
        fit_range("att_thumb_layers", 0, scores.n_layers - 1)  # a saved range may be for a deeper model
        lo, hi = st.slider(
            t("Layers"), 0, scores.n_layers - 1, (0, min(scores.n_layers - 1, 11)), key="att_thumb_layers"
        )
        st.plotly_chart(
            thumbnail_grid(att.pattern, layers=range(lo, hi + 1)), width="stretch", key="att_thumbs"
        )


def render_demo_attention(pa: PromptAttention, n_layers: int) -> None:
    """Attention of the final position to each demonstration and its label word, by layer range."""
    st.subheader(t("Where the prediction looks: demonstrations and label words"))
    st.caption(
        t(
            "Attention of the final position to each demonstration, split into its label word and the rest "
            "(label words as anchors, Wang et al. 2023), averaged over the heads of the chosen layers."
        )
    )
    if not pa.n_demos:
        st.info(t("The prompt has no demonstrations: add some in the Prompt Lab."))
        return
    fit_range("att_demo_layers", 0, n_layers - 1)
    a_lo, a_hi = st.slider(t("Layers averaged"), 0, n_layers - 1, (0, n_layers - 1), key="att_demo_layers")
    rows = pa.by_demo(list(range(a_lo, a_hi + 1)))
    d1, d2 = st.columns(2)
    with d1:
        st.plotly_chart(demo_attention_bar(rows), width="stretch", key="att_demo_bar")
    with d2:
        st.plotly_chart(layer_profile(pa.by_layer()), width="stretch", key="att_layer_profile")
    st.dataframe(pd.DataFrame(rows).round(4), hide_index=True, key="att_demo_table")


def render_prompt_surprisal(seq: SequenceLogprobs, prompt: Prompt, n_demos: int) -> None:
    """Every token's log-prob, then the mean surprisal per demonstration and of its label word."""
    st.subheader(t("Per-token log-probs of the prompt"))
    render_surprisal(seq)
    if not n_demos:
        return
    st.caption(
        t("Mean surprisal per demonstration, and of its label word: falling values = the format is learnt.")
    )
    surprisal_columns = {
        "demo": t("demonstration"),
        "tokens": t("tokens"),
        "mean_surprisal": t("mean surprisal (nats)"),
        "label_surprisal": t("label-word surprisal (nats)"),
    }
    st.dataframe(
        pd.DataFrame(surprisal_by_demo(seq, prompt)).round(3).rename(columns=surprisal_columns),
        hide_index=True,
        key="att_surprisal_table",
    )
