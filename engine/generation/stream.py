"""Streaming: `GenerationStream` runs a registered decoder and yields a `GenToken` per token as
soon as its text is final.

Text that could be the start of a stop sequence, or an incomplete UTF-8 character, is held back
until the next token decides it, so the concatenated `delta`s always equal the final `text`,
which ends right before the first stop sequence. The EOS token ends generation and is not part
of it. Each token carries its log-prob under the model itself (before penalties, temperature or
contrast) and the top alternatives, which the UI shows.

Stopping (issue 22, long work): `GenerationStream(..., should_stop=...)` asks `should_stop` at
every decoding step after the first; when it returns True the generation ends there and the
result is partial (stop reason ``stopped``): the text generated so far, every held-back piece
released. Beam search, which releases its text only when the search ends, returns its best
hypothesis so far (finished or live, length-normalised). `on_step` is called at every step with
the stream, whose `steps`, `seconds` and `snapshot()` (the partial result so far, a beam's best
hypothesis included) let a page show a count, a rate and the time left, and keep what is done.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

import numpy as np

from engine.core.progress import StopFn
from engine.generation.config import (
    Choice,
    DecodeConfig,
    GenerationResult,
    GenToken,
    StopReason,
    StrategyName,
)
from engine.generation.protocol import DECODERS, ChoiceStream, StepModel
from engine.generation.stops import find_stop, safe_boundary
from engine.prompting.prompts import PromptError


class GenerationStream:
    """Generates from one prompt, yielding each `GenToken` as soon as its text is final.

    Iterate it (once) to stream; `result()` finishes the generation if needed and returns the
    `GenerationResult`. The prompt is run when iteration starts, not on construction.

    Args:
        model: the model, as a `StepModel` (see `as_step_model`).
        prompt: the prompt text (tokenized with the model's special tokens, e.g. BOS), or ids.
        cfg: decoding settings.
        should_stop: asked at every decoding step after the first; True ends the generation
            there, its result partial (stop reason ``stopped``).
        on_step: called with the stream at every decoding step after the first (before
            `should_stop`), e.g. to show `steps` / `max_new` and keep `snapshot()`.

    Raises:
        PromptError: empty prompt, or a prompt that fills the model's context.
        ConfigError: unknown strategy or an amateur the model cannot provide.
    """

    def __init__(
        self,
        model: StepModel,
        prompt: str | Sequence[int],
        cfg: DecodeConfig,
        *,
        should_stop: StopFn | None = None,
        on_step: Callable[[GenerationStream], None] | None = None,
    ) -> None:
        self.model = model
        self.cfg = cfg
        self.should_stop = should_stop
        self.on_step = on_step
        self._spec = DECODERS.lookup(cfg.strategy)
        if isinstance(prompt, str):
            if not prompt.strip():
                raise PromptError("The prompt is empty; type the text the model should continue.")
            self.prompt_ids = model.encode_prompt(prompt)
        else:
            self.prompt_ids = [int(i) for i in prompt]
            if not self.prompt_ids:
                raise PromptError("The prompt has no tokens.")
        room = model.n_ctx - len(self.prompt_ids)
        if room < 1:
            raise PromptError(
                f"The prompt takes {len(self.prompt_ids)} tokens but the model's context is {model.n_ctx} "
                "tokens, so nothing can be generated. Remove demonstrations or shorten the prompt."
            )
        self.max_new = min(cfg.max_new_tokens, room)
        self._tokens: list[GenToken] = []
        self._emitted = 0  # characters of the text released so far
        self._group_lo = 0  # a token index at or before the next one released that starts a character
        self._text = ""
        self._reason: StopReason = "max_new_tokens"
        self._busy = 0.0
        self._t0: float | None = None  # start of the decoding time not yet added to _busy
        self._steps = 0
        self._best: Sequence[Choice] = ()  # a beam search's best hypothesis so far
        self._stopped = False
        self._iter = self._run()

    def __iter__(self) -> Iterator[GenToken]:
        return self._iter

    def __next__(self) -> GenToken:
        return next(self._iter)

    def result(self) -> GenerationResult:
        """Runs the generation to its end (if not done yet) and returns the result."""
        for _ in self._iter:
            pass
        return GenerationResult(
            text=self._text,
            tokens=tuple(self._tokens),
            prompt_tokens=len(self.prompt_ids),
            stop_reason=self._reason,
            seconds=self._busy,
            config=self.cfg,
            max_new=self.max_new,
        )

    @property
    def steps(self) -> int:
        """Decoding steps done (tokens generated; a beam search's depth), including held-back ones."""
        return self._steps

    @property
    def seconds(self) -> float:
        """Decoding time so far (prefill included, model loading and the caller's time excluded)."""
        running = 0.0 if self._t0 is None else time.perf_counter() - self._t0
        return self._busy + running

    @property
    def tokens_per_second(self) -> float:
        """Decoding steps per second so far (nan before the first)."""
        seconds = self.seconds
        return self._steps / seconds if self._steps and seconds > 0 else float("nan")

    def snapshot(self) -> GenerationResult:
        """What is generated so far, as a partial result (stop reason ``stopped``).

        The tokens released so far and their text; a beam search, which releases nothing before
        it ends, gives its best hypothesis so far (cut before a stop sequence). Text held back
        for a possible stop sequence is not in it (the next token would decide it).
        """
        tokens = tuple(self._tokens)
        text = "".join(tok.delta for tok in tokens)
        if not tokens and self._best:
            ids = [c.token_id for c in self._best if c.token_id not in self.model.eos_ids]
            pieces = self.model.token_strings(ids)
            text = self.model.decode(ids)
            cut = find_stop(text, self.cfg.stop) if self.cfg.stop else None
            text = text if cut is None else text[:cut]
            tokens = tuple(
                GenToken(c.token_id, piece, piece, c.logprob)
                for c, piece in zip(self._best, pieces, strict=False)
            )
        return GenerationResult(
            text=text,
            tokens=tokens,
            prompt_tokens=len(self.prompt_ids),
            stop_reason="stopped",
            seconds=self.seconds,
            config=self.cfg,
            max_new=self.max_new,
        )

    def _piece(self, ids: list[int], g: int) -> str:
        """Readable string of generated token `g` (see `engine.model.hf_runner.readable_pieces`).

        Byte-level BPE splits a character such as "中" over 2-3 tokens, each of which decodes
        alone to U+FFFD; decoded with its neighbours, the first piece shows the character and
        the others "". The window starts at the first token of the character before `g` (a
        window starting mid-character would misalign the pieces) and reaches 3 tokens past `g`
        (a character spans at most 4 byte tokens), so each call costs O(1).
        """
        lo = self._group_lo
        pieces = self.model.token_strings(ids[lo : g + 4])
        j = g - lo
        while j > 0 and pieces[j] == "":
            j -= 1  # back to the first piece of g's character
        self._group_lo = lo + j
        return pieces[g - lo]

    def _release(self, ids: list[int], text: str, limit: int, final: bool) -> list[GenToken]:
        """Releases pending tokens up to character `limit` of `text` (all that start before it when final)."""
        out: list[GenToken] = []
        while len(self._tokens) + len(out) < len(ids):
            g = len(self._tokens) + len(out)
            if g + 1 == len(ids):
                end = len(text)
            else:
                prefix = self.model.decode(ids[: g + 1])
                end = (
                    len(prefix.rstrip("\ufffd"))
                    if text.startswith(prefix.rstrip("\ufffd"))
                    else self._emitted
                )
            end = max(end, self._emitted)
            if final:
                if self._emitted >= limit and g > 0:
                    break
                end = min(end, limit)
            elif end > limit:
                break
            piece = self._piece(ids, g)
            if not final and piece.endswith("\ufffd"):
                break  # the rest of this character's bytes are not generated yet
            choice = self._pending[g - len(self._tokens)]
            out.append(
                GenToken(
                    id=choice.token_id,
                    text=piece,
                    delta=text[self._emitted : end],
                    logprob=choice.logprob,
                    top=tuple(
                        zip(
                            self.model.token_strings(choice.top_ids),
                            choice.top_logprobs,
                            strict=True,
                        )
                    ),
                )
            )
            self._emitted = end
        del self._pending[: len(out)]
        return out

    def _pause(self) -> None:
        """Adds the decoding time since the last `_resume` to the total (the caller's time is not decoding)."""
        if self._t0 is not None:
            self._busy += time.perf_counter() - self._t0
            self._t0 = None

    def _resume(self) -> None:
        self._t0 = time.perf_counter()

    def _at_step(self, step: int, best: Sequence[Choice]) -> bool:
        """The decoders' `StepFn`: counts the step, tells `on_step`, asks `should_stop`."""
        self._steps = step
        self._best = best
        if self.on_step is not None:
            self._pause()  # a page drawing its progress bar is not decoding
            try:
                self.on_step(self)
            finally:
                self._resume()
        if self.should_stop is not None and self.should_stop():
            self._stopped = True
        return self._stopped

    def _run(self) -> Iterator[GenToken]:
        cfg = self.cfg
        self.model.prepare()  # loading the model is not decoding: before the clock starts
        self._resume()
        stops = cfg.stop
        eos = self.model.eos_ids if cfg.stop_at_eos else frozenset()

        def finished(ids: Sequence[int]) -> bool:
            return ids[-1] in eos or (bool(stops) and find_stop(self.model.decode(ids), stops) is not None)

        ids: list[int] = []
        self._pending: list[Choice] = []
        text = ""
        limit: int | None = None
        gen: ChoiceStream | None = None
        try:
            session = self.model.open(
                self.prompt_ids, amateur=self._spec.amateur, amateur_layer=cfg.amateur_layer
            )
            gen = self._spec.fn(
                session, cfg, self.max_new, np.random.default_rng(cfg.seed), finished, self._at_step
            )
            for choice in gen:
                if choice.token_id in eos:
                    self._reason = "eos"
                    break
                ids.append(choice.token_id)
                self._pending.append(choice)
                text = self.model.decode(ids)
                limit = find_stop(text, stops) if stops else None
                if limit is not None:
                    self._reason = "stop_sequence"
                    break
                released = self._release(ids, text, safe_boundary(text, stops), final=False)
                for tok in released:
                    self._tokens.append(tok)
                    self._pause()
                    yield tok
                    self._resume()
            else:
                if self._stopped:
                    self._reason = "stopped"  # the text so far: everything held back is released below
                elif len(ids) >= self.max_new and self.max_new < cfg.max_new_tokens:
                    self._reason = "context_full"
            self._steps = max(self._steps, len(ids))
            end = len(text) if limit is None else limit
            for tok in self._release(ids, text, end, final=True):
                self._tokens.append(tok)
                self._pause()
                yield tok
                self._resume()
            self._text = text[:end]
        finally:
            if gen is not None:
                gen.close()
            self._pause()


def stream_generate(
    model: StepModel,
    prompt: str | Sequence[int],
    cfg: DecodeConfig,
    *,
    should_stop: StopFn | None = None,
    on_step: Callable[[GenerationStream], None] | None = None,
) -> GenerationStream:
    """A `GenerationStream` (iterate for tokens, then call `.result()`)."""
    return GenerationStream(model, prompt, cfg, should_stop=should_stop, on_step=on_step)


def generate(model: StepModel, prompt: str | Sequence[int], cfg: DecodeConfig) -> GenerationResult:
    """Generates to the end and returns the result (see `GenerationStream`)."""
    return GenerationStream(model, prompt, cfg).result()


def with_strategy(cfg: DecodeConfig, strategy: StrategyName) -> DecodeConfig:
    """The same settings with another strategy (for side-by-side comparisons)."""
    return replace(cfg, strategy=strategy)
