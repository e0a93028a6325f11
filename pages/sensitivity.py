"""Sensitivity lab: how fragile is this prompt? Order, selection, k-curve, labels, label words, format."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components import prompt_editor as pe
from components import state
from components.i18n import t, t_error
from components.layout import page_setup
from components.run_control import Clock, RunControl, eta_text
from components.sensitivity_form import sensitivity_form
from components.sensitivity_views import render_result, work_estimate
from components.tour import SENSITIVITY_AUTORUN
from engine.core.errors import USER_ERRORS
from engine.experiments.sensitivity import (
    SensitivityConfig,
    SensitivityResult,
    count_evaluations,
    max_evaluations,
    run_experiment,
)
from engine.model.protocol import ModelRunner

RESULTS = "sens_result"  # the session's last full result (`state.remember`)
STOP = RunControl("sens")  # the Stop button, its flag and the partial result of a stopped run


def _run(
    key: tuple[Any, ...],
    runner: ModelRunner,
    cfg: SensitivityConfig,
    pool: Any,
    queries: Any,
) -> SensitivityResult:
    """The experiment with a progress bar (evaluations done, time left) and a Stop button.

    Kept per session, not in `st.cache_data` (see `state.remembered`: it updates a progress bar).
    The partial result is kept after every evaluation: a click on Stop interrupts this script,
    and the rerun shows what was kept (see `components.run_control`).
    """
    bar = st.progress(0.0, text=t("Starting..."))
    stop_slot = STOP.stop_button(help=t("Ends the run after the current evaluation and keeps what is done."))
    clock = Clock()
    unit = t("evaluations")
    total = count_evaluations(runner, pool, queries, cfg)
    count = [eta_text(0, total, 0.0, unit)]

    def progress(frac: float, msg: str) -> None:
        bar.progress(min(max(frac, 0.0), 1.0), text=f"{count[0]} · {msg}")

    def on_chunk(partial: SensitivityResult) -> None:
        STOP.keep_partial(key, partial)
        count[0] = eta_text(partial.n_evaluations, partial.n_total, clock.elapsed(), unit)

    try:
        result = run_experiment(
            runner, pool, queries, cfg, progress=progress, should_stop=STOP.should_stop, on_chunk=on_chunk
        )
    except USER_ERRORS:
        bar.empty()
        stop_slot.empty()
        raise
    bar.empty()
    stop_slot.empty()
    if result.partial:
        STOP.keep_partial(key, result)
        STOP.request_stop()  # later reruns show it until Run is pressed
    else:
        state.remember(RESULTS, key, result)
        STOP.clear()
    return result


def _result(
    key: tuple[Any, ...],
    runner: ModelRunner,
    cfg: SensitivityConfig,
    pool: Any,
    queries: Any,
) -> SensitivityResult:
    """The remembered result for `key`; after Stop the partial one (never a new run); else a run."""
    found, value = state.recall(RESULTS, key)
    if found:
        return value  # type: ignore[no-any-return]
    if STOP.stopped():
        partial = STOP.partial_for(key)
        if partial is None:
            st.warning(
                t("Stopped before the first evaluation was done: press **Run the experiment** to run again.")
            )
            st.stop()
        return partial  # type: ignore[no-any-return]
    return _run(key, runner, cfg, pool, queries)


page_setup(t("Sensitivity"), "pages/sensitivity.py")
ds = state.get_dataset()
seed = int(st.session_state.get(state.SEED, 0))
pe.ensure_defaults(ds, state.get_split(), seed)
st.caption(
    t(
        "Model **{model}** · dataset **{dataset}** · the prompt (instruction, template, label words) comes "
        "from the Prompt Lab. How much does accuracy move when things that should not matter change?",
        model=st.session_state[state.MODEL],
        dataset=ds.title,
    )
)

cfg, n_test = sensitivity_form(ds, seed)
if cfg is not None:
    st.caption(work_estimate(max_evaluations(cfg), n_test, len(ds.label_names)))
run = st.button(t("Run the experiment"), type="primary", key="sens_run", disabled=cfg is None)
# the guided tour's order step arms this flag: it lands here with its experiment run, no click needed
autorun = bool(st.session_state.pop(SENSITIVITY_AUTORUN, False))
if (run or autorun) and cfg is not None:
    st.session_state["sens_last_request"] = (cfg, n_test)
    STOP.clear()

request = st.session_state.get("sens_last_request")
if request is None:
    st.info(t("Pick an experiment and its size, then press **Run the experiment**."))
    st.stop()
cfg_req, n_test_req = request
if (cfg_req, n_test_req) != (cfg, n_test):
    st.caption(t("The settings changed since the last run: press **Run the experiment** to update."))

runner = state.get_runner()
if runner is None:
    st.stop()
try:
    split = state.get_split(n_test_req)
except USER_ERRORS as exc:
    st.error(t_error(str(exc)))
    st.stop()
data_key = ds.fingerprint  # by content, never by the upload's name
try:
    result = _result(
        (state.model_key(runner), data_key, seed, n_test_req, repr(cfg_req)),
        runner,
        cfg_req,
        split.pool,
        split.test,
    )
except USER_ERRORS as exc:
    st.error(t_error(str(exc)))
    st.stop()
if result.partial:
    st.warning(
        t(
            "Stopped after {done} of {total} evaluations: partial result. The summary, chart and table rest "
            "on the evaluations done; press **Run the experiment** to run them all.",
            done=result.n_evaluations,
            total=result.n_total,
        )
    )
render_result(result)
