"""The Generation page's prompt editor state: demonstrations (base + version pattern of the table
editor), defaults seeded from a task, and the buttons that exchange with the Prompt Lab."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from components import state
from components.generation_controls import format_stop_list
from components.generation_keys import (
    EVAL_CTL,
    GEN_CTL,
    GEN_DEMOS,
    GEN_DEMOS_BASE,
    GEN_EDITOR_VERSION,
    GEN_EVAL,
    GEN_FOR_TASK,
    GEN_INSTRUCTION,
    GEN_PATTERN,
    GEN_QUERY,
    GEN_REFERENCE,
    GEN_REFERENCE_REASONING,
    GEN_RESULTS,
    GEN_STOP,
    GEN_TEMPLATE,
)
from engine.data.gen_tasks import GenSplit, GenTask


def set_demos(demos: list[dict[str, str]]) -> None:
    """Replaces the generation demonstrations and resets the table editor (base + version pattern)."""
    st.session_state[GEN_DEMOS] = [dict(d) for d in demos]
    st.session_state[GEN_DEMOS_BASE] = [dict(d) for d in demos]
    st.session_state[GEN_EDITOR_VERSION] = int(st.session_state.get(GEN_EDITOR_VERSION, 0)) + 1


def draw_demos(split: GenSplit, k: int, draw_seed: int) -> list[dict[str, str]]:
    """k demonstrations drawn from the task's pool (seeded)."""
    idx = np.random.default_rng(draw_seed).permutation(len(split.pool))[:k]
    return [
        {"input": split.pool[i].input, "reasoning": split.pool[i].reasoning, "output": split.pool[i].output}
        for i in idx
    ]


def ensure_defaults(task: GenTask, split: GenSplit, seed: int) -> None:
    """Seeds the generation prompt from a task the first time, or when the task changes."""
    # by content: every pasted task is "upload:pasted.csv", and a new paste must re-seed
    if st.session_state.get(GEN_FOR_TASK) == task.fingerprint:
        return
    st.session_state[GEN_FOR_TASK] = task.fingerprint
    st.session_state[GEN_INSTRUCTION] = task.instruction
    st.session_state[GEN_TEMPLATE] = task.template
    st.session_state[GEN_PATTERN] = task.answer_pattern or ""
    st.session_state[GEN_STOP] = format_stop_list(task.stop)
    set_demos(draw_demos(split, 3, seed))
    st.session_state[GEN_QUERY] = split.test[0].input
    st.session_state[GEN_REFERENCE] = split.test[0].output
    st.session_state[GEN_REFERENCE_REASONING] = split.test[0].reasoning
    st.session_state.pop(GEN_RESULTS, None)
    st.session_state.pop(GEN_EVAL, None)
    GEN_CTL.clear()
    EVAL_CTL.clear()


def rows_from_editor(df: pd.DataFrame) -> list[dict[str, str]]:
    """Edited demonstrations table -> rows (blank cells as "", fully blank rows dropped)."""
    out = []
    for rec in df.to_dict("records"):
        row = {c: "" if pd.isna(rec.get(c)) else str(rec.get(c)) for c in ("input", "reasoning", "output")}
        if any(v.strip() for v in row.values()):
            out.append(row)
    return out


def take_prompt_lab_demos() -> None:
    """Prompt Lab demonstrations (text -> input, label word -> output), template and query.

    Reads the shared prompt through `components.prompt_state`, so the Prompt Lab's defaults are
    used when it has not been opened yet.
    """
    from components.prompt_state import current_prompt_snapshot

    snap = current_prompt_snapshot()
    words = snap["label_words"]
    set_demos(
        [
            {"input": d["text"], "reasoning": "", "output": str(words.get(d["label"], d["label"]))}
            for d in snap["demos"]
        ]
    )
    template = str(snap["template"])
    if "{text}" in template and "{label}" in template:
        st.session_state[GEN_TEMPLATE] = template.replace("{text}", "{input}").replace("{label}", "{output}")
    st.session_state[GEN_QUERY] = str(snap["query"])
    st.session_state[GEN_REFERENCE] = ""


def take_prompt_lab_instruction() -> None:
    """Copies the Prompt Lab's instruction (or the one it would start from) into the generation prompt."""
    from components.prompt_state import current_prompt_snapshot

    st.session_state[GEN_INSTRUCTION] = str(current_prompt_snapshot()["instruction"])


def send_instruction_to_prompt_lab() -> None:
    """Writes the generation instruction into the Prompt Lab (seeding its defaults first, so
    opening the Prompt Lab later does not overwrite it)."""
    from components import prompt_editor as pe

    seed = int(st.session_state.get(state.SEED, 0))
    pe.ensure_defaults(state.get_dataset(), state.get_split(), seed)
    pe.set_prompt(instruction=str(st.session_state.get(GEN_INSTRUCTION, "")))
