"""The Scoring page's Benchmark section (issue 14): StaICC's standard protocol through the engine.

Widgets (data sets, prompts per data set, bootstrap resamples) -> one frozen `BenchmarkConfig`
-> one engine call (`run_benchmark`) -> one view (`components.benchmark_views`). The time the run
will take is estimated before it starts (`engine.experiments.benchmark_cost`, the Prompt Lab's
estimator: operations counted from the run's own span requests, divided by a timed forward).

Why a background job and not `st.cache_data`: a cached function that updates a progress bar
drawn outside it cannot be replayed (`state.remembered` says why), and the engine's run keeps
its partial result only in what it returns, so a Stop click, which interrupts the script, would
lose everything scored so far. The run therefore goes on a worker thread
(`engine.core.background.BackgroundJob`, as the model load does), held by `st.cache_resource`
keyed by content (`state.model_key` and the config): sessions that ask for the same run share
it, a rerun polls the same job, and Stop sets the job's own stop event, which `run_benchmark`
reads between chunks of 32 prompts; it then returns the prompts scored so far, marked stopped.
A stopped (or failed) job stays shown until **Run the benchmark** is pressed again, which starts
a new one.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import streamlit as st

from components import state
from components.benchmark_views import N_STANDARD, dataset_title, incomplete, render_benchmark
from components.cache.models import flops_per_s
from components.i18n import t, t_error
from components.run_control import duration_text, eta_text
from engine.core.background import BackgroundJob
from engine.core.errors import USER_ERRORS, ConfigError
from engine.core.progress import ProgressFn
from engine.experiments.benchmark import (
    DEFAULT_K,
    DEFAULT_RESAMPLES,
    STAICC_LOADERS,
    BenchmarkConfig,
    BenchmarkResult,
    run_benchmark,
)
from engine.experiments.benchmark_cost import DatasetCost, benchmark_estimate, dataset_cost
from engine.model.protocol import ModelRunner

PREFIX = "bm"
REQUEST = "bm_last_request"  # the config of the last Run click (`state.run_request`)
BENCHMARK_LIMITS = (16, 32, 64, 128, 256, 512, N_STANDARD)  # prompts per data set; N_STANDARD: all
DEFAULT_LIMIT = 64  # about a minute for SST-2 on an idle 2-core CPU with the default model
# the section's setting widgets and their defaults (kept across page changes, `state.sticky`)
DEFAULTS: dict[str, object] = {
    "bm_datasets": ["sst2"],
    "bm_limit": DEFAULT_LIMIT,
    "bm_resamples": DEFAULT_RESAMPLES,
}
POLL_S = 0.5


@dataclass(frozen=True, slots=True)
class BenchmarkJob:
    """A benchmark running (or done) on its own thread, with the event that stops it."""

    job: BackgroundJob[BenchmarkResult]
    stop: threading.Event
    total: int  # prompts the run scores when it is not stopped


@st.cache_resource(show_spinner=False, max_entries=4)
def benchmark_job(model_key: str, config: BenchmarkConfig, total: int, _runner: ModelRunner) -> BenchmarkJob:
    """The run of `config` on the model `model_key` names (`_runner`), started on first request."""
    stop = threading.Event()

    def work(progress: ProgressFn) -> BenchmarkResult:
        return run_benchmark(_runner, config, progress=progress, should_stop=stop.is_set)

    return BenchmarkJob(BackgroundJob(f"benchmark {','.join(config.datasets)}", work), stop, total)


@st.cache_data(show_spinner=False, max_entries=64)
def _dataset_cost(
    model_key: str, dataset: str, k: int, limit: int | None, _runner: ModelRunner
) -> DatasetCost:
    """One data set's expected cost (builds StaICC's experiment once per data set and k)."""
    return dataset_cost(_runner, dataset, k, limit)


def limit_title(n: int) -> str:
    """A prompts-per-data-set option in the UI language."""
    if n == N_STANDARD:
        return t("all 1,024 (standard)")
    return t("{n} (cut-down)", n=n)


def config_from_widgets() -> BenchmarkConfig | None:
    """The section's widgets as a config; None (with a message) when the settings are not valid."""
    state.sticky_widgets(DEFAULTS)
    c1, c2, c3 = st.columns([3, 2, 1])
    with c1:
        titles = {name: dataset_title(name) for name in STAICC_LOADERS}
        datasets = st.multiselect(
            t("Data sets"),
            list(STAICC_LOADERS),
            format_func=titles.__getitem__,
            key="bm_datasets",
            help=t("StaICC's ten classification data sets, each with its own demonstrations and test set."),
        )
    with c2:
        # titles resolved now, in this run's language: a format_func that translates later would be
        # called by Streamlit (and AppTest) outside the run, in whatever language it finds then
        limit_titles = {n: limit_title(n) for n in BENCHMARK_LIMITS}
        limit = st.selectbox(
            t("Prompts per data set"),
            list(BENCHMARK_LIMITS),
            format_func=limit_titles.__getitem__,
            key="bm_limit",
            help=t(
                "StaICC's standard protocol scores all 1,024 prompts of each data set; fewer prompts give "
                "a quicker, cut-down run with wider intervals."
            ),
        )
    with c3:
        resamples = st.number_input(
            t("Resamples"),
            min_value=100,
            max_value=10_000,
            step=100,
            key="bm_resamples",
            help=t("Bootstrap resamples for the macro-F1 and ECE intervals."),
        )
    if not datasets:
        st.info(t("Choose at least one data set."))
        return None
    try:
        return BenchmarkConfig(
            datasets=tuple(datasets),
            k=DEFAULT_K,
            limit=None if int(limit) == N_STANDARD else int(limit),
            resamples=int(resamples),
            seed=int(st.session_state.get(state.SEED, 0)),
        )
    except ConfigError as exc:
        st.info(t_error(str(exc)))
        return None


def show_estimate(runner: ModelRunner, key: str, config: BenchmarkConfig) -> int:
    """Shows the expected time of `config` on this machine; returns the prompts it scores."""
    with st.spinner(t("Estimating the run time...")):
        costs = [_dataset_cost(key, name, config.k, config.limit, runner) for name in config.datasets]
        est = benchmark_estimate(costs, flops_per_s(key, runner))
    total = sum(c.n_prompts for c in costs)
    st.caption(
        t(
            "About {time} on this machine: {n} prompts, {passes} label scores (estimated from the model's "
            "size, the prompts' lengths and a timed forward pass).",
            time=duration_text(est.seconds),
            n=total,
            passes=est.n_passes,
        )
    )
    return total


def _poll(bj: BenchmarkJob) -> None:
    """A progress bar ("n / N prompts · about M s left · step") and a Stop button until the job ends.

    A click anywhere interrupts this loop; the job goes on, and the rerun polls it again.
    """
    bar = st.progress(0.0, text=t("Starting..."))
    slot = st.empty()
    slot.button(
        t("Stop"),
        key="bm_stop",
        on_click=bj.stop.set,
        help=t("Ends the run after the current chunk of 32 prompts and keeps what is done."),
    )
    while not bj.job.wait(POLL_S):
        fraction, message = bj.job.status()
        count = eta_text(round(fraction * bj.total), bj.total, bj.job.elapsed(), t("prompts"))
        step = t("stopping after the current chunk...") if bj.stop.is_set() else message
        bar.progress(fraction, text=f"{count} · {step}")
    bar.empty()
    slot.empty()


def render_benchmark_section() -> None:
    """The whole Benchmark section in an expander (open once a run was asked for): settings,
    estimate, Run, progress with Stop, the result. Never stops the script, so a page can draw it
    before its own content."""
    opened = st.session_state.get(REQUEST) is not None
    with st.expander(t("Benchmark: StaICC's standard protocol"), expanded=opened):
        _render_section()


def _render_section() -> None:
    st.caption(
        t(
            "Runs StaICC's Normal protocol (Cho et al.): its fixed demonstrations (k = 4), test sets and "
            "templates, scored by this engine's direct scorer, with StaICC's own metrics. The prompt "
            "settings above do not apply here."
        )
    )
    config = config_from_widgets()
    runner = state.get_runner() if config is not None else None
    if runner is None:
        return
    key = state.model_key(runner)
    assert config is not None
    total = show_estimate(runner, key, config)

    def new_run() -> None:
        bj = benchmark_job(key, config, total, runner)
        if bj.job.done and (bj.job.error is not None or incomplete(bj.job.result())):
            benchmark_job.clear(key, config, total, runner)  # a stopped or failed run: start afresh

    clicked = st.button(t("Run the benchmark"), key="bm_run", type="primary")
    request = state.run_request(REQUEST, config, clicked, new=new_run)
    if request is None:
        return
    if request.changed:
        st.caption(t("The settings changed since this run: press **Run the benchmark** to update."))
    asked = request.value
    asked_total = (
        total
        if asked == config
        else sum(_dataset_cost(key, name, asked.k, asked.limit, runner).n_prompts for name in asked.datasets)
    )
    bj = benchmark_job(key, asked, asked_total, runner)
    if not bj.job.done:
        _poll(bj)
    try:
        result = bj.job.result()
    except USER_ERRORS as exc:
        st.error(t_error(str(exc)))
        return
    render_benchmark(result, key=PREFIX)
