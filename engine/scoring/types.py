"""The values scoring passes around: what is scored for a query, and what comes back.

A scorer turns one query into a `QueryPlan`: one `LabelText` per label, the exact text the model
reads with the token index where scoring starts. The model answers with per-token log-probs, which
become one `LabelScore` per label; one fixed prompt's labels, calibrated, make a `PromptScores`.
The spec types of the two strategy families (`ScorerSpec`, `CalibrationSpec`) live here too, so
that the files that register strategies and the config that checks names share them.

Nothing here runs the model; this module imports only the model protocol and the prompt types.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from engine.model.protocol import ModelRunner
from engine.prompting.prompts import Demo, Prompt, PromptFormat

ScorerName = Literal["direct", "ppl", "channel"]
CalibrationName = Literal["none", "contextual", "domain", "batch"]
Normalize = Literal["sum", "mean"]
PriorSource = Literal["none", "content_free", "batch"]

CONTENT_FREE: tuple[str, ...] = ("N/A", "", "[MASK]")
N_DOMAIN_STRINGS = 20
TOP_NEXT = 10


@dataclass(frozen=True, slots=True)
class LabelText:
    """One label's text to score, tokenized, before the model runs.

    Attributes:
        label: label name.
        word: label word.
        text: the exact full text scored.
        ids: its tokens (the full text's own tokenization; BOS included when the model adds one).
        start: index of the first scored token (direct: the label; ppl: 1; channel: the query text).
    """

    label: str
    word: str
    text: str
    ids: tuple[int, ...]
    start: int

    @classmethod
    def split(cls, runner: ModelRunner, label: str, word: str, context: str, continuation: str) -> LabelText:
        """The text ``context + continuation`` scored from the continuation's first token on."""
        sp = runner.split(context, continuation)
        return cls(label, word, context + continuation, sp.ids, sp.n_context)


@dataclass(frozen=True, slots=True)
class QueryPlan:
    """Everything scored for one query, before the model runs.

    Attributes:
        query: the query text.
        texts: one `LabelText` per label, in label order.
        prompt: the direct prompt (ends where the label goes); channel texts are in `texts`.
        n_dropped: demonstrations dropped from the far end to fit the context.
    """

    query: str
    texts: tuple[LabelText, ...]
    prompt: Prompt
    n_dropped: int = 0


@dataclass(frozen=True, slots=True)
class LabelScore:
    """One label's score with its per-token detail.

    Attributes:
        label, word, text: as in `LabelText`.
        score: the scorer's value (direct/channel: log-prob, sum or mean; ppl: mean NLL, lower wins).
        token_ids: all tokens of `text`; `start` is the first scored one.
        tokens: string form of the scored tokens.
        token_logprobs: log p of each scored token given everything before it.
    """

    label: str
    word: str
    text: str
    score: float
    token_ids: tuple[int, ...]
    start: int
    tokens: tuple[str, ...]
    token_logprobs: tuple[float, ...]

    @property
    def logprob(self) -> float:
        """Sum of the scored tokens' log-probs."""
        return float(sum(self.token_logprobs))

    @property
    def n_tokens(self) -> int:
        return len(self.token_logprobs)


@dataclass(frozen=True, slots=True)
class NextToken:
    """One of the most likely tokens after the prompt."""

    token: str
    token_id: int
    logprob: float

    @property
    def prob(self) -> float:
        return float(np.exp(self.logprob))


@dataclass(frozen=True, slots=True)
class PromptScores:
    """The scores of one fixed prompt (what the Prompt Lab shows).

    Attributes:
        prompt: the direct prompt (ends where the label goes).
        labels: label names, in order.
        label_scores: one `LabelScore` per label, same order.
        scores: label -> scorer value (see `LabelScore.score`).
        probs: label -> probability, normalised over the labels, after calibration.
        pred: the predicted label name.
        top_next: the most likely next tokens after the prompt (from the direct prompt).
        prior: label -> content-free / batch prior used by the calibration (None for "none").
        scorer, calibration: what produced it.
    """

    prompt: Prompt
    labels: tuple[str, ...]
    label_scores: tuple[LabelScore, ...]
    scores: dict[str, float]
    probs: dict[str, float]
    pred: str
    top_next: tuple[NextToken, ...]
    prior: dict[str, float] | None
    scorer: str
    calibration: str


class PlanSettings(Protocol):
    """What a scorer's plan may read of the scoring config (`ScoringConfig` is one)."""

    @property
    def channel_template(self) -> str | None: ...


# (runner, fmt, demos, query, label words, settings) -> the texts to score for that query
Builder = Callable[
    [ModelRunner, PromptFormat, Sequence[Demo], str, Mapping[str, str], PlanSettings], QueryPlan
]
# (log-probs of the scored tokens, number of tokens of the whole text, normalize) -> the score
ValueFn = Callable[[Sequence[float], int, Normalize], float]
# (in-domain texts, number of strings wanted, generator) -> content-free query texts
ContentFreeFn = Callable[[Sequence[str], int, np.random.Generator], tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class ScorerSpec:
    """A scoring function: how to build the texts of a query and turn log-probs into a value.

    Attributes:
        name: registry key.
        title, description: what the UI shows (English; translated by the UI's tables).
        plan: builds a query's label texts (the registered function).
        value: the score of one label from its scored tokens' log-probs.
        higher_is_better: False when the lowest value wins (ppl's mean NLL).
    """

    name: str
    title: str
    description: str
    plan: Builder
    value: ValueFn
    higher_is_better: bool = True

    @classmethod
    def of(cls, plan: Builder, **fields: Any) -> ScorerSpec:
        """The spec of a registered plan function (the `Registry`'s ``make``)."""
        return cls(plan=plan, **fields)


@dataclass(frozen=True, slots=True)
class CalibrationSpec:
    """A calibration: which content-free inputs it scores and where its label prior comes from.

    Attributes:
        name: registry key.
        title, description: what the UI shows.
        content_free: builds the content-free query texts scored with the same demonstrations
            (None: the calibration scores none).
        prior: "none" (raw scores), "content_free" (mean label probabilities of the content-free
            inputs) or "batch" (mean label probabilities over the evaluated queries).
    """

    name: str
    title: str
    description: str
    content_free: ContentFreeFn | None = None
    prior: PriorSource = "none"

    @property
    def needs_content_free(self) -> bool:
        """True when the prior comes from content-free inputs in the direct prompt (direct only)."""
        return self.content_free is not None

    @classmethod
    def of(cls, content_free: ContentFreeFn, **fields: Any) -> CalibrationSpec:
        """The spec of a registered content-free-inputs function (the `Registry`'s ``make``)."""
        return cls(content_free=content_free, **fields)
