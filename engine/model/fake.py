"""A `FakeRunner` with hand-set logits, for unit tests and for reasoning about scorers by hand.

Tokenization is by words: each token is a run of whitespace followed by non-space characters
(``" positive"`` is one token), matched against a fixed vocabulary; anything else is ``<unk>``.
Next-token logits come from a function of the prefix token ids, so a test can write down the
exact distribution at every position and work out the expected log-probs by hand.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from engine.model.hf_runner import (
    AttentionResult,
    ModelInfo,
    ProgressFn,
    ScoreRequest,
    ScoreResult,
    SequenceLogprobs,
    SpanRequest,
    SpanResult,
    TokenSplit,
    WorkCounter,
    move_trailing_space,
)

_TOKEN_RE = re.compile(r"\s*\S+|\s+")
LogitsFn = Callable[[Sequence[int]], np.ndarray]


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    m = x.max()
    return x - m - np.log(np.exp(x - m).sum())


class FakeRunner:
    """`ModelRunner` whose next-token logits are `logits_fn(prefix_ids)`.

    Args:
        vocab: token strings; id 0 is always ``<bos>`` and id 1 ``<unk>`` (prepended).
        logits_fn: prefix ids -> logits `[d_vocab]` for the next token. Defaults to uniform.
        n_layers, n_heads: sizes reported in `info` and used by `attention`.
        attention_fn: ids -> pattern `[layer, head, q_pos, k_pos]`; default uniform causal.
        add_bos: whether `encode` prepends ``<bos>``.
    """

    def __init__(
        self,
        vocab: Sequence[str],
        logits_fn: LogitsFn | None = None,
        *,
        n_layers: int = 2,
        n_heads: int = 2,
        attention_fn: Callable[[Sequence[int]], np.ndarray] | None = None,
        add_bos: bool = True,
        n_ctx: int = 2048,
    ) -> None:
        self.vocab: list[str] = ["<bos>", "<unk>", *[v for v in vocab if v not in ("<bos>", "<unk>")]]
        self.ids = {t: i for i, t in enumerate(self.vocab)}
        self.logits_fn: LogitsFn = logits_fn or (lambda ids: np.zeros(len(self.vocab)))
        self.attention_fn = attention_fn
        self.add_bos = add_bos
        self.calls: list[str] = []  # every text passed through the model, in order
        self._work = WorkCounter()
        self._info = ModelInfo(
            name="fake",
            n_layers=n_layers,
            n_heads=n_heads,
            d_model=8,
            d_vocab=len(self.vocab),
            n_ctx=n_ctx,
            device="cpu",
            dtype="float64",
            source="fake",
        )

    @property
    def info(self) -> ModelInfo:
        return self._info

    @property
    def work(self) -> WorkCounter:
        return self._work

    def id_of(self, token: str) -> int:
        return self.ids.get(token, 1)

    def _tokenize(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        ids: list[int] = []
        offsets: list[tuple[int, int]] = []
        if self.add_bos:
            ids.append(0)
            offsets.append((0, 0))
        for m in _TOKEN_RE.finditer(text):
            ids.append(self.id_of(m.group()))
            offsets.append((m.start(), m.end()))
        return ids, offsets

    def encode(self, text: str, *, add_special_tokens: bool = True) -> list[int]:
        ids, _ = self._tokenize(text)
        if self.add_bos and not add_special_tokens:
            ids = ids[1:]
        return ids

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.vocab[i] for i in ids if i != 0)

    def token_strings(self, ids: Sequence[int]) -> list[str]:
        return [self.vocab[i] for i in ids]

    def split(self, context: str, continuation: str) -> TokenSplit:
        context, continuation = move_trailing_space(context, continuation)
        ids, offsets = self._tokenize(context + continuation)
        n_context = len(ids)
        for i, (_s, end) in enumerate(offsets):
            if end > len(context):
                n_context = i
                break
        if n_context == 0:
            return TokenSplit((0, *ids), 1, True)
        return TokenSplit(tuple(ids), n_context)

    def logprobs_at(self, prefix: Sequence[int]) -> np.ndarray:
        """log-softmax of the next-token logits after `prefix` (float64)."""
        return _log_softmax(np.asarray(self.logits_fn(list(prefix)), dtype=np.float64))

    def score(
        self, requests: Sequence[ScoreRequest], *, progress: ProgressFn | None = None
    ) -> list[ScoreResult]:
        out: list[ScoreResult] = []
        for n, r in enumerate(requests):
            sp = self.split(r.context, r.continuation)
            self.calls.append(r.context + r.continuation)
            self._work.add(len(sp.ids))
            cont = sp.ids[sp.n_context :]
            lps = [float(self.logprobs_at(sp.ids[:i])[sp.ids[i]]) for i in range(sp.n_context, len(sp.ids))]
            out.append(
                ScoreResult(
                    logprob=float(sum(lps)),
                    n_tokens=len(cont),
                    token_ids=tuple(cont),
                    tokens=tuple(self.token_strings(cont)),
                    token_logprobs=tuple(lps),
                    context_tokens=sp.n_context,
                )
            )
            if progress is not None:
                progress((n + 1) / len(requests), "fake scoring")
        return out

    def score_spans(
        self, requests: Sequence[SpanRequest], *, fast: bool = True, progress: ProgressFn | None = None
    ) -> list[SpanResult]:
        """Exact log-probs from `logits_fn`, one request at a time (`fast` changes nothing)."""
        out: list[SpanResult] = []
        for n, r in enumerate(requests):
            self.calls.append(self.decode(r.ids))
            self._work.add(len(r.ids))
            lps = tuple(float(self.logprobs_at(r.ids[:i])[r.ids[i]]) for i in range(r.start, len(r.ids)))
            last = self.logprobs_at(r.ids).astype(np.float32) if r.keep_last else None
            out.append(SpanResult(lps, last))
            if progress is not None:
                progress((n + 1) / len(requests), "fake scoring")
        return out

    def next_token_logprobs(self, prompts: Sequence[str]) -> np.ndarray:
        rows = []
        for p in prompts:
            self.calls.append(p)
            ids = self.encode(move_trailing_space(p, "")[0]) or [0]
            self._work.add(len(ids))
            rows.append(self.logprobs_at(ids))
        return np.asarray(rows, dtype=np.float32)

    def sequence_logprobs(self, text: str) -> SequenceLogprobs:
        ids, offsets = self._tokenize(text)
        self.calls.append(text)
        vals = [float("nan")] + [float(self.logprobs_at(ids[:i])[ids[i]]) for i in range(1, len(ids))]
        return SequenceLogprobs(tuple(ids), tuple(self.token_strings(ids)), tuple(vals), tuple(offsets))

    def attention(self, text: str) -> AttentionResult:
        ids, offsets = self._tokenize(text)
        n = len(ids)
        if self.attention_fn is not None:
            pattern = np.asarray(self.attention_fn(ids), dtype=np.float32)
        else:
            causal = np.tril(np.ones((n, n), dtype=np.float32))
            causal /= causal.sum(axis=1, keepdims=True)
            pattern = np.broadcast_to(causal, (self._info.n_layers, self._info.n_heads, n, n)).copy()
        return AttentionResult(pattern, tuple(self.token_strings(ids)), tuple(offsets))
