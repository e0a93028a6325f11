"""Decoding strategies: the registry `DECODERS`, one step loop, and a pick function per strategy.

A strategy that picks one token per step is a `PickFn` made a decoder by `per_step` and
registered with a decorator; the one `step_loop` does the rest (advance the session, repetition
penalties, the `Choice` record, the stop check), so strategies differ only in how they pick the
next token::

    @DECODERS.register("greedy", description="greedy")
    @per_step
    def decode_greedy(logprobs, session, cfg, rng):
        return int(np.argmax(logprobs))

Strategies:

* ``greedy``: argmax of the (penalised) log-probs at each step; ties go to the lowest id.
* ``beam``: beam search keeping `num_beams` rows (`engine.generation.beam`, a search of its own).
* ``sample``: temperature, then top-k, then top-p (nucleus, Holtzman et al. 2020), drawn with a
  seeded `np.random.Generator`.
* ``contrastive``: contrastive decoding (Li et al. 2023). Among the plausible tokens
  ``V_head = {x : p_exp(x) >= alpha * max_x' p_exp(x')}`` pick the argmax of
  ``log p_exp(x) - log p_ama(x)``, where the amateur's log-probs use temperature
  `amateur_temperature`. The amateur is a smaller model sharing the tokenizer, or the same
  model's early exit (see `engine.generation.hf_model`). As in the paper's greedy variant, the
  choice is one token at a time (no CD beam).

Repetition controls apply to every strategy, on the log-probs before temperature
(`engine.generation.processors.apply_penalties`). How a strategy's tokens become streamed text:
`engine.generation.stream`. How to add a strategy: docs/howto/decoder.md.

This module also re-exports the names it held before the split into config / processors /
models / stream (the ``# re-exported`` imports), so ``from engine.generation.decoders import
GenerationStream`` keeps working.

References:
    Li et al. 2023, "Contrastive Decoding: Open-ended Text Generation as Optimization", ACL.
    Chuang et al. 2024, "DoLa: Decoding by Contrasting Layers Improves Factuality", ICLR.
    Holtzman et al. 2020, "The Curious Case of Neural Text Degeneration", ICLR.
    Fan et al. 2018, "Hierarchical Neural Story Generation" (top-k sampling).
"""

from __future__ import annotations

from functools import partial

import numpy as np

from engine.core.progress import StopFn as StopFn  # re-exported
from engine.generation.beam import decode_beam
from engine.generation.config import MAX_NEW_TOKENS as MAX_NEW_TOKENS  # re-exported
from engine.generation.config import STRATEGIES as STRATEGIES  # re-exported
from engine.generation.config import Choice as Choice  # re-exported
from engine.generation.config import DecodeConfig
from engine.generation.config import GenerationResult as GenerationResult  # re-exported
from engine.generation.config import GenToken as GenToken  # re-exported
from engine.generation.config import StopReason as StopReason  # re-exported
from engine.generation.config import StrategyName as StrategyName  # re-exported
from engine.generation.function_model import FunctionStepModel as FunctionStepModel  # re-exported
from engine.generation.function_model import PrefixFn as PrefixFn  # re-exported
from engine.generation.hf_model import HFStepModel as HFStepModel  # re-exported
from engine.generation.hf_model import as_step_model as as_step_model  # re-exported
from engine.generation.processors import apply_penalties, choice_at, contrastive_scores, filter_logits
from engine.generation.processors import log_softmax as log_softmax  # re-exported
from engine.generation.protocol import COMMON_OPTIONS as COMMON_OPTIONS  # re-exported
from engine.generation.protocol import (
    DECODERS,
    ChoiceStream,
    Decoder,
    FinishedFn,
    PickFn,
    StepFn,
    StepSession,
    never_stop,
)
from engine.generation.protocol import DecoderSpec as DecoderSpec  # re-exported
from engine.generation.protocol import StepModel as StepModel  # re-exported
from engine.generation.stops import find_stop as find_stop  # re-exported
from engine.generation.stops import safe_boundary as safe_boundary  # re-exported
from engine.generation.stream import GenerationStream as GenerationStream  # re-exported
from engine.generation.stream import generate as generate  # re-exported
from engine.generation.stream import stream_generate as stream_generate  # re-exported
from engine.generation.stream import with_strategy as with_strategy  # re-exported


def step_loop(
    pick: PickFn,
    session: StepSession,
    cfg: DecodeConfig,
    max_new: int,
    rng: np.random.Generator,
    finished: FinishedFn,
    at_step: StepFn = never_stop,
) -> ChoiceStream:
    """The one decoding loop of the per-step strategies: one row, one token per step.

    At each step: ask `at_step` whether to stop (from the second step on), feed the last token,
    penalise the model's log-probs by the counts of the tokens generated so far, let `pick`
    choose, and yield its `Choice` (with the model's own log-prob and top alternatives).
    `finished` is not needed here: the stream ends a single row at EOS or a stop sequence.
    """
    counts: np.ndarray | None = None
    token = -1
    for step in range(max_new):
        if step and at_step(step, ()):
            return
        if step:  # never advance past the last token: that forward pass would be wasted
            session.advance([0], [token])
        raw = session.logprobs()[0]  # [d_vocab]
        counts = np.zeros_like(raw) if counts is None else counts
        token = int(pick(apply_penalties(raw, counts, cfg), session, cfg, rng))
        yield choice_at(raw, token, cfg)
        counts[token] += 1


def per_step(pick: PickFn) -> Decoder:
    """The decoder that runs `pick` in `step_loop` (decorate a pick function with it)."""
    return partial(step_loop, pick)


@DECODERS.register("greedy", description="greedy")
@per_step
def decode_greedy(
    logprobs: np.ndarray, session: StepSession, cfg: DecodeConfig, rng: np.random.Generator
) -> int:
    """The most likely (penalised) token; ties go to the lowest id."""
    return int(np.argmax(logprobs))


DECODERS.register("beam", description="beam search", options=("num_beams", "length_penalty"))(decode_beam)


@DECODERS.register(
    "sample",
    description="sampling (temperature, top-k, top-p)",
    options=("seed", "temperature", "top_k", "top_p"),
)
@per_step
def decode_sample(
    logprobs: np.ndarray, session: StepSession, cfg: DecodeConfig, rng: np.random.Generator
) -> int:
    """A draw from the temperature / top-k / top-p filtered distribution (one `rng.random()`)."""
    lp = filter_logits(logprobs, cfg)
    support = np.flatnonzero(np.isfinite(lp))
    cdf = np.cumsum(np.exp(lp[support]))
    pick = int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))
    return int(support[min(pick, support.size - 1)])


@DECODERS.register(
    "contrastive",
    description="contrastive decoding (expert − amateur)",
    options=("alpha", "amateur_layer", "amateur_temperature"),
    amateur=True,
)
@per_step
def decode_contrastive(
    logprobs: np.ndarray, session: StepSession, cfg: DecodeConfig, rng: np.random.Generator
) -> int:
    """Greedy contrastive decoding: argmax of expert minus amateur over the plausible tokens."""
    amateur = session.amateur_logprobs()[0]  # [d_vocab]
    return int(np.argmax(contrastive_scores(logprobs, amateur, cfg.alpha, cfg.amateur_temperature)))
