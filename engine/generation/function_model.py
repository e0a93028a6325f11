"""`FunctionStepModel`: a `StepModel` whose next-token logits are a function of the whole prefix.

No cache: every step recomputes the function of each row's prefix. It adapts
`engine.model.fake.FakeRunner` (hand-set logits in the unit tests) and serves as the no-cache
baseline in `bench/generation.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.core.errors import ConfigError
from engine.generation.processors import log_softmax
from engine.generation.protocol import StepSession

PrefixFn = Callable[[Sequence[int]], np.ndarray]


class FunctionStepModel:
    """`StepModel` whose next-token logits are a function of the whole prefix (no cache).

    Args:
        vocab: token strings, indexed by id.
        logits_fn: prefix ids (prompt + generated) -> logits `[d_vocab]`.
        encode: text -> prompt ids.
        decode: ids -> text; defaults to joining the token strings.
        eos_ids: end-of-sequence token ids.
        amateur_fn: prefix ids -> amateur logits `[d_vocab]` (contrastive decoding).
        n_ctx: context length.
    """

    def __init__(
        self,
        vocab: Sequence[str],
        logits_fn: PrefixFn,
        *,
        encode: Callable[[str], list[int]],
        decode: Callable[[Sequence[int]], str] | None = None,
        eos_ids: Sequence[int] = (),
        amateur_fn: PrefixFn | None = None,
        n_ctx: int = 2048,
    ) -> None:
        self.vocab = list(vocab)
        self.logits_fn = logits_fn
        self.amateur_fn = amateur_fn
        self._encode = encode
        self._decode = decode
        self._eos = frozenset(int(i) for i in eos_ids)
        self._n_ctx = n_ctx
        self.forwards = 0  # prefix evaluations, for tests and benches

    @classmethod
    def from_fake(
        cls, runner: Any, *, eos_tokens: Sequence[str] = ("<eos>",), amateur_fn: PrefixFn | None = None
    ) -> FunctionStepModel:
        """Adapts an `engine.model.fake.FakeRunner` (its `logits_fn`, vocabulary and tokenizer)."""
        return cls(
            runner.vocab,
            runner.logits_fn,
            encode=runner.encode,
            decode=runner.decode,
            eos_ids=[runner.ids[t] for t in eos_tokens if t in runner.ids],
            amateur_fn=amateur_fn,
            n_ctx=runner.info.n_ctx,
        )

    @property
    def d_vocab(self) -> int:
        return len(self.vocab)

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    @property
    def eos_ids(self) -> frozenset[int]:
        return self._eos

    def encode_prompt(self, text: str) -> list[int]:
        return list(self._encode(text))

    def decode(self, ids: Sequence[int]) -> str:
        if self._decode is not None:
            return self._decode(list(ids))
        return "".join(self.vocab[i] for i in ids)

    def token_strings(self, ids: Sequence[int]) -> list[str]:
        return [self.vocab[i] for i in ids]

    def prepare(self) -> None:
        """Nothing to load: the logits are a function."""

    def open(
        self, prompt_ids: Sequence[int], *, amateur: bool = False, amateur_layer: int | None = None
    ) -> StepSession:
        if amateur and self.amateur_fn is None:
            raise ConfigError("This model has no amateur for contrastive decoding.")
        return _FunctionSession(self, [list(prompt_ids)])


@dataclass(slots=True)
class _FunctionSession:
    model: FunctionStepModel
    rows: list[list[int]]

    @property
    def n_rows(self) -> int:
        return len(self.rows)

    def _eval(self, fn: PrefixFn) -> np.ndarray:
        self.model.forwards += len(self.rows)
        return log_softmax(np.stack([np.asarray(fn(list(r)), dtype=np.float64) for r in self.rows]))

    def logprobs(self) -> np.ndarray:
        return self._eval(self.model.logits_fn)

    def amateur_logprobs(self) -> np.ndarray:
        if self.model.amateur_fn is None:
            raise ConfigError("This model has no amateur for contrastive decoding.")
        return self._eval(self.model.amateur_fn)

    def advance(self, parents: Sequence[int], tokens: Sequence[int]) -> None:
        self.rows = [[*self.rows[p], int(t)] for p, t in zip(parents, tokens, strict=True)]
