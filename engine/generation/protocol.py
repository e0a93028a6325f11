"""What the decoders need from a model, and what a decoder is.

Every strategy works through two small protocols, so a fake model with hand-set log-probs drives
the same code as the real one:

    StepModel.open(prompt_ids) -> StepSession      # prefill the prompt once
    StepSession.logprobs()      -> [row, d_vocab]  # next-token log-probs of each row (beam)
    StepSession.advance(parents, tokens)           # row r := old row parents[r] + tokens[r]

A `Decoder` turns a session into a stream of `Choice`s; `GenerationStream` turns those into text
(`engine.generation.stream`). `FunctionStepModel` (`function_model.py`) and `HFStepModel`
(`hf_model.py`) are the two models. `DECODERS` is the registry of strategies, one `DecoderSpec`
each; `engine.generation.decoders` fills it.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from engine.core.registry import Registry
from engine.generation.config import Choice, DecodeConfig


class StepSession(Protocol):
    """Incremental decoding state of one prompt, over a number of rows (beams)."""

    @property
    def n_rows(self) -> int: ...

    def logprobs(self) -> np.ndarray:
        """Returns `[row, d_vocab]` float64 log-probs of each row's next token."""
        ...

    def amateur_logprobs(self) -> np.ndarray:
        """Returns `[row, d_vocab]` float64 log-probs of the amateur (contrastive decoding)."""
        ...

    def advance(self, parents: Sequence[int], tokens: Sequence[int]) -> None:
        """New row r = old row `parents[r]` followed by `tokens[r]` (rows may be dropped or copied)."""
        ...


class StepModel(Protocol):
    """What the decoders need from a model: tokenization and incremental sessions."""

    @property
    def d_vocab(self) -> int: ...

    @property
    def n_ctx(self) -> int: ...

    @property
    def eos_ids(self) -> frozenset[int]: ...

    def encode_prompt(self, text: str) -> list[int]: ...

    def decode(self, ids: Sequence[int]) -> str: ...

    def token_strings(self, ids: Sequence[int]) -> list[str]: ...

    def prepare(self) -> None:
        """Loads what the first step would otherwise load (weights, kernels): called before a
        generation's clock starts, so its time is the decoding only."""
        ...

    def open(
        self, prompt_ids: Sequence[int], *, amateur: bool = False, amateur_layer: int | None = None
    ) -> StepSession: ...


# --------------------------------------------------------------------------- what a decoder is
FinishedFn = Callable[[Sequence[int]], bool]
# called by a decoder at the start of every step after the first, with the step and its best
# hypothesis so far (beam search; () for the strategies that stream); True = stop here
StepFn = Callable[[int, Sequence[Choice]], bool]
ChoiceStream = Generator[Choice, None, None]
Decoder = Callable[[StepSession, DecodeConfig, int, np.random.Generator, FinishedFn, StepFn], ChoiceStream]


def never_stop(step: int, best: Sequence[Choice]) -> bool:
    """The `StepFn` of a run that cannot be stopped."""
    return False


# one step of a strategy that picks one token per step: (the penalised log-probs `[d_vocab]` of
# the single row, the session (for an amateur's log-probs), the settings, the seeded sampler)
# -> the next token. `engine.generation.decoders.step_loop` runs it.
PickFn = Callable[[np.ndarray, StepSession, DecodeConfig, np.random.Generator], int]


# --------------------------------------------------------------------------- the registry of decoders
@dataclass(frozen=True, slots=True)
class DecoderSpec:
    """One decoding strategy, as registered in `DECODERS`.

    Attributes:
        name: the strategy's name (a value of `engine.generation.config.StrategyName`).
        fn: the decoder: (session, settings, max new tokens, seeded sampler, finished, at_step)
            -> the `Choice`s, one per generated token.
        description: what the UI calls it (English; the Chinese table is keyed by this text).
        options: the `DecodeConfig` fields it reads besides `COMMON_OPTIONS`.
        amateur: the session is opened with an amateur (contrastive decoding).
    """

    name: str
    fn: Decoder
    description: str
    options: tuple[str, ...] = ()
    amateur: bool = False

    @classmethod
    def of(
        cls, fn: Decoder, *, name: str, description: str, options: tuple[str, ...] = (), amateur: bool = False
    ) -> DecoderSpec:
        """The registry's `make`: a spec from a decorated decoder and the decorator's fields."""
        return cls(name, fn, description, tuple(options), amateur)


# the settings every strategy reads (the others are named by each spec's `options`)
COMMON_OPTIONS = ("max_new_tokens", "stop", "presence_penalty", "frequency_penalty", "stop_at_eos", "n_top")

# filled by engine.generation.decoders, which the package's __init__ imports: every import of
# an engine.generation module finds every strategy registered
DECODERS: Registry[DecoderSpec] = Registry("decoding strategy", make=DecoderSpec.of)
