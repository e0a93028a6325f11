"""Cached experiment results shown without a Run button (see `components.cache`)."""

from __future__ import annotations

import streamlit as st

from engine.data.datasets import Dataset, Split
from engine.evaluation.run import EvalConfig, label_words_from
from engine.experiments.zero_few import N_QUERIES, ZeroFewResult, compare_zero_few
from engine.model.hf_runner import ModelRunner
from engine.prompting.prompts import PromptFormat


@st.cache_data(show_spinner=False, max_entries=8)
def zero_few(
    model_key: str,
    dataset_fingerprint: str,
    seed: int,
    demo_indices: tuple[int, ...],
    _runner: ModelRunner,
    _ds: Dataset,
    _split: Split,
) -> ZeroFewResult:
    """The Home page's example: zero-shot vs the 4 demonstrations `demo_indices` of the pool on
    the first test queries.

    Keyed by content: every pasted upload is "pasted.csv", so a name would hand one user's rows
    to another (the split is a function of the data set's fingerprint and the seed). No progress
    bar in here: a cached function that touches an outside element cannot be replayed (see
    `state.remembered`); the page shows a spinner, and sessions share the result.
    """
    cfg = EvalConfig(
        fmt=PromptFormat(_ds.template, _ds.instruction),
        label_words=label_words_from(_ds.label_names, _ds.label_word_map()),
        seed=seed,
    )
    return compare_zero_few(_runner, _split.pool, _split.test[:N_QUERIES], cfg, demo_indices)
