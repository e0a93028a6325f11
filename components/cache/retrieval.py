"""Cached demonstration selections (see `components.cache`)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from engine.data.datasets import Example
from engine.experiments.selection import Selection, explain_selection
from engine.model.hf_runner import ModelRunner
from engine.prompting.prompts import PromptFormat
from engine.retrieval.demo_index import DemoIndex
from engine.retrieval.retrievers import build_context


@st.cache_data(show_spinner=False, max_entries=128)
def selection(
    key: tuple[Any, ...],
    query: str,
    k: int,
    retrieval: str,
    ordering: str,
    seed: int,
    options: tuple[tuple[str, float], ...],
    fmt: PromptFormat,
    words: tuple[tuple[str, str], ...],
    _pool: tuple[Example, ...],
    _index: DemoIndex | None,
    _runner: ModelRunner | None,
) -> Selection:
    """Which demonstrations `retrieval` + `ordering` pick for `query`, and why.

    `key` is (the pool's fingerprint, `state.model_key` or ""): it names `_pool`, `_index` and
    `_runner`, which are not hashed.
    """
    ctx = build_context(
        _pool,
        retrieval=retrieval,
        ordering=ordering,
        runner=_runner,
        fmt=fmt,
        label_words=dict(words),
        options=dict(options),
        index=_index,
    )
    return explain_selection(query, k, ctx, retrieval=retrieval, ordering=ordering, seed=seed)
