"""Sensitivity lab: how fragile is this prompt? Order, selection, k-curve, labels, label words, format."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components import prompt_editor as pe
from components import state
from components.i18n import t, t_error
from components.layout import page_setup
from components.run_control import Clock, RunControl, eta_text
from components.sensitivity_views import (
    experiment_descriptions,
    experiment_titles,
    render_result,
    work_estimate,
)
from components.tour import SENSITIVITY_AUTORUN
from engine.core.errors import USER_ERRORS, ConfigError
from engine.evaluation.run import label_words_from
from engine.experiments.sensitivity import (
    DEFAULT_KS,
    EXPERIMENTS,
    SensitivityConfig,
    SensitivityResult,
    count_evaluations,
    max_evaluations,
    run_experiment,
)
from engine.model.hf_runner import HFRunner
from engine.scoring.scorers import CALIBRATIONS, SCORERS, ScoringConfig

TEMPLATE_SPLIT = "---"
# The size input's default per experiment. Settings compared on the same draw (labels, label words,
# format) average 2 draws, not 1: on SmolLM2-135M (SST-2, k = 4, 100 queries, seed 0) one draw's
# gold-vs-other-labels difference swings from -22 to +21 points between draws (std over draws
# 7-11 points), so one draw shows "effects" that the next draw reverses; 2 draws of 4 settings
# stay around 8 evaluations (about 1-2 min on a 2-core CPU at 50 queries). The summaries say when
# a difference is within the noise of the test queries.
DEFAULT_N = {"order": 10, "selection": 10, "kcurve": 3, "labels": 2, "label_words": 2, "format": 2}


def _n_labels() -> dict[str, str]:
    """The label of the size input per experiment, in the UI language."""
    return {
        "order": t("Orders (N)"),
        "selection": t("Draws (N)"),
        "kcurve": t("Seeds per k (N)"),
        "labels": t("Seeds (N draws)"),
        "label_words": t("Seeds (N draws)"),
        "format": t("Seeds (N draws)"),
    }


RESULTS = "sens_result"  # the session's last full result (`state.remember`)
STOP = RunControl("sens")  # the Stop button, its flag and the partial result of a stopped run


def _run(
    key: tuple[Any, ...],
    runner: HFRunner,
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
    runner: HFRunner,
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


def _word_sets(text: str) -> tuple[tuple[str, ...], ...]:
    """One word set per non-empty line, words separated by commas (label order)."""
    return tuple(tuple(w.strip() for w in line.split(",")) for line in text.splitlines() if line.strip())


def _templates(text: str) -> tuple[str, ...]:
    """Templates separated by a line holding only ``---``."""
    parts: list[str] = []
    cur: list[str] = []
    for line in text.splitlines():
        if line.strip() == TEMPLATE_SPLIT:
            parts.append("\n".join(cur))
            cur = []
        else:
            cur.append(line)
    parts.append("\n".join(cur))
    return tuple(p.strip("\n") for p in parts if p.strip())


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

names = list(EXPERIMENTS)
# translated now: format functions may run outside the script
titles = {n: experiment_titles().get(n, EXPERIMENTS[n].title) for n in names}
experiment = st.selectbox(t("Experiment"), names, format_func=titles.__getitem__, key="sens_experiment")
st.caption(experiment_descriptions().get(experiment, EXPERIMENTS[experiment].description))
draw_titles = {"label_balanced": t("label_balanced"), "random": t("random")}

c1, c2, c3, c4 = st.columns(4)
with c1:
    if experiment == "kcurve":
        scorers = st.multiselect(
            t("Scoring functions"), list(SCORERS), default=["direct"], key="sens_scorers"
        )
        scorer = scorers[0] if scorers else "direct"
    else:
        scorer = st.selectbox(t("Scoring"), list(SCORERS), key="sens_scoring")
        scorers = []
with c2:
    calibration = st.selectbox(t("Calibration"), list(CALIBRATIONS), key="sens_calibration")
with c3:
    draw = st.selectbox(
        t("Draw demonstrations"),
        ["label_balanced", "random"],
        format_func=draw_titles.__getitem__,
        key="sens_draw",
        help=t("label_balanced: labels as equal as possible; random: uniform draws from the pool."),
    )
with c4:
    n_test = int(
        st.number_input(t("Test queries"), min_value=1, max_value=2000, value=50, step=10, key="sens_n_test")
    )

d1, d2, d3 = st.columns([1, 1, 2])
with d1:
    if experiment == "kcurve":
        ks = st.multiselect(t("k values"), list(DEFAULT_KS), default=list(DEFAULT_KS), key="sens_ks")
        k = 0
    else:
        ks = list(DEFAULT_KS)
        k = int(
            st.number_input(t("k (demonstrations)"), min_value=0, max_value=64, value=4, step=1, key="sens_k")
        )
with d2:
    n = int(
        st.number_input(
            _n_labels()[experiment],
            min_value=1,
            max_value=200,
            value=DEFAULT_N[experiment],
            step=1,
            key=f"sens_n_{experiment}",
        )
    )
alt_words: tuple[tuple[str, ...], ...] = ()
unrelated: tuple[str, ...] | None = None
templates: tuple[str, ...] = ()
with d3:
    if experiment == "label_words":
        alt_text = st.text_area(
            t(
                "Your word sets: one per line, words in label order ({labels}), comma-separated",
                labels=", ".join(ds.label_names),
            ),
            key="sens_alt_words",
            height=80,
        )
        alt_words = _word_sets(alt_text)
        unrelated_text = st.text_input(
            t("Unrelated words (empty: foo, bar, ...)"), key="sens_unrelated", placeholder="foo, bar"
        )
        unrelated = _word_sets(unrelated_text)[0] if unrelated_text.strip() else None
    elif experiment == "format":
        tmpl_text = st.text_area(
            t(
                "Your templates with {{text}} and {{label}}; separate templates with a line holding only {split}",
                split=TEMPLATE_SPLIT,
            ),
            value="Text: {text}\nAnswer: {label}",
            key="sens_templates",
            height=110,
        )
        templates = _templates(tmpl_text)

cfg: SensitivityConfig | None = None
try:
    if experiment == "kcurve" and not scorers:
        raise ConfigError("Pick at least one scoring function for the k-curve.")
    fmt = pe.current_format()
    words = dict(ds.label_word_map()) | {
        k_: v for k_, v in dict(st.session_state.get(pe.LABEL_WORDS, {})).items() if k_ in ds.label_names
    }
    cfg = SensitivityConfig(
        experiment=experiment,
        fmt=fmt,
        label_words=label_words_from(ds.label_names, words),
        scoring=ScoringConfig(scorer=scorer, calibration=calibration),
        k=k,
        n=n,
        seed=seed,
        draw=draw,
        scorers=tuple(scorers),
        ks=tuple(sorted(ks)),
        alt_label_words=alt_words,
        unrelated_words=unrelated,
        templates=templates,
    )
except USER_ERRORS as exc:
    st.error(t_error(str(exc)))

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
