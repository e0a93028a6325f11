"""Response Ranking: score candidate responses by log P(R | I) and compare with the user's marks."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import generation_views as gv
from components import state
from components.cache import scoring as cache_scoring
from components.i18n import t, t_error
from components.layout import page_setup
from engine.core.errors import USER_ERRORS
from engine.experiments.ranking import (
    DEFAULT_RANK_TEMPLATE,
    SCORE_KINDS,
    Candidate,
    RankConfig,
    RankingResult,
    ScoreKind,
)

DEFAULT_CANDIDATES = pd.DataFrame(
    {
        "response": [
            "The capital of France is Paris.",
            "Paris.",
            "The capital of France is Lyon.",
            "I don't know.",
        ],
        "good": [True, True, False, False],
    }
)
DEFAULT_DEMOS = pd.DataFrame(
    {"instruction": pd.Series([], dtype="string"), "response": pd.Series([], dtype="string")}
)


page_setup(t("Response Ranking"), "pages/ranking.py")
runner = state.get_runner()
if runner is None:
    st.stop()

has_chat = runner.info.has_chat_template
# settings kept across page changes (state.sticky): the widgets below take their values from these keys
state.sticky_widgets(
    {
        "rk_instruction": "What is the capital of France?",
        "rk_chat": has_chat,
        "rk_system": "",
        "rk_template": DEFAULT_RANK_TEMPLATE,
        "rk_score_kind": SCORE_KINDS[0],
        "rk_tau": 1.0,
    }
)
left, right = st.columns([3, 2])
with left:
    st.text_area(t("Instruction I"), key="rk_instruction", height=80)
    st.markdown(t("**Candidate responses** — tick *good* for the ones you prefer; add or delete rows."))
    cands = st.data_editor(
        state.sticky_table("rk_candidates", DEFAULT_CANDIDATES),
        key="rk_candidates",
        num_rows="dynamic",
        width="stretch",
        hide_index=True,
        column_config={
            "response": st.column_config.TextColumn(t("response"), width="large"),
            "good": st.column_config.CheckboxColumn(t("good"), default=False, width="small"),
        },
    )
    state.keep_table("rk_candidates", cands)
with right:
    use_chat = st.checkbox(
        t("Use the model's chat template"),
        disabled=not has_chat,
        key="rk_chat",
        help=t("The instruction becomes a user turn and each response the assistant's reply.")
        if has_chat
        else t("This model has no chat template; the plain layout is used."),
    )
    if use_chat and has_chat:
        system = st.text_input(t("System message (empty = the template's default)"), key="rk_system")
        template = DEFAULT_RANK_TEMPLATE
    else:
        system = ""
        template = st.text_input(t("Plain layout ({instruction} then {response})"), key="rk_template")
    kind_titles = {"sum": t("log P(R | I) (sum)"), "mean": t("mean log-prob per token")}
    kind_choice = st.radio(
        t("Score s(I, R)"),
        SCORE_KINDS,
        format_func=kind_titles.__getitem__,
        horizontal=True,
        key="rk_score_kind",
        help=t("The sum favours short responses; the mean does not."),
    )
    kind: ScoreKind = kind_choice or "sum"
    tau = st.slider(t("Temperature τ of the contrastive loss"), 0.05, 10.0, step=0.05, key="rk_tau")
    with st.expander(t("Few-shot examples before the instruction (optional)")):
        demos = st.data_editor(
            state.sticky_table("rk_demos", DEFAULT_DEMOS),
            key="rk_demos",
            num_rows="dynamic",
            width="stretch",
            hide_index=True,
        )
        state.keep_table("rk_demos", demos)

run = st.button(t("Score the responses"), type="primary", key="rk_run")
if run:
    candidates = tuple(
        Candidate(str(r["response"]), bool(r["good"]) if not pd.isna(r["good"]) else False)
        for r in cands.to_dict("records")
        if not pd.isna(r["response"]) and str(r["response"]).strip()
    )
    pairs = tuple(
        (
            "" if pd.isna(r["instruction"]) else str(r["instruction"]),
            "" if pd.isna(r["response"]) else str(r["response"]),
        )
        for r in demos.to_dict("records")
        if not (pd.isna(r["instruction"]) and pd.isna(r["response"]))
    )
    try:
        cfg = RankConfig(
            instruction=str(st.session_state["rk_instruction"]),
            candidates=candidates,
            demos=pairs,
            use_chat_template=bool(use_chat and has_chat),
            template=template,
            system=system,
        )
        with st.spinner(t("Scoring {n} responses…", n=len(candidates))):
            st.session_state[gv.RK_RESULT] = cache_scoring.ranking(state.model_key(runner), cfg, runner)
    except USER_ERRORS as exc:
        st.error(t_error(str(exc)))
        st.session_state.pop(gv.RK_RESULT, None)

result: RankingResult | None = st.session_state.get(gv.RK_RESULT)
if result is None:
    if not run:
        st.info(
            t(
                "Write the instruction and the responses, mark the good ones, then press **Score the responses**."
            )
        )
else:
    st.subheader(t("The model's ranking"))
    gv.render_ranking(result, kind=kind, tau=float(tau), key="rk_view")
