"""Prompt Lab: edit a prompt and see what the model predicts for each label."""

from __future__ import annotations

from typing import Any, cast

import streamlit as st

from components import prompt_editor as pe
from components import state
from components.cache import scoring as cache_scoring
from components.cost_gate import CostGate, flops_per_s
from components.i18n import t, t_error
from components.layout import page_setup
from components.prompt_scores_view import render_prompt_scores
from engine.core.errors import USER_ERRORS
from engine.model.cost import CostEstimate, estimate_seconds
from engine.prompting.prompts import Demo, PromptFormat
from engine.scoring.scorers import CALIBRATIONS, SCORERS, prompt_requests

REQUEST_FOR = "pl_last_request_for"  # (dataset fingerprint, model, device) of the last request
GATE = CostGate("pl")  # a long prompt waits here until the user confirms it
LONG_PROMPT_CHARS = 4000  # shorter prompts score in seconds: no estimate is made


Request = tuple[dict[str, Any], str, str, tuple[str, str, str]]  # snapshot, scorer, calibration, data


def _make_request(request: object) -> None:
    """Makes `request` (snapshot, scorer, calibration, data) the one the page shows."""
    snap_r, scorer_r, calibration_r, data_r = cast(Request, request)
    st.session_state["pl_last_request"] = (snap_r, scorer_r, calibration_r)
    st.session_state[REQUEST_FOR] = data_r


def _estimate(snapshot: dict[str, Any], scorer: str, calibration: str) -> CostEstimate | None:
    """What scoring `snapshot` will cost, for a long prompt only (None when short, or when the
    prompt is invalid: the scoring itself then shows the error)."""
    texts = [snapshot["instruction"], snapshot["template"], snapshot["query"]]
    texts += [d["text"] for d in snapshot["demos"]]
    if sum(len(str(x)) for x in texts) < LONG_PROMPT_CHARS:
        return None
    runner = state.get_runner()
    if runner is None:
        return None
    fmt = PromptFormat(snapshot["template"], snapshot["instruction"], snapshot["separator"])
    demos = [Demo(d["text"], d["label"]) for d in snapshot["demos"]]
    try:
        reqs = prompt_requests(
            runner, fmt, demos, snapshot["query"], snapshot["label_words"], scorer, calibration
        )
    except USER_ERRORS:
        return None
    with st.spinner(t("Estimating how long this long prompt takes...")):
        speed = flops_per_s(state.model_key(runner), runner)
    return estimate_seconds(runner.info, reqs, speed)


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
    GATE.drop()
    estimate = _estimate(snap, scorer, calibration)
    if estimate is not None and estimate.ask_first:
        GATE.hold((snap, scorer, calibration, data_now), estimate)
    else:
        _make_request((snap, scorer, calibration, data_now))
pending = GATE.pending()
if pending is not None and cast(Request, pending[0])[0] != snap:
    GATE.drop()  # the prompt was edited since: that request is not the prompt any more
if GATE.render(_make_request, t("scoring this prompt")):
    st.stop()

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
        result = cache_scoring.prompt_scores(state.model_key(runner), snap_req, scorer_req, cal_req, runner)
except USER_ERRORS as exc:
    st.error(t_error(str(exc)))
    st.stop()

# each scorer shows the texts it scored and the quantity it computed (components/prompt_scores_view.py)
gold = next((e.label for e in split.test[:200] if e.text == str(snap_req["query"]).strip()), None)
render_prompt_scores(result, snap_req["label_words"], gold)  # gold of the query that was scored
