"""What a request will cost before it runs (issue 22: a 20,000-character query ran 256 s unasked).

The cost of a forward pass of a decoder over ``n`` tokens is, in floating-point operations,

    linear:    2 * n * (12 * n_layers * d_model**2 + d_vocab * d_model)   (weights and logits)
    attention: 4 * n_layers * d_model * n**2                               (scores and mixing;
               the kernels compute the full [q_pos, k_pos] block and mask it afterwards)

so a long prompt costs more than its length alone says: on SmolLM2-135M the attention term
passes the linear one near 4,000 tokens (measured: 1,134 tokens 47.6 s, 4,467 tokens 338 s on
the loaded 2-core machine; the model predicts a ratio of 6.5, the machine gave 7.1).

`spans_flops` applies it to a list of span requests the way the runner serves them: requests of
one block share one pass over their common token prefix (`engine.model.prefix_cache`). The machine's
speed is measured, not assumed: `measure_flops_per_s` times one forward of a short input on the
real model, and `estimate_seconds` divides. Nothing here changes a result.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from engine.model.hf_runner import ModelInfo, ModelRunner, SpanRequest, SpanScorer

CALIBRATION_TOKENS = 256  # tokens of the timed forward in `measure_flops_per_s`
ASK_ABOVE_S = 20.0  # a run estimated longer than this asks before it starts


def forward_flops(info: ModelInfo, n_tokens: int, n_cached: int = 0) -> float:
    """Operations to run `n_tokens` new tokens after `n_cached` already-computed ones."""
    n, p = max(int(n_tokens), 0), max(int(n_cached), 0)
    per_token = 2.0 * (12 * info.n_layers * info.d_model**2 + info.d_vocab * info.d_model)
    # the attention kernels compute the whole [q_pos, k_pos] block of the new tokens against
    # every key (the causal mask zeroes half of it afterwards): n * (p + n) scores per layer
    attended = n * (p + n)
    return per_token * n + 4.0 * info.n_layers * info.d_model * attended


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def spans_flops(info: ModelInfo, requests: Sequence[SpanRequest]) -> float:
    """Operations to answer `requests`: per block, one pass over the common prefix, then each
    request's own tokens after it (requests without a block are their own block each)."""
    blocks: dict[object, list[SpanRequest]] = {}
    for i, req in enumerate(requests):
        blocks.setdefault(("block", req.block) if req.block is not None else ("own", i), []).append(req)
    total = 0.0
    for group in blocks.values():
        prefix = len(group[0].ids)
        for req in group[1:]:
            prefix = min(prefix, _common_prefix(group[0].ids, req.ids))
        if len(group) == 1:
            prefix = 0
        total += forward_flops(info, prefix)
        total += sum(forward_flops(info, len(r.ids) - prefix, prefix) for r in group)
    return total


def spans_tokens(requests: Sequence[SpanRequest]) -> int:
    """The longest request, in tokens (what a person reads as the prompt's length)."""
    return max((len(r.ids) for r in requests), default=0)


def measure_flops_per_s(runner: ModelRunner, n_tokens: int = CALIBRATION_TOKENS) -> float:
    """The machine's speed on this model: one timed forward of `n_tokens` tokens, after one
    untimed warm-up (first-call work is not counted); both take the runner's plain path
    (``fast=False``), which never serves a result from its cache."""
    if not isinstance(runner, SpanScorer):
        raise TypeError(f"{type(runner).__name__} cannot score token spans")

    def ids_of(text: str) -> tuple[int, ...]:
        return tuple(runner.encode(text * (n_tokens // 4 + 1)))[:n_tokens]

    runner.score_spans([SpanRequest(ids_of("Warm up the model once. "), n_tokens - 1)], fast=False)
    ids = ids_of(f"Time one pass of {n_tokens} tokens: the quick brown fox jumps over the lazy dog. ")
    t0 = time.perf_counter()
    runner.score_spans([SpanRequest(ids, len(ids) - 1)], fast=False)
    elapsed = max(time.perf_counter() - t0, 1e-6)
    return forward_flops(runner.info, len(ids)) / elapsed


@dataclass(frozen=True, slots=True)
class CostEstimate:
    """A run's expected cost.

    Attributes:
        n_tokens: the longest text the model reads, in tokens.
        n_passes: span requests the run answers.
        flops: operations, by `spans_flops`.
        seconds: `flops` at the measured speed.
    """

    n_tokens: int
    n_passes: int
    flops: float
    seconds: float

    @property
    def ask_first(self) -> bool:
        """True when the run should be confirmed before it starts."""
        return self.seconds > ASK_ABOVE_S


def estimate_seconds(info: ModelInfo, requests: Sequence[SpanRequest], flops_per_s: float) -> CostEstimate:
    """The cost of answering `requests` at `flops_per_s` (from `measure_flops_per_s`)."""
    flops = spans_flops(info, requests)
    return CostEstimate(spans_tokens(requests), len(requests), flops, flops / max(flops_per_s, 1.0))
