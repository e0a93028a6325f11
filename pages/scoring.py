"""Scoring: evaluate the prompt over a test set and compare scoring functions and calibrations."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components import prompt_editor as pe
from components import state
from components.benchmark_section import render_benchmark_section
from components.cache import scoring as cache_scoring
from components.i18n import t, t_error
from components.layout import page_setup
from components.run_control import RunControl
from components.scoring_views import (
    DEMO_MODES,
    calibration_descriptions,
    render_downloads,
    render_query_detail,
    render_query_table,
    render_summary,
    scorer_descriptions,
)
from engine.core.errors import USER_ERRORS
from engine.data.datasets import Example
from engine.evaluation.run import (
    EvalConfig,
    EvalResult,
    Variant,
    evaluate_variants,
    label_words_from,
    variants_of,
)
from engine.model.hf_runner import HFRunner
from engine.retrieval import retrievers as retrieval
from engine.scoring.scorers import CALIBRATIONS, SCORERS, ScoringConfig


def demo_mode_titles() -> dict[str, str]:
    """`DEMO_MODES` in the UI language (translated now: a widget's format function may run
    outside the script run)."""
    return {
        "per-query": t("Fresh draw per query (OpenICL / StaICC)"),
        "shared": t("One shared draw for all queries"),
        "prompt-lab": t("The Prompt Lab's demonstrations (fixed prompt)"),
    }


STOP = RunControl("sc")  # Stop button, flag, partial result; full results in the slot "sc_results"


def _results(
    key: tuple[Any, ...],
    runner: HFRunner,
    cfg: EvalConfig,
    variants: tuple[Variant, ...],
    pool: Any,
    queries: Any,
) -> dict[str, EvalResult]:
    """The remembered result for `key`; after Stop the partial one (never a new run); else the
    evaluation with a count, the time left and a Stop button (`components.run_control`)."""
    return STOP.run(
        key,
        lambda hooks: evaluate_variants(
            runner,
            pool,
            queries,
            cfg,
            variants,
            progress=hooks.progress,
            should_stop=hooks.should_stop,
            on_chunk=hooks.on_chunk,
        ),
        total=len(queries),
        done=lambda partial: next(iter(partial.values())).n_done,
        partial=lambda results: any(r.partial for r in results.values()),
        none_done=t(
            "Stopped before the first queries were scored: press **Run the evaluation** to run again."
        ),
        step_text=t("Evaluating: {msg}"),  # the engine's step message stays as it comes
    )


page_setup(t("Scoring"), "pages/scoring.py")
ds = state.get_dataset()
seed = int(st.session_state.get(state.SEED, 0))
pe.ensure_defaults(ds, state.get_split(), seed)
st.caption(
    t(
        "Evaluate the Prompt Lab's prompt (instruction, template, label words) over a test set and compare "
        "scoring functions and calibrations on the same prompts. Click a query to see each label's per-token "
        "log-probs."
    )
)
render_benchmark_section()  # StaICC's standard protocol, in its own expander (issue 14)

c1, c2, c3 = st.columns([2, 2, 1])
with c1:
    scorer_help = scorer_descriptions()
    scorers = st.multiselect(
        t("Scoring functions"),
        list(SCORERS),
        default=["direct", "ppl", "channel"],
        key="sc_scorers",
        help=" · ".join(f"{s.name}: {scorer_help.get(s.name, s.description)}" for s in SCORERS.values()),
    )
with c2:
    calibration_help = calibration_descriptions()
    calibrations = st.multiselect(
        t("Calibrations"),
        list(CALIBRATIONS),
        default=["none"],
        key="sc_calibrations",
        help=" · ".join(
            f"{c.name}: {calibration_help.get(c.name, c.description)}" for c in CALIBRATIONS.values()
        ),
    )
with c3:
    normalize_titles = {"sum": t("sum"), "mean": t("mean")}
    normalize = st.radio(
        t("Sum or mean over tokens"),
        ["sum", "mean"],
        format_func=normalize_titles.__getitem__,
        horizontal=True,
        key="sc_normalize",
        help=t("For direct and channel scores: the label's (or query's) summed or mean token log-prob."),
    )

d1, d2, d3, d4, d5 = st.columns([3, 1, 1, 2, 2])
with d1:
    mode_titles = demo_mode_titles()
    mode = st.selectbox(
        t("Demonstrations"), list(DEMO_MODES), format_func=mode_titles.__getitem__, key="sc_demos"
    )
with d2:
    k = int(
        st.number_input(
            "k",
            min_value=0,
            max_value=64,
            value=4,
            step=1,
            key="sc_k",
            disabled=mode == "prompt-lab",
            help=t("Demonstrations per prompt."),
        )
    )
with d3:
    n_test = int(
        st.number_input(t("Test queries"), min_value=1, max_value=2000, value=50, step=10, key="sc_n_test")
    )
with d4:
    retrievers = [r for r in retrieval.RETRIEVERS if r != "fixed"]
    retr = st.selectbox(
        t("Retrieval"),
        retrievers,
        index=retrievers.index("random"),
        key="sc_retrieval",
        disabled=mode == "prompt-lab",
    )
with d5:
    ordering = st.selectbox(t("Ordering"), list(retrieval.ORDERINGS), key="sc_ordering")

cfg: EvalConfig | None = None
variants: list[Variant] = []
pool_override: tuple[Example, ...] | None = None
try:
    words = dict(ds.label_word_map()) | {
        k_: v for k_, v in dict(st.session_state.get(pe.LABEL_WORDS, {})).items() if k_ in ds.label_names
    }
    if mode == "prompt-lab":
        demos = pe.current_demos()
        pool_override = tuple(Example(d.text, d.label, i) for i, d in enumerate(demos))
        cfg = EvalConfig(
            fmt=pe.current_format(),
            label_words=label_words_from(ds.label_names, words),
            k=len(demos),
            scoring=ScoringConfig(normalize=normalize),  # type: ignore[arg-type]
            demos="shared",
            retrieval="fixed",
            ordering=ordering,
            seed=seed,
            fixed=tuple(range(len(demos))),
        )
    else:
        cfg = EvalConfig(
            fmt=pe.current_format(),
            label_words=label_words_from(ds.label_names, words),
            k=k,
            scoring=ScoringConfig(normalize=normalize),  # type: ignore[arg-type]
            demos=mode,  # type: ignore[arg-type]
            retrieval=retr,
            ordering=ordering,
            seed=seed,
        )
    variants, skipped = variants_of(scorers, calibrations)
    if skipped:
        st.caption(
            t(
                "Skipped (contextual and domain calibration apply to direct scores only): {variants}",
                variants=", ".join(v.name for v in skipped),
            )
        )
    if not variants:
        st.warning(t("Pick at least one scoring function and one calibration."))
except USER_ERRORS as exc:
    st.error(t_error(str(exc)))
    cfg = None

if cfg is not None and variants:
    n_texts = n_test * len(ds.label_names) * len(variants)
    st.caption(
        t(
            "{variants} variant(s) x {queries} queries x {labels} labels = {texts} texts scored.",
            variants=len(variants),
            queries=n_test,
            labels=len(ds.label_names),
            texts=n_texts,
        )
    )
ready = cfg is not None and bool(variants)
clicked = st.button(t("Run the evaluation"), type="primary", key="sc_run", disabled=not ready)
now = (cfg, tuple(variants), n_test, pool_override) if cfg is not None and variants else None
request = state.run_request("sc_last_request", now, clicked, new=STOP.clear)
if request is None:
    st.info(t("Pick scoring functions, calibrations and demonstrations, then press **Run the evaluation**."))
    st.stop()
cfg_req, variants_req, n_test_req, pool_req = request.value
if request.changed:
    st.caption(t("The settings changed since the last run: press **Run the evaluation** to update."))

loaded = state.get_runner()
if loaded is None:
    st.stop()
runner: HFRunner = loaded
try:
    split = state.get_split(n_test_req)
except USER_ERRORS as exc:
    st.error(t_error(str(exc)))
    st.stop()
pool = pool_req if pool_req is not None else split.pool
data_key = f"{ds.fingerprint}:{pool_req!r}"  # by content, never by the upload's name
try:
    key = (state.model_key(runner), data_key, seed, n_test_req, repr(cfg_req), variants_req)
    results = _results(key, runner, cfg_req, variants_req, pool, split.test)
except USER_ERRORS as exc:
    st.error(t_error(str(exc)))
    st.stop()
first = next(iter(results.values()))
if first.partial:
    st.warning(
        t(
            "Stopped after {done} of {total} queries: partial result. The metrics are over the {done} queries "
            "done; press **Run the evaluation** to run them all.",
            done=first.n_done,
            total=first.n_total,
        )
    )

st.subheader(t("Accuracy and calibration"))
render_summary(results)
render_downloads(results)
st.subheader(t("Per query"))
st.caption(t("Click a row to see every label's score and its per-token log-probs."))
picked = render_query_table(results)
if picked is None:
    st.info(t("Select a query in the table above."))
    st.stop()
full = st.toggle(
    t("Colour every prompt token (one extra forward pass per text)"), value=False, key="sc_full_tokens"
)
render_query_detail(
    results,
    picked,
    runner.token_strings,
    full_logprobs=(lambda text: cache_scoring.token_logprobs(state.model_key(runner), text, runner))
    if full
    else None,
)
