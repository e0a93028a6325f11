"""Cached prompt scores, per-token log-probs and response rankings (see `components.cache`)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from engine.experiments.ranking import RankConfig, RankingResult, rank_responses
from engine.model.hf_runner import ModelRunner
from engine.prompting.prompts import Demo, PromptFormat
from engine.scoring.scorers import PromptScores, score_prompt


@st.cache_data(show_spinner=False, max_entries=64)
def prompt_scores(
    model_key: str,
    snapshot: dict[str, Any],
    scorer: str,
    calibration: str,
    _runner: ModelRunner,
) -> PromptScores:
    """Every label's score for the Prompt Lab's prompt (`prompt_editor.snapshot()` plain data)."""
    fmt = PromptFormat(snapshot["template"], snapshot["instruction"], snapshot["separator"])
    demos = [Demo(d["text"], d["label"]) for d in snapshot["demos"]]
    return score_prompt(
        _runner,
        fmt,
        demos,
        snapshot["query"],
        snapshot["label_words"],
        scorer=scorer,
        calibration=calibration,
    )


@st.cache_data(show_spinner=False, max_entries=256)
def token_logprobs(model_key: str, text: str, _runner: ModelRunner) -> tuple[list[str], list[float]]:
    """Every token of `text` and its log-prob (nats) given the tokens before it."""
    seq = _runner.sequence_logprobs(text)
    return list(seq.tokens), list(seq.token_logprobs)


@st.cache_data(show_spinner=False, max_entries=32)
def ranking(model_key: str, cfg: RankConfig, _runner: ModelRunner) -> RankingResult:
    """Candidate responses scored by log P(R | I); the page re-ranks by its score kind and tau."""
    return rank_responses(_runner, cfg, score_kind="sum", tau=1.0)
