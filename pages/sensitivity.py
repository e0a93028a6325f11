"""Sensitivity lab: how fragile is this prompt? Order, selection, k-curve, labels, label words, format."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components import prompt_editor as pe
from components import state
from components.i18n import t, t_error
from components.layout import page_setup
from components.sensitivity_views import (
    experiment_descriptions,
    experiment_titles,
    render_result,
    work_estimate,
)
from components.tour import SENSITIVITY_AUTORUN
from engine.errors import USER_ERRORS, ConfigError
from engine.evaluation import label_words_from
from engine.runner import HFRunner
from engine.scoring import CALIBRATIONS, SCORERS, ScoringConfig
from engine.sensitivity import (
    DEFAULT_KS,
    EXPERIMENTS,
    SensitivityConfig,
    SensitivityResult,
    max_evaluations,
    run_experiment,
)

TEMPLATE_SPLIT = "---"


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


def _run(
    key: tuple[Any, ...],
    runner: HFRunner,
    cfg: SensitivityConfig,
    pool: Any,
    queries: Any,
    progress: Any,
) -> SensitivityResult:
    """The experiment, kept per session (see `state.remembered`: it updates a progress bar)."""
    return state.remembered(
        "sens_result", key, lambda: run_experiment(runner, pool, queries, cfg, progress=progress)
    )


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
            value=10 if experiment in ("order", "selection") else (3 if experiment == "kcurve" else 1),
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
bar = st.progress(0.0, text=t("Starting..."))


def _progress(frac: float, msg: str) -> None:
    bar.progress(min(max(frac, 0.0), 1.0), text=msg)


data_key = ds.fingerprint  # by content, never by the upload's name
try:
    result = _run(
        (state.model_key(runner), data_key, seed, n_test_req, repr(cfg_req)),
        runner,
        cfg_req,
        split.pool,
        split.test,
        _progress,
    )
except USER_ERRORS as exc:
    bar.empty()
    st.error(t_error(str(exc)))
    st.stop()
bar.empty()
render_result(result)
