"""Attention: which heads copy and prefix-match, where the prediction looks, and whether ICL needs them.

Three sections, each one engine call and one view: the head scores (`score_heads`), the current
prompt's attention (`prompt_attention`, behind the long-prompt gate) and the ablation
(`ablation_experiment`, with Stop). The views are `components.attention_views` and
`components.ablation_views`.
"""

from __future__ import annotations

import streamlit as st

from components import state
from components.ablation_views import ABL, render_ablation, render_ablation_intro, run_ablation
from components.attention_views import (
    SCORE_NAMES,
    prompt_gate_open,
    render_demo_attention,
    render_head_scores,
    render_pattern_viewer,
    render_prompt_surprisal,
)
from components.heatmaps import score_titles
from components.i18n import t, t_error
from components.layout import page_setup
from components.prompt_state import current_prompt_snapshot, inputs_from_snapshot
from engine.core.errors import USER_ERRORS
from engine.evaluation.run import EvalConfig, label_words_from
from engine.experiments.ablation import AblationConfig
from engine.interp.ablation import ABLATION_MODES, top_vs_random
from engine.interp.heads import HeadScores, ProbeConfig, score_heads
from engine.interp.prompt_attention import PromptAttention, prompt_attention
from engine.model.hf_runner import AttentionResult, HFRunner, SequenceLogprobs
from engine.prompting.prompts import Prompt, PromptFormat, build_prompt

MAX_PROMPT_TOKENS = 1024  # the pattern viewer keeps [layer, head, q, k] in memory
# The ablation's defaults (issue 22): top-10 induction heads against 10 random ones, zero ablation,
# k = 4, 40 queries. Measured on SmolLM2-135M / SST-2 / seed 0 (CPU): intact 0.575; top-10 induction
# 0.775 (1 query lost, 9 gained, McNemar exact p = 0.022); 10 random 0.575 (4 lost, 4 gained, p = 1).
# With 5 heads the top-5 change (-0.125, p = 0.18) was within noise; k = 8 doubles the run time.
DEFAULT_ABL_HEADS, DEFAULT_ABL_K, DEFAULT_ABL_QUERIES = 10, 4, 40


@st.cache_data(show_spinner=False, max_entries=8)
def _head_scores(model_name: str, seed: int, _runner: HFRunner) -> HeadScores:
    return score_heads(_runner, config=ProbeConfig(seed=seed))


@st.cache_resource(show_spinner=False, max_entries=2)
def _prompt_attention(
    model_name: str, text: str, segments: str, _runner: HFRunner, _prompt: Prompt
) -> tuple[AttentionResult, PromptAttention]:
    return prompt_attention(_runner, _prompt)


@st.cache_data(show_spinner=False, max_entries=8)
def _surprisal(model_name: str, text: str, _runner: HFRunner) -> SequenceLogprobs:
    return _runner.sequence_logprobs(text)


page_setup(t("Attention"), "pages/attention.py")
st.caption(
    t(
        "Induction heads (Olsson et al. 2022) attend from a token to whatever followed its earlier "
        "occurrence and copy it; they are thought to carry much of in-context learning. Find them, see "
        "what they do on your prompt, and knock them out."
    )
)
maybe_runner = state.get_runner()
if maybe_runner is None:
    st.stop()
runner: HFRunner = maybe_runner
seed = int(st.session_state.get(state.SEED, 0))
model_name = state.model_key(runner)  # cache key: the loaded weights, device and dtype

# ------------------------------------------------------------------------------- head scores
st.header(t("Head scores"))
titles = score_titles()  # translated now: format functions may run outside the script
try:
    with st.spinner(t("Scoring every head on seeded random repeated sequences...")):
        scores = _head_scores(model_name, seed, runner)
except USER_ERRORS as exc:
    st.error(t_error(str(exc)))
    st.stop()
render_head_scores(scores, seed)

# ------------------------------------------------------------------------------- current prompt
st.header(t("On the current prompt"))
prompt: Prompt | None = None
snap = current_prompt_snapshot()
try:
    fmt, demos, query, words = inputs_from_snapshot(snap)
    prompt = build_prompt(
        fmt,
        demos,
        query,
        words,
        count_tokens=lambda s: len(runner.encode(s)),
        max_tokens=min(runner.info.n_ctx, MAX_PROMPT_TOKENS),
    )
except USER_ERRORS as exc:
    st.error(
        t("The current prompt cannot be built: {error} Fix it in the Prompt Lab.", error=t_error(str(exc)))
    )

if prompt is not None:
    if prompt.n_dropped:
        st.warning(
            t(
                "{n} demonstration(s) were dropped from the far end to fit {max_tokens} tokens.",
                n=prompt.n_dropped,
                max_tokens=MAX_PROMPT_TOKENS,
            )
        )
    if prompt_gate_open(runner, model_name, prompt):
        with st.spinner(t("Running the prompt with attention patterns...")):
            att, pa = _prompt_attention(model_name, prompt.text, repr(prompt.segments), runner, prompt)
        st.caption(
            t(
                "{n_tokens} tokens before the label (BOS counted where the tokenizer adds one), "
                "{n_demos} demonstrations; the last token is where the label is predicted.",
                n_tokens=len(att.tokens),
                n_demos=len(prompt.demos),
            )
        )
        render_pattern_viewer(att, scores)
        render_demo_attention(pa, scores.n_layers)
        render_prompt_surprisal(_surprisal(model_name, pa.text, runner), prompt, pa.n_demos)

# ------------------------------------------------------------------------------- ablation
st.header(t("Ablation: does ICL need these heads?"))
render_ablation_intro()
b1, b2, b3, b4, b5 = st.columns(5)
with b1:
    by = st.selectbox(t("Rank heads by"), SCORE_NAMES, format_func=titles.__getitem__, key="att_abl_by")
with b2:
    n_heads = int(st.number_input(t("Heads to ablate"), 1, 64, DEFAULT_ABL_HEADS, key="att_abl_n"))
with b3:
    mode = st.selectbox(
        t("Mode"), list(ABLATION_MODES), key="att_abl_mode", help=t("mean: the head's average output")
    )
with b4:
    k = int(st.number_input(t("k (demonstrations)"), 0, 32, DEFAULT_ABL_K, key="att_abl_k"))
with b5:
    n_queries = int(st.number_input(t("Test queries"), 2, 1000, DEFAULT_ABL_QUERIES, key="att_abl_queries"))
if st.button(t("Run the ablation"), type="primary", key="att_abl_run"):
    st.session_state["att_abl_request"] = (by, n_heads, mode, k, n_queries)
    ABL.clear()

request = st.session_state.get("att_abl_request")
if request is not None:
    by_r, n_r, mode_r, k_r, nq_r = request
    try:
        ds = state.get_dataset()
        split = state.get_split()
        fmt_a = PromptFormat(snap["template"], snap["instruction"], snap["separator"])
        cfg = EvalConfig(
            fmt=fmt_a, label_words=label_words_from(ds.label_names, snap["label_words"]), k=k_r, seed=seed
        )
        top, control = top_vs_random(scores.scores[by_r], n_r, score_name=by_r, seed=seed)
        abl = AblationConfig((top, control), mode_r)
        queries = tuple(split.test[:nq_r])
        key = (model_name, ds.fingerprint, seed, len(split.pool), nq_r)
        result = run_ablation(key, cfg, abl, runner, tuple(split.pool), queries)
    except USER_ERRORS as exc:
        st.error(t_error(str(exc)))
    else:
        render_ablation(result, dataset=ds.title, k=k_r, mode=mode_r, by=by_r)
