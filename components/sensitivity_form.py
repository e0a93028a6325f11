"""The Sensitivity page's settings: the widgets that choose an experiment and its size, as one frozen config.

`sensitivity_form` draws them (widget keys ``sens_*``, as saved by `components.settings_schema`)
and returns the `SensitivityConfig` they describe, or None with the error shown when they are
invalid; the page then runs it.
"""

from __future__ import annotations

import streamlit as st

from components import prompt_editor as pe
from components.i18n import t, t_error
from components.sensitivity_views import experiment_descriptions, experiment_titles
from engine.core.errors import USER_ERRORS, ConfigError
from engine.data.datasets import Dataset
from engine.evaluation.run import label_words_from
from engine.experiments.sensitivity import DEFAULT_KS, EXPERIMENTS, SensitivityConfig
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


def word_sets(text: str) -> tuple[tuple[str, ...], ...]:
    """One word set per non-empty line, words separated by commas (label order)."""
    return tuple(tuple(w.strip() for w in line.split(",")) for line in text.splitlines() if line.strip())


def templates_of(text: str) -> tuple[str, ...]:
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


def sensitivity_form(ds: Dataset, seed: int) -> tuple[SensitivityConfig | None, int]:
    """Draws the experiment's widgets; (the config they describe or None when invalid, test queries)."""
    titles = experiment_titles()  # translated now: format functions may run outside the script
    experiment = st.selectbox(
        t("Experiment"), list(EXPERIMENTS), format_func=titles.__getitem__, key="sens_experiment"
    )
    st.caption(experiment_descriptions()[experiment])
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
            st.number_input(
                t("Test queries"), min_value=1, max_value=2000, value=50, step=10, key="sens_n_test"
            )
        )

    d1, d2, d3 = st.columns([1, 1, 2])
    with d1:
        if experiment == "kcurve":
            ks = st.multiselect(t("k values"), list(DEFAULT_KS), default=list(DEFAULT_KS), key="sens_ks")
            k = 0
        else:
            ks = list(DEFAULT_KS)
            k = int(
                st.number_input(
                    t("k (demonstrations)"), min_value=0, max_value=64, value=4, step=1, key="sens_k"
                )
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
            alt_words = word_sets(alt_text)
            unrelated_text = st.text_input(
                t("Unrelated words (empty: foo, bar, ...)"), key="sens_unrelated", placeholder="foo, bar"
            )
            unrelated = word_sets(unrelated_text)[0] if unrelated_text.strip() else None
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
            templates = templates_of(tmpl_text)

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
    return cfg, n_test
