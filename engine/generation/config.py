"""Decoding settings and results: `DecodeConfig` (validated on construction), the `Choice` a
strategy makes at each step, the streamed `GenToken` and the finished `GenerationResult`.

The strategy names are the `StrategyName` literal; `engine.generation.decoders.DECODERS` holds
one spec per name (a unit test checks the two agree).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from engine.core.errors import ConfigError

StrategyName = Literal["greedy", "beam", "sample", "contrastive"]
StopReason = Literal["eos", "stop_sequence", "max_new_tokens", "context_full", "stopped"]
STRATEGIES: tuple[StrategyName, ...] = get_args(StrategyName)
MAX_NEW_TOKENS = 1024


# --------------------------------------------------------------------------- config and results
@dataclass(frozen=True, slots=True)
class DecodeConfig:
    """How to decode. Validated on construction (`ConfigError` with a message for the user).

    Attributes:
        strategy: one of `STRATEGIES` (greedy, beam, sample, contrastive).
        max_new_tokens: generated tokens at most (EOS and stop sequences may end earlier).
        stop: stop sequences; the text ends right before the first one that appears.
        seed: seed of the sampler (`sample` only; the other strategies are deterministic).
        temperature: divides the log-probs before sampling (`sample`).
        top_k: keep only the k most likely tokens (`sample`); None keeps all.
        top_p: keep the smallest set of tokens with mass >= top_p (`sample`); None keeps all.
        presence_penalty: subtracted once from every token already generated (all strategies).
        frequency_penalty: subtracted per occurrence of a token already generated (all strategies).
        num_beams: beams kept (`beam`).
        length_penalty: exponent of the length normalisation of beam scores (`beam`); 0 = raw sum.
        alpha: plausibility cut-off of contrastive decoding (Li et al. use 0.1).
        amateur_layer: early-exit layer of the amateur (`contrastive` without a separate amateur
            model); None = half the model's layers.
        amateur_temperature: temperature of the amateur's distribution (`contrastive`).
        stop_at_eos: end at the model's end-of-sequence token.
        n_top: alternatives recorded per generated token (for the per-token view).
    """

    strategy: StrategyName = "greedy"
    max_new_tokens: int = 32
    stop: tuple[str, ...] = ()
    seed: int = 0
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    num_beams: int = 4
    length_penalty: float = 1.0
    alpha: float = 0.1
    amateur_layer: int | None = None
    amateur_temperature: float = 1.0
    stop_at_eos: bool = True
    n_top: int = 5

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"Unknown decoding strategy {self.strategy!r}. Known: {', '.join(STRATEGIES)}.")
        if not 1 <= self.max_new_tokens <= MAX_NEW_TOKENS:
            raise ConfigError(
                f"max new tokens must be between 1 and {MAX_NEW_TOKENS}, got {self.max_new_tokens}."
            )
        if any(not s for s in self.stop):
            raise ConfigError("A stop sequence is empty; remove it or type the text to stop at.")
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            raise ConfigError(f"temperature must be > 0, got {self.temperature}.")
        if self.top_k is not None and self.top_k < 1:
            raise ConfigError(f"top-k must be 1 or more (or unset), got {self.top_k}.")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ConfigError(f"top-p must be in (0, 1] (or unset), got {self.top_p}.")
        for name in ("presence_penalty", "frequency_penalty"):
            value = getattr(self, name)
            if not (math.isfinite(value) and -2.0 <= value <= 2.0):
                raise ConfigError(f"{name.replace('_', ' ')} must be between -2 and 2, got {value}.")
        if not 1 <= self.num_beams <= 32:
            raise ConfigError(f"the number of beams must be between 1 and 32, got {self.num_beams}.")
        if not math.isfinite(self.length_penalty):
            raise ConfigError("length penalty must be a finite number.")
        if not 0 <= self.alpha <= 1:
            raise ConfigError(f"alpha (plausibility cut-off) must be in [0, 1], got {self.alpha}.")
        if self.amateur_layer is not None and self.amateur_layer < 1:
            raise ConfigError(f"the amateur layer must be 1 or more, got {self.amateur_layer}.")
        if not (math.isfinite(self.amateur_temperature) and self.amateur_temperature > 0):
            raise ConfigError(f"amateur temperature must be > 0, got {self.amateur_temperature}.")
        if not 0 <= self.n_top <= 50:
            raise ConfigError(f"n_top must be between 0 and 50, got {self.n_top}.")


@dataclass(frozen=True, slots=True)
class Choice:
    """One token picked by a strategy (before detokenization and stop handling).

    Attributes:
        token_id: the token.
        logprob: log p(token | prefix) under the model itself (no penalty, temperature, contrast).
        top_ids, top_logprobs: the model's most likely tokens at that step, best first.
    """

    token_id: int
    logprob: float
    top_ids: tuple[int, ...] = ()
    top_logprobs: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class GenToken:
    """A generated token as streamed and shown.

    Attributes:
        id: token id.
        text: the token's own string.
        delta: text this token released to the stream (may be "" while text is held back for a
            stop sequence or an incomplete character, or hold earlier tokens' text).
        logprob: log p(token | prefix) under the model itself.
        top: the model's top alternatives at this step as (token string, log-prob), best first.
    """

    id: int
    text: str
    delta: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()

    @property
    def prob(self) -> float:
        return math.exp(self.logprob)


@dataclass(frozen=True, slots=True)
class GenerationResult:
    """A finished generation.

    Attributes:
        text: the generated text, cut right before the first stop sequence.
        tokens: the generated tokens (EOS and tokens lying wholly inside a stop sequence excluded).
        prompt_tokens: tokens in the prompt.
        stop_reason: why generation ended.
        seconds: wall time of the generation (prefill included, model loading excluded).
        config: the settings used.
        max_new: the most tokens this generation could make (`config.max_new_tokens`, less when
            the context is nearly full): the "N" of "n of at most N tokens".
    """

    text: str
    tokens: tuple[GenToken, ...]
    prompt_tokens: int
    stop_reason: StopReason
    seconds: float
    config: DecodeConfig
    max_new: int = 0

    @property
    def partial(self) -> bool:
        """Ended by a stop request before it finished (the text so far)."""
        return self.stop_reason == "stopped"

    @property
    def token_logprobs(self) -> tuple[float, ...]:
        return tuple(t.logprob for t in self.tokens)

    @property
    def token_strings(self) -> tuple[str, ...]:
        return tuple(t.text for t in self.tokens)

    @property
    def mean_logprob(self) -> float:
        return float(np.mean(self.token_logprobs)) if self.tokens else float("nan")

    @property
    def tokens_per_second(self) -> float:
        return len(self.tokens) / self.seconds if self.seconds > 0 else float("nan")
