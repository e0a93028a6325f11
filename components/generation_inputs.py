"""The Generation page's widgets, read into one frozen `GenSettings`, and the request built from it.

* `examples`: where the examples come from (a built-in task or the user's CSV / JSONL).
* `prompt_editor`: instruction, template, chain-of-thought trigger, answer pattern, stop
  sequences, demonstrations and the query with its reference.
* `decoding_settings`: max new tokens and the two strategy columns -> `GenSettings`.
* `build_request`: `GenSettings` -> the prompt and the two `DecodeConfig`s (the engine's user
  errors raised here, when a run is asked for, not while the user is typing).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd
import streamlit as st

from components import generation_editor as ge
from components import generation_keys as gk
from components.generation_controls import decoding_controls, parse_stop_list
from components.i18n import t, t_error
from engine.data.datasets import DataError
from engine.data.gen_tasks import (
    GenSplit,
    GenTask,
    gen_task_names,
    load_gen_task,
    parse_gen_upload,
    split_gen_task,
)
from engine.generation.config import DecodeConfig
from engine.model.protocol import ModelRunner
from engine.prompting.cot import GenDemo, GenFormat, GenPrompt, build_gen_prompt, compile_answer_pattern


@st.cache_data(show_spinner=False, max_entries=4)
def _upload(data: bytes, filename: str) -> GenTask:
    return parse_gen_upload(data, filename)


def examples(seed: int) -> tuple[GenTask, GenSplit]:
    """The task radio and picker (or upload / paste); seeds the prompt from the task when it changes."""
    src_col, task_col = st.columns([1, 3])
    with src_col:
        source_titles = {"builtin": t("built-in task"), "upload": t("your file")}
        source = st.radio(
            t("Examples from"), list(gk.GEN_SOURCES), format_func=source_titles.__getitem__, key=gk.GEN_SOURCE
        )
    task: GenTask | None = None
    with task_col:
        if source == "builtin":
            name = st.selectbox(
                t("Task"), gen_task_names(), format_func=lambda n: load_gen_task(n).title, key=gk.GEN_TASK
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
                    name = "pasted.jsonl" if pasted.lstrip().startswith("{") else "pasted.csv"
                    task = _upload(pasted.encode("utf-8"), name)
            except DataError as exc:
                st.error(t_error(str(exc)))
            if task is None:
                st.info(
                    t("Upload or paste a file to use its rows; until then the English → French task is used.")
                )
    if task is None:
        task = load_gen_task("en_fr")
    split = split_gen_task(task, seed=seed)
    ge.ensure_defaults(task, split, seed)
    return task, split


@dataclass(frozen=True, slots=True)
class PromptWidgets:
    """The prompt editor's values that live outside session state (widget return values)."""

    zero_shot: bool
    trigger: str
    pattern: str
    stop_text: str


def prompt_editor(split: GenSplit, seed: int) -> PromptWidgets:
    """Instruction, template, trigger, pattern, stop sequences, demonstrations and the query."""
    left, right = st.columns([3, 2])
    with left:
        st.text_area(t("Instruction (optional, goes first)"), key=gk.GEN_INSTRUCTION, height=68)
        b1, b2 = st.columns(2)
        b1.button(
            t("Use the Prompt Lab instruction"),
            key="gen_take_pl_instruction",
            on_click=ge.take_prompt_lab_instruction,
        )
        b2.button(
            t("Send this instruction to the Prompt Lab"),
            key="gen_send_pl_instruction",
            on_click=ge.send_instruction_to_prompt_lab,
        )
        st.text_input(
            t("Template: {input}, optional {reasoning}, {output}"),
            key=gk.GEN_TEMPLATE,
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
            t("Answer pattern (regex; group `answer` or 1; empty = first line)"), key=gk.GEN_PATTERN
        )
        stop_text = st.text_input(t("Stop sequences (comma-separated, \\n = newline)"), key=gk.GEN_STOP)
    _demonstrations(split, seed)
    _query(split)
    return PromptWidgets(zero_shot, trigger, pattern, stop_text)


def _demonstrations(split: GenSplit, seed: int) -> None:
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
    version = int(st.session_state.get(gk.GEN_EDITOR_VERSION, 0))
    if d2.button(t("Draw from the task"), key="gen_draw"):
        ge.set_demos(ge.draw_demos(split, k, seed + version))
    d3.button(
        t("Take the Prompt Lab demonstrations and query"),
        key="gen_from_pl",
        on_click=ge.take_prompt_lab_demos,
        help=t(
            "Text becomes the input and the label word the output; the template's {text}/{label} become {input}/{output}."
        ),
    )
    edited = st.data_editor(
        pd.DataFrame(
            st.session_state.get(gk.GEN_DEMOS_BASE, []), columns=["input", "reasoning", "output"]
        ).astype("string"),
        key=f"gen_demo_editor_{st.session_state.get(gk.GEN_EDITOR_VERSION, 0)}",
        num_rows="dynamic",
        width="stretch",
        hide_index=True,
    )
    st.session_state[gk.GEN_DEMOS] = ge.rows_from_editor(edited)


def _query(split: GenSplit) -> None:
    q1, q2 = st.columns([3, 2])
    with q2:

        def _use_test_item() -> None:
            it = split.test[int(st.session_state.get("gen_test_pick", 0))]
            st.session_state[gk.GEN_QUERY] = it.input
            st.session_state[gk.GEN_REFERENCE] = it.output
            st.session_state[gk.GEN_REFERENCE_REASONING] = it.reasoning

        st.selectbox(
            t("…or take a test item"),
            list(range(len(split.test))),
            format_func=lambda i: f"{split.test[i].input} → {split.test[i].output}",
            key="gen_test_pick",
        )
        st.button(t("Use this test item"), key="gen_use_test", on_click=_use_test_item)
    with q1:
        st.text_input(t("Query"), key=gk.GEN_QUERY)
        st.text_input(t("Reference output (optional: enables the metrics)"), key=gk.GEN_REFERENCE)


@dataclass(frozen=True, slots=True)
class GenSettings:
    """Everything a generation or an evaluation reads from the page, frozen when the page has drawn.

    Attributes:
        template, instruction: the prompt layout.
        zero_shot, trigger: the zero-shot chain-of-thought trigger after the query (when on).
        demos: the demonstrations, prompt order.
        query: the query text.
        pattern: the answer pattern ("" = first line).
        stops: the stop sequences.
        max_new: max new tokens of both strategies.
        cfg_a, cfg_b: the two strategies' settings (None: their widgets showed an error).
        reference: the reference output ("" = no metrics).
        reference_reasoning: the reasoning of the test item taken as reference.
    """

    template: str
    instruction: str
    zero_shot: bool
    trigger: str
    demos: tuple[GenDemo, ...]
    query: str
    pattern: str
    stops: tuple[str, ...]
    max_new: int
    cfg_a: DecodeConfig | None
    cfg_b: DecodeConfig | None
    reference: str
    reference_reasoning: str


def decoding_settings(widgets: PromptWidgets, *, n_layers: int, seed: int) -> GenSettings:
    """Max new tokens and the two strategy columns; returns the page's `GenSettings`."""
    st.subheader(t("Decoding"))
    max_new = int(
        st.number_input(t("Max new tokens"), min_value=1, max_value=256, value=32, step=1, key="gen_max_new")
    )
    col_a, col_b = st.columns(2)
    with col_a:
        st.markdown(t("**Strategy A**"))
        cfg_a = decoding_controls("gen_a", n_layers=n_layers, default="greedy", seed=seed)
    with col_b:
        st.markdown(t("**Strategy B**"))
        cfg_b = decoding_controls("gen_b", n_layers=n_layers, default="sample", seed=seed)
    ss = st.session_state
    return GenSettings(
        template=str(ss[gk.GEN_TEMPLATE]),
        instruction=str(ss[gk.GEN_INSTRUCTION]),
        zero_shot=widgets.zero_shot,
        trigger=widgets.trigger,
        demos=tuple(GenDemo(d["input"], d["output"], d["reasoning"]) for d in ss[gk.GEN_DEMOS]),
        query=str(ss[gk.GEN_QUERY]),
        pattern=widgets.pattern,
        stops=parse_stop_list(widgets.stop_text),
        max_new=max_new,
        cfg_a=cfg_a,
        cfg_b=cfg_b,
        reference=str(ss.get(gk.GEN_REFERENCE, "")).strip(),
        reference_reasoning=str(ss.get(gk.GEN_REFERENCE_REASONING, "")),
    )


def build_request(
    settings: GenSettings, runner: ModelRunner
) -> tuple[GenFormat, GenPrompt, dict[str, DecodeConfig]]:
    """The prompt layout, the prompt and the configs by label ("A: greedy", "B: sample"), max new
    tokens and stop sequences applied (raises the engine's user errors: bad template, prompt too
    long, bad pattern...)."""
    fmt = GenFormat(
        template=settings.template,
        instruction=settings.instruction,
        zero_shot_cot=settings.zero_shot,
        trigger=settings.trigger,
    )
    prompt = build_gen_prompt(
        fmt,
        list(settings.demos),
        settings.query,
        count_tokens=lambda s: len(runner.encode(s)),
        max_tokens=runner.info.n_ctx,
        reserve_tokens=settings.max_new,
    )
    if settings.pattern.strip():
        compile_answer_pattern(settings.pattern)
    cfgs = {
        f"{side}: {c.strategy}": replace(c, max_new_tokens=settings.max_new, stop=settings.stops)
        for side, c in (("A", settings.cfg_a), ("B", settings.cfg_b))
        if c is not None
    }
    return fmt, prompt, cfgs
