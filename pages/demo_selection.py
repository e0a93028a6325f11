"""Demo Selection: which demonstrations a retriever picks, in which order, and what it does to accuracy."""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from components import demo_views as dv
from components import prompt_editor as pe
from components import state
from components.cache import retrieval as cache_retrieval
from components.demo_views import POOL_SIZES
from components.i18n import t, t_error
from components.layout import page_setup
from engine.core.errors import USER_ERRORS
from engine.data.datasets import Example
from engine.evaluation.run import EvalConfig, label_words_from
from engine.experiments.selection import StrategyRun, compare_strategies
from engine.model.hf_runner import HFRunner
from engine.retrieval.demo_index import DemoIndex, pca_map, pool_fingerprint
from engine.retrieval.retrievers import (
    NEEDS_INDEX,
    NEEDS_MODEL,
    OPTIONS,
    ORDERINGS,
    RETRIEVERS,
)

N_TEST = 200  # test queries held out of the pool (the comparison uses the first N of them)


def _compare(
    key: tuple[Any, ...],
    strategies: tuple[tuple[str, str], ...],
    cfg: EvalConfig,
    pool: tuple[Example, ...],
    queries: tuple[Example, ...],
    index: DemoIndex | None,
    runner: HFRunner,
    progress: Any,
) -> list[StrategyRun]:
    """The strategy comparison, kept per session (see `state.remembered`: it updates a progress bar)."""
    return state.remembered(
        "ds_compare",
        (key, strategies, cfg),
        lambda: compare_strategies(runner, pool, queries, cfg, strategies, index=index, progress=progress),
    )


def _option_widgets(names: set[str]) -> dict[str, float]:
    """Sliders for the options that the chosen strategies read."""
    used = {n: s for n, s in OPTIONS.items() if set(s.used_by) & names}
    out: dict[str, float] = {}
    if not used:
        return out
    with st.expander(t("Strategy options"), expanded="mmr" in names):
        cols = st.columns(min(len(used), 3))
        for i, (name, spec) in enumerate(used.items()):
            with cols[i % len(cols)]:
                if spec.integer:
                    hi = int(min(spec.high, 10_000))
                    state.sticky(f"ds_opt_{name}", int(spec.default))
                    out[name] = int(
                        st.number_input(
                            name,
                            int(spec.low),
                            hi,
                            step=1,
                            key=f"ds_opt_{name}",
                            help=dv.option_help(name),
                        )
                    )
                else:
                    state.sticky(f"ds_opt_{name}", float(spec.default))
                    out[name] = float(
                        st.slider(
                            name,
                            float(spec.low),
                            float(min(spec.high, 5.0)),
                            key=f"ds_opt_{name}",
                            help=dv.option_help(name),
                        )
                    )
    return out


page_setup(t("Demo Selection"))
ds = state.get_dataset()
seed0 = int(st.session_state.get(state.SEED, 0))
try:
    split = state.get_split(min(N_TEST, max(len(ds.examples) // 5, 1)))
except USER_ERRORS as exc:
    st.error(t_error(str(exc)))
    st.stop()
pe.ensure_defaults(ds, split, seed0)
st.caption(
    t(
        "Which demonstrations go into the prompt, and in which order, moves in-context accuracy by tens of "
        "points. Pick a retriever (which examples) and an ordering (where they sit: the last one is next to "
        "the query)."
    )
)
retriever_titles = dv.strategy_labels(list(RETRIEVERS))
ordering_titles = dv.strategy_labels(list(ORDERINGS))
pool_titles = {name: t("whole pool") if size is None else name for name, size in POOL_SIZES.items()}

seed = seed0  # the sidebar's seed: one seed for every page (the retrievers' draws, the map, the comparison)
# settings kept across page changes (state.sticky): the widgets below take their values from these keys
state.sticky_widgets(
    {
        "ds_retrieval": "topk",
        "ds_ordering": next(iter(ORDERINGS)),
        "ds_k": 4,
        "ds_pool_size": list(POOL_SIZES)[1],
        "ds_map_points": 1500,
        "ds_cmp_retrievers": ["random", "topk", "mmr"],
        "ds_cmp_orderings": ["as_retrieved"],
    }
)
c1, c2, c3, c4 = st.columns([2, 2, 1, 1.3])
with c1:
    retrieval = st.selectbox(
        t("Retriever"),
        list(RETRIEVERS),
        format_func=retriever_titles.__getitem__,
        key="ds_retrieval",
        help="\n".join(f"- **{n}**: {dv.description(n)}" for n in RETRIEVERS),
    )
with c2:
    ordering = st.selectbox(
        t("Ordering"),
        list(ORDERINGS),
        format_func=ordering_titles.__getitem__,
        key="ds_ordering",
        help="\n".join(f"- **{n}**: {dv.description(n)}" for n in ORDERINGS),
    )
with c3:
    k = int(st.number_input("k", 0, 32, key="ds_k", help=t("number of demonstrations")))
with c4:
    pool_choice = st.selectbox(
        t("Pool size"),
        list(POOL_SIZES),
        format_func=pool_titles.__getitem__,
        key="ds_pool_size",
        help=t(
            "A seeded sample of the demonstration pool. The sentence-embedding index of a pool is built once "
            "(minutes for the whole pool of a large data set on a CPU), then loads in seconds."
        ),
    )
st.caption(f"**{retrieval}**: {dv.description(retrieval)}  ·  **{ordering}**: {dv.description(ordering)}")
options = _option_widgets({retrieval, ordering})

cap = POOL_SIZES[pool_choice]
pool = tuple(split.pool if cap is None else split.pool[:cap])
labels = list(ds.label_names)
pool_key = pool_fingerprint([f"{e.label}\t{e.text}" for e in pool], "pool")  # texts and labels
words = dict(st.session_state.get(pe.LABEL_WORDS, ds.label_word_map()))
try:
    fmt = pe.current_format()
except USER_ERRORS as exc:
    st.error(
        t("The shared prompt format is invalid (fix it in the Prompt Lab): {error}", error=t_error(str(exc)))
    )
    st.stop()

tab_one, tab_cmp = st.tabs([t("One query"), t("Compare strategies on the test set")])

with tab_one:
    picks = list(range(min(len(split.test), 50)))
    pick_titles: dict[int | None, str] = {None: t("(type your own)")}
    pick_titles.update({i: f"[{split.test[i].label}] {split.test[i].text[:60]}" for i in picks})
    q1, q2 = st.columns([3, 2])
    with q2:
        state.sticky_choice("ds_query_pick", [None, *picks], None)
        pick = st.selectbox(
            t("Or take a test query"),
            [None, *picks],
            format_func=pick_titles.__getitem__,
            key="ds_query_pick",
        )
        if pick is not None and st.session_state.get("ds_last_pick") != pick:
            st.session_state["ds_query"] = split.test[pick].text
        st.session_state["ds_last_pick"] = pick
    with q1:
        state.sticky("ds_query", split.test[0].text if split.test else "")
        query = st.text_area(t("Query"), key="ds_query", height=90)
    run = st.button(t("Select demonstrations"), type="primary", key="ds_run")
    if run:
        st.session_state["ds_request"] = True
    if not st.session_state.get("ds_request"):
        st.info(t("Choose a strategy and press **Select demonstrations**."))
    else:
        try:
            index = dv.load_index([e.text for e in pool], None) if pool else None
            runner = state.get_runner() if {retrieval, ordering} & NEEDS_MODEL else None
            if {retrieval, ordering} & NEEDS_MODEL and runner is None:
                st.stop()
            with st.spinner(t("Selecting with {strategy}...", strategy=f"{retrieval} + {ordering}")):
                sel = cache_retrieval.selection(
                    (pool_key, state.model_key(runner) if runner else ""),
                    query,
                    k,
                    retrieval,
                    ordering,
                    seed,
                    tuple(sorted(options.items())),
                    fmt,
                    tuple(words.items()),
                    pool,
                    index,
                    runner,
                )
        except USER_ERRORS as exc:
            st.error(t_error(str(exc)))
        else:
            dv.render_selection(sel, labels)
            chosen = [d.pool_index for d in sel.demos]
            if sel.demos and st.button(t("Use these demonstrations in the Prompt Lab"), key="ds_to_lab"):
                # through the prompt's owner: the Prompt Lab's Query box re-initialises from it
                pe.set_prompt(demos=[{"text": d.text, "label": d.label} for d in sel.demos], query=query)
                st.success(t("Copied: the Prompt Lab now has these demonstrations and this query."))
            if index is not None:
                st.markdown(
                    t("**Map of the pool** (PCA of the MiniLM embeddings; numbers = prompt positions)")
                )
                n_points = int(st.slider(t("Pool points drawn"), 200, 5000, step=100, key="ds_map_points"))
                proj = pca_map(
                    index,
                    index.embed_query(query)[None, :],
                    must=chosen,
                    max_points=n_points,
                    rng=np.random.default_rng(seed),
                )
                st.plotly_chart(dv.map_figure(proj, pool, labels, chosen, query), key="ds_map")

with tab_cmp:
    st.caption(
        t(
            "Evaluates every retriever x ordering chosen below on the same test queries, with the shared "
            "prompt of the Prompt Lab and direct label scoring (per-query demonstrations, seeded)."
        )
    )
    m1, m2, m3 = st.columns([2, 2, 1])
    with m1:
        cmp_retrievers = st.multiselect(
            t("Retrievers"),
            list(RETRIEVERS),
            format_func=retriever_titles.__getitem__,
            key="ds_cmp_retrievers",
        )
    with m2:
        cmp_orderings = st.multiselect(
            t("Orderings"),
            list(ORDERINGS),
            format_func=ordering_titles.__getitem__,
            key="ds_cmp_orderings",
        )
    with m3:
        state.sticky_number("ds_cmp_n", 1, len(split.test), min(20, len(split.test)))
        n_test = int(st.number_input(t("Test queries"), 1, len(split.test), key="ds_cmp_n"))
    strategies = tuple((r, o) for r in cmp_retrievers for o in cmp_orderings)
    heavy = [s for s in strategies if set(s) & NEEDS_MODEL]
    if heavy:
        st.warning(
            t(
                "{n} strategy(ies) query the model while selecting (mdl, global_e, local_e): "
                "expect minutes per strategy on a CPU.",
                n=len(heavy),
            )
        )
    if st.button(
        t("Compare {n} strategies", n=len(strategies)),
        type="primary",
        key="ds_cmp_run",
        disabled=not strategies,
    ):
        st.session_state["ds_cmp_request"] = True
    if st.session_state.get("ds_cmp_request") and strategies:
        runner = state.get_runner()
        if runner is None:
            st.stop()
        try:
            cfg = EvalConfig(
                fmt=fmt,
                label_words=label_words_from(labels, words),
                k=k,
                seed=seed,
                options=tuple(sorted(options.items())),
            )
            needs_index = any(set(s) & NEEDS_INDEX for s in strategies)
            index = dv.load_index([e.text for e in pool], None) if pool else None
            bar = st.progress(0.0, text=t("Evaluating..."))
            runs = _compare(
                (pool_key, state.model_key(runner), tuple(e.text for e in split.test[:n_test]), needs_index),
                strategies,
                cfg,
                pool,
                tuple(split.test[:n_test]),
                index,
                runner,
                lambda f, m: bar.progress(min(max(f, 0.0), 1.0), text=dv.progress_text(m)),
            )
            bar.empty()
        except USER_ERRORS as exc:
            st.error(t_error(str(exc)))
        else:
            dv.render_comparison(runs, labels)
