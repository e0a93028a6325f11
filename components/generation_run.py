"""The Generation page's two runs, each with a count, the rate, the time left and a Stop button
(issue 22, long work): both strategies streamed side by side, and strategy A over test items.

A Stop click interrupts the script, so each run keeps its record (the text so far, the items
done) in its `RunControl` at every step; the rerun shows what was kept, marked, and nothing runs
again until Generate / Evaluate is pressed (see `components.run_control`).

The engine is called through its modules (``decoders.GenerationStream``,
``gen_metrics.evaluate_generation``), looked up at call time, so a test can replace either.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from components import generation_keys as gk
from components.generation_controls import describe
from components.generation_inputs import GenSettings, build_request
from components.generation_progress import eval_progress, generation_progress
from components.i18n import t, t_error
from components.run_control import Clock
from engine.core.errors import USER_ERRORS
from engine.data.gen_tasks import GenItem
from engine.generation import decoders
from engine.generation import metrics as gen_metrics
from engine.generation.config import DecodeConfig, GenerationResult
from engine.generation.hf_model import HFStepModel
from engine.generation.metrics import GenEvalResult, reference_perplexities
from engine.generation.stream import GenerationStream
from engine.model.hf_runner import HFRunner
from engine.prompting.cot import GenFormat, GenPrompt, gold_completion


def generate_both(runner: HFRunner, settings: GenSettings) -> None:
    """Generate was pressed: builds the request, streams both strategies, keeps the record (in
    `GEN_RESULTS`, or partial in `GEN_CTL` after a Stop) and reruns the page to show it."""
    try:
        fmt, prompt, cfgs = build_request(settings, runner)
    except USER_ERRORS as exc:
        st.error(t_error(str(exc)))
        st.stop()
    if prompt.n_dropped:
        st.warning(
            t(
                "{n} demonstration(s) were dropped from the far end so the prompt fits the context.",
                n=prompt.n_dropped,
            )
        )
    with st.spinner(t("Loading the model for generation (not counted in the timings)...")):
        model = HFStepModel(runner)
        model.prepare()  # load before any strategy's clock starts: each time is its decoding only
    try:
        record = _stream_all(runner, model, settings, fmt, prompt, cfgs)
    except USER_ERRORS as exc:
        st.error(t_error(str(exc)))
        st.stop()
    if any(r.partial for r in record["results"].values()):
        gk.GEN_CTL.keep_partial(gk.GEN_PARTIAL, record)
        gk.GEN_CTL.request_stop()  # later reruns show it until Generate is pressed
    else:
        st.session_state[gk.GEN_RESULTS] = record
        gk.GEN_CTL.clear()
    st.rerun()


def _stream_all(
    runner: HFRunner,
    model: HFStepModel,
    settings: GenSettings,
    fmt: GenFormat,
    prompt: GenPrompt,
    cfgs: dict[str, DecodeConfig],
) -> dict[str, Any]:
    """Runs each strategy in turn, streaming its text; returns the run's record (partial when stopped).

    The record with the text so far is kept in `GEN_CTL` at every decoding step.
    """
    results: dict[str, GenerationResult] = {}
    budgets = [c.max_new_tokens for c in cfgs.values()]
    record: dict[str, Any] = {
        "prompt": prompt,
        "reference": settings.reference,
        "perplexity": None,
        "pattern": settings.pattern,
        "results": results,
        "configs": {k: describe(c) for k, c in cfgs.items()},
        "n_strategies": len(cfgs),
        "max_total": sum(budgets),
    }
    bar = st.progress(0.0, text=t("Starting..."))
    stop_slot = gk.GEN_CTL.stop_button(
        help=t("Ends the generation after the current token and keeps the text generated so far.")
    )
    clock = Clock()
    try:
        for n, ((label, cfg), col) in enumerate(zip(cfgs.items(), st.columns(len(cfgs)), strict=True)):

            def show(stream: GenerationStream, label: str = label, n: int = n) -> None:
                """Count, rate and time left; keeps the text so far for a Stop."""
                made = sum(len(r.tokens) for r in results.values())
                done = made + stream.steps
                total = made + stream.max_new + sum(budgets[n + 1 :])
                text = generation_progress(label, done, total, stream.tokens_per_second, clock.elapsed())
                bar.progress(min(done / max(total, 1), 1.0), text=text)
                kept = record | {"results": results | {label: stream.snapshot()}, "max_total": total}
                gk.GEN_CTL.keep_partial(gk.GEN_PARTIAL, kept)

            with col:
                st.caption(t("{label} — generating…", label=label))
                box = st.empty()
                stream = decoders.GenerationStream(
                    model, prompt.text, cfg, should_stop=gk.GEN_CTL.should_stop, on_step=show
                )
                text = ""
                for tok in stream:
                    text += tok.delta
                    box.code(text + "▌", language=None)
                results[label] = stream.result()
                made = sum(len(r.tokens) for r in results.values())
                kept = record | {"results": dict(results), "max_total": made + sum(budgets[n + 1 :])}
                gk.GEN_CTL.keep_partial(gk.GEN_PARTIAL, kept)
                box.code(results[label].text, language=None)
            if results[label].partial:
                break
    except USER_ERRORS:
        bar.empty()
        stop_slot.empty()
        raise
    bar.empty()
    stop_slot.empty()
    # the most the run could have made: what finished strategies made, the budget of the others
    made = sum(r.max_new if r.partial else len(r.tokens) for r in results.values())
    record["max_total"] = made + sum(budgets[len(results) :])
    if not any(r.partial for r in results.values()) and record["reference"]:
        gold = gold_completion(fmt, record["reference"], settings.reference_reasoning)
        if gold is not None:
            (record["perplexity"],) = reference_perplexities(runner, [prompt.text], [gold])
    return record


def evaluate_a(runner: HFRunner, settings: GenSettings, items: list[GenItem]) -> None:
    """Evaluate was pressed: strategy A over `items`, with a count, the rate, the time left and a
    Stop; keeps the result (in `GEN_EVAL`, or partial in `EVAL_CTL`). Errors are shown."""
    try:
        fmt, _prompt, cfgs = build_request(settings, runner)
        n_eval = len(items)
        bar = st.progress(0.0, text=t("Building the prompts and the reference perplexities…"))
        stop_slot = gk.EVAL_CTL.stop_button(
            help=t("Ends the evaluation after the current token and keeps the items done.")
        )
        clock = Clock()
        items_done = [0]

        def _on_step(item: int, stream: GenerationStream) -> None:
            frac = (item + min(stream.steps / max(stream.max_new, 1), 1.0)) / n_eval
            text = eval_progress(
                items_done[0], n_eval, stream.steps, stream.tokens_per_second, clock.elapsed()
            )
            bar.progress(min(frac, 1.0), text=text)

        def _on_item(partial: GenEvalResult) -> None:
            items_done[0] = partial.n_done
            gk.EVAL_CTL.keep_partial(gk.EVAL_PARTIAL, partial)

        try:
            result = gen_metrics.evaluate_generation(
                HFStepModel(runner),
                fmt,
                list(settings.demos),
                items,
                next(iter(cfgs.values())),
                answer_pattern=settings.pattern or None,
                runner=runner,
                should_stop=gk.EVAL_CTL.should_stop,
                on_item=_on_item,
                on_step=_on_step,
            )
        except USER_ERRORS:
            bar.empty()
            stop_slot.empty()
            raise
        bar.empty()
        stop_slot.empty()
        if result.partial:
            gk.EVAL_CTL.keep_partial(gk.EVAL_PARTIAL, result)
            gk.EVAL_CTL.request_stop()  # later reruns show it until Evaluate is pressed
        else:
            st.session_state[gk.GEN_EVAL] = result
            gk.EVAL_CTL.clear()
    except USER_ERRORS as exc:
        st.error(t_error(str(exc)))
