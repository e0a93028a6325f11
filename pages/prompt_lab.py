"""Prompt Lab: edit a prompt and see what the model predicts for each label."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components import prompt_editor as pe
from components import state
from components.i18n import t, t_error
from components.layout import page_setup
from components.prompt_scores_view import render_prompt_scores
from engine.errors import USER_ERRORS
from engine.prompts import Demo, PromptFormat
from engine.runner import HFRunner
from engine.scoring import CALIBRATIONS, SCORERS, PromptScores, score_prompt


@st.cache_data(show_spinner=False, max_entries=64)
def _score(
    model_name: str,
    snapshot: dict[str, Any],
    scorer: str,
    calibration: str,
    _runner: HFRunner,
) -> PromptScores:
    fmt = PromptFormat(snapshot["template"], snapshot["instruction"], snapshot["separator"])
    demos = [Demo(d["text"], d["label"]) for d in snapshot["demos"]]
    return score_prompt(
        _runner,
        fmt,
        demos,
        snapshot["query"],
        snapshot["label_words"],
        scorer=scorer,
        calibration=calibration,
    )


REQUEST_FOR = "pl_last_request_for"  # (dataset fingerprint, model, device) of the last request

page_setup(t("Prompt Lab"), "pages/prompt_lab.py")
ds = state.get_dataset()
split = state.get_split()
seed = int(st.session_state.get(state.SEED, 0))
pe.ensure_defaults(ds, split, seed)
st.caption(
    t(
        "{pool} pool / {test} test examples · labels: {labels}",
        pool=len(split.pool),
        test=len(split.test),
        labels=", ".join(ds.label_names),
    )
)

pe.render_editor(ds, split, seed)

s1, s2, s3 = st.columns([1, 1, 2])
with s1:
    scorer = st.selectbox(
        t("Scoring"),
        list(SCORERS),
        key="pl_scorer",
        help=t(
            "direct: log P(label word | prompt), highest wins; ppl: perplexity of the prompt with each "
            "label filled in, lowest wins; channel: log P(query | label) (Min et al. 2022)."
        ),
    )
with s2:
    calibration = st.selectbox(
        t("Calibration"),
        [c for c in CALIBRATIONS if c != "batch"],
        key="pl_calibration",
        help=t("Batch calibration needs a batch of queries: use the Scoring page."),
    )
with s3:
    st.write("")
    run = st.button(t("Score the prompt"), type="primary", key="pl_run", width="stretch")

snap = pe.snapshot()
# what a result depends on beyond the prompt: the data set (by content) and the model
data_now = (
    ds.fingerprint,
    str(st.session_state.get(state.MODEL, "")),
    str(st.session_state.get(state.DEVICE, "")),
)
if run:
    st.session_state["pl_last_request"] = (snap, scorer, calibration)
    st.session_state[REQUEST_FOR] = data_now

request = st.session_state.get("pl_last_request")
if request is None:
    st.info(t("Edit the prompt, then press **Score the prompt**."))
    st.stop()

runner = state.get_runner()
if runner is None:
    st.stop()
snap_req, scorer_req, cal_req = request
if st.session_state.get(REQUEST_FOR, data_now) != data_now:  # the tour's requests are for the data now
    # never show a result against another data set's gold labels, or score it with another model
    st.info(
        t(
            "The last result was computed for another dataset or model and is out of date: press "
            "**Score the prompt** to score this prompt."
        )
    )
    st.stop()
if snap_req != snap or scorer_req != scorer or cal_req != calibration:
    st.caption(t("The prompt changed since the last scoring: press **Score the prompt** to update."))
try:
    with st.spinner(t("Scoring every label...")):
        result = _score(state.model_key(runner), snap_req, scorer_req, cal_req, runner)
except USER_ERRORS as exc:
    st.error(t_error(str(exc)))
    st.stop()

# each scorer shows the texts it scored and the quantity it computed (components/prompt_scores_view.py)
gold = next((e.label for e in split.test[:200] if e.text == str(snap_req["query"]).strip()), None)
render_prompt_scores(result, snap_req["label_words"], gold)  # gold of the query that was scored
