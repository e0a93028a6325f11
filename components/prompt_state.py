"""The current Prompt Lab prompt, read from session state for any page.

The Prompt Lab keeps the shared prompt under the ``pl_*`` keys (see `components.prompt_editor`).
A page that analyses "the current prompt" (Attention, Sensitivity, ...) reads it with
`current_prompt_inputs()`. When the Prompt Lab has not been opened yet, or was last seeded for
another dataset, the defaults are the ones the Prompt Lab itself would start from (dataset
instruction, template and label words, four label-balanced demonstrations drawn with the
sidebar seed, the first test example as query), so the two pages agree. Session state is only
read here, never written.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from components import prompt_editor as pe
from components import state
from engine.prompting.prompts import Demo, PromptFormat

DEFAULT_K = 4  # what the Prompt Lab draws on first use


def _defaults() -> dict[str, Any]:
    ds = state.get_dataset()
    split = state.get_split()
    seed = int(st.session_state.get(state.SEED, 0))
    return {
        "instruction": ds.instruction,
        "template": ds.template,
        "separator": "\n\n",
        "demos": pe.draw_demos(split.pool, DEFAULT_K, seed, balanced=True, labels=ds.label_names),
        "query": split.test[0].text if split.test else "",
        "label_words": ds.label_word_map(),
    }


def current_prompt_snapshot() -> dict[str, Any]:
    """The current prompt as plain data (instruction, template, separator, demos, query, label_words).

    Falls back to the dataset defaults when the Prompt Lab has not seeded its keys for the
    current dataset. Plain data, so it can key `st.cache_data`.
    """
    ds = state.get_dataset()
    seeded = st.session_state.get(pe.FOR_DATASET) == ds.fingerprint and pe.TEMPLATE in st.session_state
    if not seeded:
        return _defaults()
    words = st.session_state.get(pe.LABEL_WORDS)
    if not isinstance(words, dict) or not words:
        words = ds.label_word_map()
    return {
        "instruction": str(st.session_state.get(pe.INSTRUCTION, "")),
        "template": str(st.session_state.get(pe.TEMPLATE, ds.template)),
        "separator": str(st.session_state.get(pe.SEPARATOR, "\n\n")),
        "demos": [
            {"text": str(d.get("text", "")), "label": str(d.get("label", ""))}
            for d in st.session_state.get(pe.DEMOS, [])
        ],
        "query": str(st.session_state.get(pe.QUERY, "")),
        "label_words": {str(k): str(v) for k, v in words.items()},
    }


def inputs_from_snapshot(snap: dict[str, Any]) -> tuple[PromptFormat, list[Demo], str, dict[str, str]]:
    """(format, demonstrations, query, label words) from a snapshot; raises PromptError if invalid."""
    fmt = PromptFormat(
        template=snap["template"], instruction=snap["instruction"], separator=snap["separator"]
    )
    demos = [Demo(d["text"], d["label"]) for d in snap["demos"]]
    return fmt, demos, snap["query"], dict(snap["label_words"])


def current_prompt_inputs() -> tuple[PromptFormat, list[Demo], str, dict[str, str]]:
    """The current Prompt Lab prompt: (format, demonstrations, query, label words).

    Raises:
        PromptError: the template in the Prompt Lab is invalid (pages show it with st.error).
    """
    return inputs_from_snapshot(current_prompt_snapshot())
