"""Generation: few-shot / chain-of-thought prompts, two decoding strategies side by side, metrics."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd
import streamlit as st

from components import generation_views as gv
from components import state
from components.i18n import t, t_error
from components.layout import page_setup
from components.run_control import Clock
from engine.core.errors import USER_ERRORS
from engine.data.datasets import DataError
from engine.data.gen_tasks import (
    GenTask,
    gen_task_names,
    load_gen_task,
    parse_gen_upload,
    split_gen_task,
)
from engine.generation.decoders import DecodeConfig, GenerationResult, GenerationStream, HFStepModel
from engine.generation.metrics import (
    GenEvalResult,
    evaluate_generation,
    reference_perplexities,
    score_prediction,
)
from engine.model.hf_runner import HFRunner
from engine.prompting.cot import (
    GenDemo,
    GenFormat,
    GenPrompt,
    build_gen_prompt,
    compile_answer_pattern,
    gold_completion,
    parse_answer,
)

page_setup(t("Generation"), "pages/generation.py")
seed = int(st.session_state.get(state.SEED, 0))


@st.cache_data(show_spinner=False, max_entries=4)
def _upload(data: bytes, filename: str) -> GenTask:
    return parse_gen_upload(data, filename)


# ---------------------------------------------------------------- examples: built-in task or upload
src_col, task_col = st.columns([1, 3])
with src_col:
    source_titles = {"builtin": t("built-in task"), "upload": t("your file")}
    source = st.radio(
        t("Examples from"),
        list(gv.GEN_SOURCES),
        format_func=source_titles.__getitem__,
        key=gv.GEN_SOURCE,
    )
task: GenTask | None = None
with task_col:
    if source == "builtin":
        name = st.selectbox(
            t("Task"), gen_task_names(), format_func=lambda n: load_gen_task(n).title, key=gv.GEN_TASK
        )
        task = load_gen_task(name)
        st.caption(t("{description} {n} items.", description=task.description, n=len(task.items)))
    else:
        up = st.file_uploader(
            t("CSV or JSONL with `input` and `output` columns (optional `reasoning`)"),
            type=["csv", "jsonl", "json", "tsv"],
            key="gen_upload",
        )
        pasted = st.text_area(t("…or paste CSV / JSONL here"), key="gen_paste", height=80)
        try:
            if up is not None:
                task = _upload(up.getvalue(), up.name)
            elif pasted.strip():
                task = _upload(
                    pasted.encode("utf-8"),
                    "pasted.jsonl" if pasted.lstrip().startswith("{") else "pasted.csv",
                )
        except DataError as exc:
            st.error(t_error(str(exc)))
        if task is None:
            st.info(
                t("Upload or paste a file to use its rows; until then the English → French task is used.")
            )
if task is None:
    task = load_gen_task("en_fr")
split = split_gen_task(task, seed=seed)
gv.ensure_defaults(task, split, seed)

loaded = state.get_runner()
if loaded is None:
    st.stop()
runner: HFRunner = loaded

# ---------------------------------------------------------------- prompt editor
left, right = st.columns([3, 2])
with left:
    st.text_area(t("Instruction (optional, goes first)"), key=gv.GEN_INSTRUCTION, height=68)
    b1, b2 = st.columns(2)
    b1.button(
        t("Use the Prompt Lab instruction"),
        key="gen_take_pl_instruction",
        on_click=gv.take_prompt_lab_instruction,
    )
    b2.button(
        t("Send this instruction to the Prompt Lab"),
        key="gen_send_pl_instruction",
        on_click=gv.send_instruction_to_prompt_lab,
    )
    st.text_input(
        t("Template: {input}, optional {reasoning}, {output}"),
        key=gv.GEN_TEMPLATE,
        help=t("The query is rendered up to the first field after {input}; the model writes the rest."),
    )
with right:
    zero_shot = st.checkbox(
        t("Zero-shot chain of thought (add a trigger after the query)"), key="gen_zero_shot"
    )
    trigger = st.text_input(
        t("Trigger"), value="Let's think step by step.", key="gen_trigger", disabled=not zero_shot
    )
    pattern = st.text_input(
        t("Answer pattern (regex; group `answer` or 1; empty = first line)"), key=gv.GEN_PATTERN
    )
    stop_text = st.text_input(t("Stop sequences (comma-separated, \\n = newline)"), key=gv.GEN_STOP)

st.markdown(t("**Demonstrations** (input, reasoning for chain-of-thought templates, output)"))
d1, d2, d3 = st.columns([1, 1.3, 2])
k = int(
    d1.number_input(
        "k",
        min_value=0,
        max_value=min(16, len(split.pool)),
        value=min(3, len(split.pool)),
        step=1,
        key="gen_k",
    )
)
if d2.button(t("Draw from the task"), key="gen_draw"):
    gv.set_demos(gv.draw_demos(split, k, seed + int(st.session_state.get(gv.GEN_EDITOR_VERSION, 0))))


d3.button(
    t("Take the Prompt Lab demonstrations and query"),
    key="gen_from_pl",
    on_click=gv.take_prompt_lab_demos,
    help=t(
        "Text becomes the input and the label word the output; the template's {text}/{label} become {input}/{output}."
    ),
)
edited = st.data_editor(
    pd.DataFrame(
        st.session_state.get(gv.GEN_DEMOS_BASE, []), columns=["input", "reasoning", "output"]
    ).astype("string"),
    key=f"gen_demo_editor_{st.session_state.get(gv.GEN_EDITOR_VERSION, 0)}",
    num_rows="dynamic",
    width="stretch",
    hide_index=True,
)
st.session_state[gv.GEN_DEMOS] = gv.rows_from_editor(edited)

q1, q2 = st.columns([3, 2])
with q2:

    def _use_test_item() -> None:
        it = split.test[int(st.session_state.get("gen_test_pick", 0))]
        st.session_state[gv.GEN_QUERY] = it.input
        st.session_state[gv.GEN_REFERENCE] = it.output
        st.session_state["gen_reference_reasoning"] = it.reasoning

    st.selectbox(
        t("…or take a test item"),
        list(range(len(split.test))),
        format_func=lambda i: f"{split.test[i].input} → {split.test[i].output}",
        key="gen_test_pick",
    )
    st.button(t("Use this test item"), key="gen_use_test", on_click=_use_test_item)
with q1:
    st.text_input(t("Query"), key=gv.GEN_QUERY)
    st.text_input(t("Reference output (optional: enables the metrics)"), key=gv.GEN_REFERENCE)

# ---------------------------------------------------------------- decoding settings
st.subheader(t("Decoding"))
max_new = int(
    st.number_input(t("Max new tokens"), min_value=1, max_value=256, value=32, step=1, key="gen_max_new")
)
col_a, col_b = st.columns(2)
with col_a:
    st.markdown(t("**Strategy A**"))
    cfg_a = gv.decoding_controls("gen_a", n_layers=runner.info.n_layers, default="greedy", seed=seed)
with col_b:
    st.markdown(t("**Strategy B**"))
    cfg_b = gv.decoding_controls("gen_b", n_layers=runner.info.n_layers, default="sample", seed=seed)


def _inputs() -> tuple[GenFormat, list[GenDemo], GenPrompt, dict[str, DecodeConfig]]:
    """The prompt and both configs from the widgets (raises the engine's user errors)."""
    fmt = GenFormat(
        template=str(st.session_state[gv.GEN_TEMPLATE]),
        instruction=str(st.session_state[gv.GEN_INSTRUCTION]),
        zero_shot_cot=zero_shot,
        trigger=trigger,
    )
    demos = [GenDemo(d["input"], d["output"], d["reasoning"]) for d in st.session_state[gv.GEN_DEMOS]]
    prompt = build_gen_prompt(
        fmt,
        demos,
        str(st.session_state[gv.GEN_QUERY]),
        count_tokens=lambda s: len(runner.encode(s)),
        max_tokens=runner.info.n_ctx,
        reserve_tokens=max_new,
    )
    if pattern.strip():
        compile_answer_pattern(pattern)
    stops = gv.parse_stop_list(stop_text)
    cfgs = {
        f"A: {c.strategy}": replace(c, max_new_tokens=max_new, stop=stops) for c in (cfg_a,) if c is not None
    }
    cfgs.update(
        {
            f"B: {c.strategy}": replace(c, max_new_tokens=max_new, stop=stops)
            for c in (cfg_b,)
            if c is not None
        }
    )
    return fmt, demos, prompt, cfgs


def _generate(
    model: HFStepModel, fmt: GenFormat, prompt: GenPrompt, cfgs: dict[str, DecodeConfig]
) -> dict[str, Any]:
    """Runs each strategy in turn, streaming its text, with a count, the rate, the time left and
    a Stop button; returns the run's record (partial when stopped).

    The record with the text so far is kept in `gv.GEN_CTL` at every decoding step: a click on
    Stop interrupts this script, and the rerun shows what was kept (see `components.run_control`).
    """
    results: dict[str, GenerationResult] = {}
    budgets = [c.max_new_tokens for c in cfgs.values()]
    record: dict[str, Any] = {
        "prompt": prompt,
        "reference": str(st.session_state.get(gv.GEN_REFERENCE, "")).strip(),
        "perplexity": None,
        "pattern": pattern,
        "results": results,
        "configs": {k: gv.describe(c) for k, c in cfgs.items()},
        "n_strategies": len(cfgs),
        "max_total": sum(budgets),
    }
    bar = st.progress(0.0, text=t("Starting..."))
    stop_slot = gv.GEN_CTL.stop_button(
        help=t("Ends the generation after the current token and keeps the text generated so far.")
    )
    clock = Clock()
    live = st.columns(len(cfgs))
    try:
        for n, ((label, cfg), col) in enumerate(zip(cfgs.items(), live, strict=True)):

            def show(stream: GenerationStream, label: str = label, n: int = n) -> None:
                """Count, rate and time left; keeps the text so far for a Stop."""
                made = sum(len(r.tokens) for r in results.values())
                done = made + stream.steps
                total = made + stream.max_new + sum(budgets[n + 1 :])
                bar.progress(
                    min(done / max(total, 1), 1.0),
                    text=gv.generation_progress(
                        label, done, total, stream.tokens_per_second, clock.elapsed()
                    ),
                )
                gv.GEN_CTL.keep_partial(
                    gv.GEN_PARTIAL,
                    record | {"results": results | {label: stream.snapshot()}, "max_total": total},
                )

            with col:
                st.caption(t("{label} — generating…", label=label))
                box = st.empty()
                stream = GenerationStream(
                    model, prompt.text, cfg, should_stop=gv.GEN_CTL.should_stop, on_step=show
                )
                text = ""
                for tok in stream:
                    text += tok.delta
                    box.code(text + "▌", language=None)
                results[label] = stream.result()
                gv.GEN_CTL.keep_partial(
                    gv.GEN_PARTIAL,
                    record
                    | {
                        "results": dict(results),
                        "max_total": sum(len(r.tokens) for r in results.values()) + sum(budgets[n + 1 :]),
                    },
                )
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
        gold = gold_completion(
            fmt, record["reference"], str(st.session_state.get("gen_reference_reasoning", ""))
        )
        if gold is not None:
            (record["perplexity"],) = reference_perplexities(runner, [prompt.text], [gold])
    return record


run = st.button(t("Generate with both strategies"), type="primary", key="gen_run")
if run:
    gv.GEN_CTL.clear()
if run and (cfg_a is None or cfg_b is None):
    st.error(t("Fix the decoding settings above first."))
elif run:
    try:
        fmt, demos, prompt, cfgs = _inputs()
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
        record = _generate(model, fmt, prompt, cfgs)
    except USER_ERRORS as exc:
        st.error(t_error(str(exc)))
        st.stop()
    if any(r.partial for r in record["results"].values()):
        gv.GEN_CTL.keep_partial(gv.GEN_PARTIAL, record)
        gv.GEN_CTL.request_stop()  # later reruns show it until Generate is pressed
    else:
        st.session_state[gv.GEN_RESULTS] = record
        gv.GEN_CTL.clear()
    st.rerun()

last: dict[str, Any] | None = st.session_state.get(gv.GEN_RESULTS)
if gv.GEN_CTL.stopped():  # a stopped run: its partial result, never a new run
    last = gv.GEN_CTL.partial_for(gv.GEN_PARTIAL)
    if last is None or not last["results"]:
        last = None
        st.warning(
            t(
                "Stopped before the first token was generated: press **Generate with both strategies** to run again."
            )
        )
    else:
        st.warning(gv.stopped_generation_text(last))
if last is None:
    st.info(t("Set the prompt and the two strategies, then press **Generate with both strategies**."))
else:
    with st.expander(t("Prompt ({n} demonstrations)", n=len(last["prompt"].demos))):
        st.code(last["prompt"].text, language=None)
    cols = st.columns(len(last["results"]))
    scores = {}
    for n, ((label, result), col) in enumerate(zip(last["results"].items(), cols, strict=True)):
        with col:
            mark = t(" — **stopped: partial**") if result.partial else ""
            st.markdown(f"**{label}** — {last['configs'][label]}{mark}")
            st.code(result.text, language=None)
            parsed = parse_answer(result.text, last["pattern"] or None)
            note = "" if parsed.matched or not last["pattern"] else t(" (pattern not found: first line)")
            st.markdown(t("Answer: **{answer}**", answer=parsed.answer or "∅") + note)
            gv.render_generation(result, key=f"gen_view_{n}")
            if last["reference"]:
                scores[label + (t(" (partial)") if result.partial else "")] = score_prediction(
                    parsed.answer, last["reference"], perplexity=last["perplexity"]
                )
    if scores:
        st.markdown(t("**Metrics** against the reference “{reference}”", reference=last["reference"]))
        gv.render_metrics(scores, key="gen_metrics")

# ---------------------------------------------------------------- evaluation on the task's test items
with st.expander(t("Evaluate strategy A on the task's test items")):
    n_eval = int(
        st.number_input(
            t("Test items"),
            min_value=1,
            max_value=len(split.test),
            value=min(5, len(split.test)),
            step=1,
            key="gen_eval_n",
        )
    )
    if st.button(t("Evaluate"), key="gen_eval_run"):
        gv.EVAL_CTL.clear()
        if cfg_a is None:
            st.error(t("Fix strategy A's settings first."))
        else:
            try:
                fmt, demos, _prompt, cfgs = _inputs()
                bar = st.progress(0.0, text=t("Building the prompts and the reference perplexities…"))
                stop_slot = gv.EVAL_CTL.stop_button(
                    help=t("Ends the evaluation after the current token and keeps the items done.")
                )
                clock = Clock()
                items_done = [0]

                def _on_step(item: int, stream: GenerationStream) -> None:
                    frac = (item + min(stream.steps / max(stream.max_new, 1), 1.0)) / n_eval
                    text = gv.eval_progress(
                        items_done[0], n_eval, stream.steps, stream.tokens_per_second, clock.elapsed()
                    )
                    bar.progress(min(frac, 1.0), text=text)

                def _on_item(partial: GenEvalResult) -> None:
                    items_done[0] = partial.n_done
                    gv.EVAL_CTL.keep_partial(gv.EVAL_PARTIAL, partial)

                try:
                    result = evaluate_generation(
                        HFStepModel(runner),
                        fmt,
                        demos,
                        split.test[:n_eval],
                        next(iter(cfgs.values())),
                        answer_pattern=pattern or None,
                        runner=runner,
                        should_stop=gv.EVAL_CTL.should_stop,
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
                    gv.EVAL_CTL.keep_partial(gv.EVAL_PARTIAL, result)
                    gv.EVAL_CTL.request_stop()  # later reruns show it until Evaluate is pressed
                else:
                    st.session_state[gv.GEN_EVAL] = result
                    gv.EVAL_CTL.clear()
            except USER_ERRORS as exc:
                st.error(t_error(str(exc)))
    shown: GenEvalResult | None = st.session_state.get(gv.GEN_EVAL)
    if gv.EVAL_CTL.stopped():  # a stopped evaluation: the items done, never a new run
        shown = gv.EVAL_CTL.partial_for(gv.EVAL_PARTIAL)
        if shown is None:
            st.warning(t("Stopped before the first item was done: press **Evaluate** to run again."))
        else:
            st.warning(gv.stopped_eval_text(shown))
    if shown is not None:
        gv.render_eval(shown, key="gen_eval")
