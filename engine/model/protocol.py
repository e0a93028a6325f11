"""The model protocol: the request / result types every runner speaks, and token helpers.

Everything above the model layer (scorers, retrievers that query the model, head scores,
generation) talks to a model only through `ModelRunner`, so that a hand-made `FakeRunner`
(engine/model/fake.py) and the real `HFRunner` (engine/model/hf_runner.py) are interchangeable.
This module imports no model code, so the runner, the prefix cache and the fake can all build on
it without importing each other.

Shape vocabulary (TransformerLens style):
    logits            [batch, pos, d_vocab]
    attention pattern [layer, head, q_pos, k_pos]
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from engine.core.progress import ProgressFn as ProgressFn


@dataclass(frozen=True, slots=True)
class ScoreRequest:
    """Score `continuation` given `context` (both plain text)."""

    context: str
    continuation: str


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """Log-probability of a continuation, with the per-token detail views need.

    Attributes:
        logprob: sum of the continuation tokens' log-probs (natural log).
        n_tokens: number of continuation tokens.
        token_ids: the continuation's token ids, as tokenized inside the full text.
        tokens: their string forms.
        token_logprobs: log p(token | everything before it), one per continuation token.
        context_tokens: number of tokens before the continuation.
    """

    logprob: float
    n_tokens: int
    token_ids: tuple[int, ...]
    tokens: tuple[str, ...]
    token_logprobs: tuple[float, ...]
    context_tokens: int = 0

    @property
    def mean_logprob(self) -> float:
        return self.logprob / max(self.n_tokens, 1)


@dataclass(frozen=True, slots=True)
class SpanRequest:
    """Log-probs of the tokens ``ids[start:]``, each given every token before it.

    The token-level request under every scorer: direct and channel scoring use
    ``start = n_context`` of a `TokenSplit`; perplexity uses ``start = 1`` (every token but the
    first, which nothing predicts)::

        ids:      t0  t1 ... t_{s-1} | t_s ... t_{n-1}
        scored:                        ^^^^^^^^^^^^^^^  read from the logits at s-1 ... n-2

    Attributes:
        ids: the full token sequence (as the tokenizer produced it for the whole text).
        start: index of the first scored token, at least 1 (``start == len(ids)`` scores nothing).
        keep_last: also return the full next-token distribution after the last token.
        block: a sharing hint: requests with the same block (e.g. the same demonstrations) share
            one pass over their common token prefix; None puts the request in the default block.
    """

    ids: tuple[int, ...]
    start: int
    keep_last: bool = False
    block: int | None = None

    def __post_init__(self) -> None:
        if not self.ids:
            raise ValueError("SpanRequest needs at least one token.")
        if not 1 <= self.start <= len(self.ids):
            raise ValueError(f"SpanRequest.start must be in [1, {len(self.ids)}], got {self.start}.")


@dataclass(frozen=True, slots=True)
class SpanResult:
    """Answer to a `SpanRequest`.

    Attributes:
        token_logprobs: log p(ids[i] | ids[:i]) for i = start ... len(ids) - 1.
        last_logprobs: float32 `[d_vocab]` log-probs of the token after ``ids`` (keep_last only).
    """

    token_logprobs: tuple[float, ...]
    last_logprobs: np.ndarray | None = None


@runtime_checkable
class SpanScorer(Protocol):
    """A runner that answers token-level `SpanRequest`s (HFRunner, FakeRunner)."""

    def score_spans(
        self, requests: Sequence[SpanRequest], *, fast: bool = True, progress: ProgressFn | None = None
    ) -> list[SpanResult]:
        """Answers each request (order kept); ``fast=False`` takes the plain reference path."""
        ...


@dataclass(frozen=True, slots=True)
class TokenSplit:
    """Token ids of context + continuation as tokenized together (see module docstring)."""

    ids: tuple[int, ...]
    n_context: int
    prepended: bool = False  # a BOS/EOS was prepended because the context had no token


@dataclass(frozen=True, slots=True)
class SequenceLogprobs:
    """Per-token log-probs of one whole text; the first token has no prediction (nan)."""

    token_ids: tuple[int, ...]
    tokens: tuple[str, ...]
    token_logprobs: tuple[float, ...]
    offsets: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class AttentionResult:
    """Attention patterns of one text.

    Attributes:
        pattern: float32 array `[layer, head, q_pos, k_pos]`.
        tokens: string form of each position.
        offsets: character span of each token in the text (BOS gets (0, 0)).
    """

    pattern: np.ndarray
    tokens: tuple[str, ...]
    offsets: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str
    n_layers: int
    n_heads: int
    d_model: int
    d_vocab: int
    n_ctx: int
    device: str
    dtype: str
    source: str
    has_chat_template: bool = False


@dataclass(slots=True)
class WorkCounter:
    """Counts model work (tokens through the model, forward calls) for reports and benches."""

    tokens: int = 0
    forwards: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, tokens: int, forwards: int = 1) -> None:
        with self._lock:
            self.tokens += tokens
            self.forwards += forwards

    def snapshot(self) -> tuple[int, int]:
        with self._lock:
            return self.tokens, self.forwards


@runtime_checkable
class ModelRunner(Protocol):
    """What the rest of the engine needs from a model."""

    @property
    def info(self) -> ModelInfo: ...

    @property
    def work(self) -> WorkCounter: ...

    def encode(self, text: str, *, add_special_tokens: bool = True) -> list[int]: ...

    def decode(self, ids: Sequence[int]) -> str: ...

    def token_strings(self, ids: Sequence[int]) -> list[str]: ...

    def split(self, context: str, continuation: str) -> TokenSplit: ...

    def score(
        self, requests: Sequence[ScoreRequest], *, progress: ProgressFn | None = None
    ) -> list[ScoreResult]: ...

    def next_token_logprobs(self, prompts: Sequence[str]) -> np.ndarray:
        """Returns `[batch, d_vocab]` float32 log-probs of the token after each prompt."""
        ...

    def sequence_logprobs(self, text: str) -> SequenceLogprobs: ...

    def attention(self, text: str) -> AttentionResult: ...


MAX_PIECES_PER_CHAR = 8


def readable_pieces(decode: Callable[[list[int]], str], ids: Sequence[int]) -> list[str]:
    """The text of each token, such that the pieces join to the decoded text.

    Byte-level BPE (SmolLM2, GPT-2) splits one multi-byte character (Chinese, emoji, accented
    letters) over several tokens, and each of them decoded alone is U+FFFD. Such tokens are
    decoded together: the first one shows the character(s), the others the empty string, so a
    prompt coloured token by token still reads as the original text.
    """
    out: list[str] = []
    pending: list[int] = []
    for i in ids:
        pending.append(int(i))
        text = decode(pending)
        if text.endswith("\ufffd") and len(pending) < MAX_PIECES_PER_CHAR:
            continue  # an incomplete UTF-8 sequence: wait for its other bytes
        out.append(text)
        out.extend([""] * (len(pending) - 1))
        pending = []
    if pending:
        out.append(decode(pending))
        out.extend([""] * (len(pending) - 1))
    return out


def move_trailing_space(context: str, continuation: str) -> tuple[str, str]:
    """Moves trailing spaces/tabs of the context to the front of the continuation."""
    stripped = context.rstrip(" \t")
    return stripped, context[len(stripped) :] + continuation
