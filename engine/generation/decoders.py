"""Text generation: decoding strategies over an incremental (KV-cached) model, streamed token by token.

Every strategy works through two small protocols, so a fake model with hand-set log-probs drives
the same code as the real one:

    StepModel.open(prompt_ids) -> StepSession      # prefill the prompt once
    StepSession.logprobs()      -> [row, d_vocab]  # next-token log-probs of each row (beam)
    StepSession.advance(parents, tokens)           # row r := old row parents[r] + tokens[r]

`HFStepModel` keeps a transformers `DynamicCache`: the prompt is run once, then each step feeds
one token per row, and beam search reorders the cache rows (`parents`). Every forward pass holds
`runner.lock`. `FunctionStepModel` recomputes a function of the prefix ids (no cache); it adapts
`engine.model.fake.FakeRunner` and serves as the no-cache baseline in `bench/generation.py`.

Strategies (registry `DECODERS`):

* ``greedy``: argmax of the (penalised) log-probs at each step.
* ``beam``: beam search keeping `num_beams` rows; a finished hypothesis (EOS or stop sequence)
  is scored ``sum log p / n_generated ** length_penalty`` and the search ends when no live beam
  can beat the worst kept hypothesis (the transformers "early_stopping=False" heuristic).
* ``sample``: temperature, then top-k, then top-p (nucleus: the smallest set of tokens whose
  probability mass reaches p, Holtzman et al. 2020), drawn with a seeded `np.random.Generator`.
* ``contrastive``: contrastive decoding (Li et al. 2023). Among the plausible tokens
  ``V_head = {x : p_exp(x) >= alpha * max_x' p_exp(x')}`` pick the argmax of
  ``log p_exp(x) - log p_ama(x)``, where the amateur's log-probs use temperature
  `amateur_temperature`. The amateur is a smaller model sharing the tokenizer when one is given
  (`HFStepModel(runner, amateur=...)`); otherwise (the bundled models share no tokenizer) it is
  the same model's early exit: the residual stream after the first `amateur_layer` decoder
  layers, passed through the model's final norm and unembedding (the "premature layer" of DoLa,
  Chuang et al. 2024). The early exit costs no extra forward pass. As in the paper's greedy
  variant, the choice is one token at a time (no CD beam).

Repetition controls apply to every strategy, on the log-probs before temperature, the OpenAI
way: ``l[x] -= frequency_penalty * c[x] + presence_penalty * [c[x] > 0]`` where ``c[x]`` counts
``x`` among the tokens generated so far (prompt tokens are not counted).

Streaming: `GenerationStream` yields a `GenToken` per token as soon as its text is final. Text
that could be the start of a stop sequence, or an incomplete UTF-8 character, is held back until
the next token decides it, so the concatenated `delta`s always equal the final `text`, which
ends right before the first stop sequence. The EOS token ends generation and is not part of it.
Each token carries its log-prob under the model itself (before penalties, temperature or
contrast) and the top alternatives, which the UI shows.

Stopping (issue 22, long work): `GenerationStream(..., should_stop=...)` asks `should_stop` at
every decoding step after the first; when it returns True the generation ends there and the
result is partial (stop reason ``stopped``): the text generated so far, every held-back piece
released. Beam search, which releases its text only when the search ends, returns its best
hypothesis so far (finished or live, length-normalised). `on_step` is called at every step with
the stream, whose `steps`, `seconds` and `snapshot()` (the partial result so far, a beam's best
hypothesis included) let a page show a count, a rate and the time left, and keep what is done.

References:
    Li et al. 2023, "Contrastive Decoding: Open-ended Text Generation as Optimization", ACL.
    Chuang et al. 2024, "DoLa: Decoding by Contrasting Layers Improves Factuality", ICLR.
    Holtzman et al. 2020, "The Curious Case of Neural Text Degeneration", ICLR.
    Fan et al. 2018, "Hierarchical Neural Story Generation" (top-k sampling).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args

import numpy as np

from engine.core.errors import ConfigError, lookup
from engine.core.progress import StopFn
from engine.prompting.prompts import PromptError

if TYPE_CHECKING:
    import torch

    from engine.model.hf_runner import HFRunner

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


# --------------------------------------------------------------------------- protocols
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


def log_softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax in float64 (`-inf` entries stay `-inf`)."""
    x = np.asarray(x, dtype=np.float64)
    m = np.max(x, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return x - m - np.log(np.sum(np.exp(x - m), axis=-1, keepdims=True))


# --------------------------------------------------------------------------- function-backed model
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


# --------------------------------------------------------------------------- Hugging Face model
class HFStepModel:
    """`StepModel` over an `HFRunner`, with a KV cache reordered for beams.

    Args:
        runner: the expert model.
        amateur: a smaller model sharing the expert's tokenizer, for contrastive decoding. When
            None, contrastive decoding uses the expert's early-exit logits (see module docstring).
    """

    def __init__(self, runner: HFRunner, amateur: HFRunner | None = None) -> None:
        self.runner = runner
        self.amateur = amateur
        tok = runner.tokenizer
        if amateur is not None and amateur.tokenizer.get_vocab() != tok.get_vocab():
            raise ConfigError(
                f"The amateur model {amateur.info.name!r} does not share the tokenizer of "
                f"{runner.info.name!r}; contrastive decoding needs the same vocabulary. Leave the amateur "
                "unset to use the model's own early-exit layer."
            )
        eos: set[int] = set()
        for cand in (tok.eos_token_id, getattr(runner.model.generation_config, "eos_token_id", None)):
            if isinstance(cand, int):
                eos.add(cand)
            elif isinstance(cand, list | tuple):
                eos.update(int(c) for c in cand)
        self._eos = frozenset(eos)
        self._prepared = False

    @property
    def d_vocab(self) -> int:
        return int(self.runner.model.get_output_embeddings().weight.shape[0])

    @property
    def n_ctx(self) -> int:
        return self.runner.info.n_ctx

    @property
    def eos_ids(self) -> frozenset[int]:
        return self._eos

    @property
    def n_layers(self) -> int:
        return self.runner.info.n_layers

    def encode_prompt(self, text: str) -> list[int]:
        ids = self.runner.encode(text)
        if not ids:
            tok = self.runner.tokenizer
            bos = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
            ids = [int(bos if bos is not None else 0)]
        return ids

    def decode(self, ids: Sequence[int]) -> str:
        return str(
            self.runner.tokenizer.decode(
                [int(i) for i in ids], skip_special_tokens=False, clean_up_tokenization_spaces=False
            )
        )

    def token_strings(self, ids: Sequence[int]) -> list[str]:
        return self.runner.token_strings(ids)

    def default_amateur_layer(self) -> int:
        return max(1, self.n_layers // 2)

    def prepare(self) -> None:
        """Loads the transformers model (a runner may start on the lean path) and runs one token
        through it, so that weights mapped from disk and the first call's kernel set-up are paid
        here, not in the first generation's time."""
        if self._prepared:
            return
        import torch

        for runner in (self.runner, self.amateur):
            if runner is None:
                continue
            model = runner.model
            device = next(model.parameters()).device
            with torch.no_grad():
                model(input_ids=torch.tensor([[self.encode_prompt("")[0]]], device=device))
        self._prepared = True

    def open(
        self, prompt_ids: Sequence[int], *, amateur: bool = False, amateur_layer: int | None = None
    ) -> StepSession:
        if not amateur:
            return _HFSession(self.runner, prompt_ids, None)
        if self.amateur is not None:
            return _PairedSession(
                _HFSession(self.runner, prompt_ids, None), _HFSession(self.amateur, prompt_ids, None)
            )
        layer = self.default_amateur_layer() if amateur_layer is None else amateur_layer
        if not 1 <= layer < self.n_layers:
            raise ConfigError(
                f"The amateur (early-exit) layer must be between 1 and {self.n_layers - 1} for "
                f"{self.runner.info.name} ({self.n_layers} layers), got {layer}."
            )
        return _HFSession(self.runner, prompt_ids, layer)


def _decoder(model: Any) -> Any:
    dec = model.get_decoder() if hasattr(model, "get_decoder") else model.model
    if not hasattr(dec, "layers") or not hasattr(dec, "norm"):
        raise ConfigError(
            f"{type(model).__name__} does not expose decoder layers and a final norm, so early-exit "
            "logits are not available; pick another strategy."
        )
    return dec


class _HFSession:
    """KV-cached decoding rows of one HF model; optional early-exit logits at `exit_layer`."""

    def __init__(self, runner: HFRunner, prompt_ids: Sequence[int], exit_layer: int | None) -> None:
        import torch
        from transformers import DynamicCache

        self.runner = runner
        self.exit_layer = exit_layer
        self._rows = 1
        model = runner.model
        self.cache = DynamicCache(config=model.config)
        self._run(torch.tensor([list(prompt_ids)], dtype=torch.long))

    @property
    def n_rows(self) -> int:
        return self._rows

    def _run(self, input_ids: torch.Tensor) -> None:
        """One forward pass of `input_ids` `[row, pos]` on top of the cache; keeps last-position log-probs."""
        import torch

        model = self.runner.model
        captured: list[torch.Tensor] = []
        handle = None
        if self.exit_layer is not None:
            layer = _decoder(model).layers[self.exit_layer - 1]

            def hook(_mod: Any, _inp: Any, out: Any) -> None:
                hidden = out[0] if isinstance(out, tuple) else out
                captured.append(hidden[:, -1:, :])  # [row, 1, d_model]

            handle = layer.register_forward_hook(hook)
        try:
            with self.runner.lock, torch.inference_mode():
                out = model(
                    input_ids=input_ids.to(self.runner.device), past_key_values=self.cache, use_cache=True
                )
                self.cache = out.past_key_values
                self._lp = torch.log_softmax(out.logits[:, -1, :].double(), dim=-1).cpu().numpy()
                if captured:
                    self._ama = self._early_exit_logprobs(captured[-1])
        finally:
            if handle is not None:
                handle.remove()
        self.runner.work.add(int(input_ids.numel()), 1)

    def _early_exit_logprobs(self, hidden: torch.Tensor) -> np.ndarray:
        """Final norm + unembedding of a lower layer's residual stream `[row, 1, d_model]`."""
        import torch

        model = self.runner.model
        logits = model.get_output_embeddings()(_decoder(model).norm(hidden))[:, -1, :].double()
        cap = getattr(model.config.get_text_config(), "final_logit_softcapping", None)
        if cap:
            logits = torch.tanh(logits / cap) * cap
        return torch.log_softmax(logits, dim=-1).cpu().numpy()

    def logprobs(self) -> np.ndarray:
        return self._lp

    def amateur_logprobs(self) -> np.ndarray:
        if self.exit_layer is None:
            raise ConfigError("This session has no amateur; open it with amateur=True.")
        return self._ama

    def advance(self, parents: Sequence[int], tokens: Sequence[int]) -> None:
        import torch

        if list(parents) != list(range(self._rows)):
            idx: Any = torch.tensor(list(parents), dtype=torch.long, device=self.runner.device)
            self.cache.reorder_cache(idx)  # index_select on every layer: copies, drops or expands rows
        self._rows = len(tokens)
        self._run(torch.tensor([[int(t)] for t in tokens], dtype=torch.long))


@dataclass(slots=True)
class _PairedSession:
    """An expert session and a separate amateur model's session, advanced together."""

    expert: _HFSession
    amateur: _HFSession

    @property
    def n_rows(self) -> int:
        return self.expert.n_rows

    def logprobs(self) -> np.ndarray:
        return self.expert.logprobs()

    def amateur_logprobs(self) -> np.ndarray:
        lp = self.amateur.logprobs()
        width = self.expert.logprobs().shape[-1]
        if lp.shape[-1] == width:
            return lp
        out = np.full((lp.shape[0], width), -np.inf)  # padded embeddings differ: missing ids are impossible
        n = min(width, lp.shape[-1])
        out[:, :n] = lp[:, :n]
        return out

    def advance(self, parents: Sequence[int], tokens: Sequence[int]) -> None:
        self.expert.advance(parents, tokens)
        self.amateur.advance(parents, tokens)


def as_step_model(runner: Any, *, amateur: Any = None) -> StepModel:
    """The `StepModel` for a runner: `HFStepModel` for an `HFRunner`, else a fake's function model."""
    from engine.model.hf_runner import HFRunner

    if isinstance(runner, HFRunner):
        return HFStepModel(runner, amateur)
    if hasattr(runner, "logits_fn") and hasattr(runner, "vocab"):
        return FunctionStepModel.from_fake(runner)
    raise ConfigError(f"Generation needs a Hugging Face model; {type(runner).__name__} cannot generate.")


# --------------------------------------------------------------------------- strategies
FinishedFn = Callable[[Sequence[int]], bool]
# called by a decoder at the start of every step after the first, with the step and its best
# hypothesis so far (beam search; () for the strategies that stream); True = stop here
StepFn = Callable[[int, Sequence[Choice]], bool]
ChoiceStream = Generator[Choice, None, None]
Decoder = Callable[[StepSession, DecodeConfig, int, np.random.Generator, FinishedFn, StepFn], ChoiceStream]


def never_stop(step: int, best: Sequence[Choice]) -> bool:
    """The `StepFn` of a run that cannot be stopped."""
    return False


def apply_penalties(logprobs: np.ndarray, counts: np.ndarray, cfg: DecodeConfig) -> np.ndarray:
    """OpenAI-style presence/frequency penalties on `[row, d_vocab]` log-probs (returns a new array)."""
    if cfg.presence_penalty == 0 and cfg.frequency_penalty == 0:
        return logprobs
    return logprobs - cfg.frequency_penalty * counts - cfg.presence_penalty * (counts > 0)


def _top(lp_row: np.ndarray, n: int) -> tuple[tuple[int, ...], tuple[float, ...]]:
    if n <= 0:
        return (), ()
    n = min(n, lp_row.shape[0])
    idx = np.argpartition(-lp_row, n - 1)[:n]
    idx = idx[np.lexsort((idx, -lp_row[idx]))]
    return tuple(int(i) for i in idx), tuple(float(lp_row[i]) for i in idx)


def _choice(raw_row: np.ndarray, token: int, cfg: DecodeConfig) -> Choice:
    top_ids, top_lps = _top(raw_row, cfg.n_top)
    return Choice(int(token), float(raw_row[token]), top_ids, top_lps)


def filter_logits(logits: np.ndarray, cfg: DecodeConfig) -> np.ndarray:
    """Temperature, then top-k, then top-p on one row `[d_vocab]`; returns log-probs (-inf = cut).

    Ties at the top-k boundary keep the lower ids; top-p keeps the smallest prefix of the
    tokens sorted by probability whose mass reaches `top_p` (at least one token).
    """
    x = np.asarray(logits, dtype=np.float64) / cfg.temperature
    x = log_softmax(x)
    order = np.lexsort((np.arange(x.shape[0]), -x))  # descending, ties by id
    keep = np.ones(x.shape[0], dtype=bool)
    if cfg.top_k is not None and cfg.top_k < x.shape[0]:
        keep[:] = False
        keep[order[: cfg.top_k]] = True
    if cfg.top_p is not None and cfg.top_p < 1.0:
        kept_order = order[keep[order]]
        probs = np.exp(x[kept_order])
        probs /= probs.sum()
        before = np.cumsum(probs) - probs
        nucleus = kept_order[before < cfg.top_p - 1e-12]
        keep[:] = False
        keep[nucleus if nucleus.size else kept_order[:1]] = True
    out = np.where(keep, x, -np.inf)
    return log_softmax(out)


def decode_greedy(
    session: StepSession,
    cfg: DecodeConfig,
    max_new: int,
    rng: np.random.Generator,
    finished: FinishedFn,
    at_step: StepFn = never_stop,
) -> ChoiceStream:
    """The most likely (penalised) token at each step; ties go to the lowest id."""
    counts: np.ndarray | None = None
    token = -1
    for step in range(max_new):
        if step and at_step(step, ()):
            return
        if step:  # never advance past the last token: that forward pass would be wasted
            session.advance([0], [token])
        raw = session.logprobs()[0]
        counts = np.zeros_like(raw) if counts is None else counts
        token = int(np.argmax(apply_penalties(raw, counts, cfg)))
        yield _choice(raw, token, cfg)
        counts[token] += 1


def decode_sample(
    session: StepSession,
    cfg: DecodeConfig,
    max_new: int,
    rng: np.random.Generator,
    finished: FinishedFn,
    at_step: StepFn = never_stop,
) -> ChoiceStream:
    """Ancestral sampling from the temperature / top-k / top-p filtered distribution (seeded `rng`)."""
    counts: np.ndarray | None = None
    token = -1
    for step in range(max_new):
        if step and at_step(step, ()):
            return
        if step:  # never advance past the last token: that forward pass would be wasted
            session.advance([0], [token])
        raw = session.logprobs()[0]
        counts = np.zeros_like(raw) if counts is None else counts
        lp = filter_logits(apply_penalties(raw, counts, cfg), cfg)
        support = np.flatnonzero(np.isfinite(lp))
        cdf = np.cumsum(np.exp(lp[support]))
        pick = int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))
        token = int(support[min(pick, support.size - 1)])
        yield _choice(raw, token, cfg)
        counts[token] += 1


def contrastive_scores(
    expert: np.ndarray, amateur: np.ndarray, alpha: float, amateur_temperature: float
) -> np.ndarray:
    """Li et al. (2023) score on one row: log p_exp - log p_ama on V_head, -inf elsewhere.

    Args:
        expert: `[d_vocab]` expert log-probs (already penalised).
        amateur: `[d_vocab]` amateur log-probs (temperature 1).
        alpha: plausibility cut-off: V_head = {x : p_exp(x) >= alpha * max p_exp}.
        amateur_temperature: the amateur distribution is softmax(log p_ama / temperature).
    """
    lp_e = log_softmax(expert)
    lp_a = log_softmax(np.asarray(amateur, dtype=np.float64) / amateur_temperature)
    head = lp_e >= np.max(lp_e) + math.log(alpha) if alpha > 0 else np.isfinite(lp_e)
    with np.errstate(invalid="ignore"):
        return np.where(head, lp_e - lp_a, -np.inf)


def decode_contrastive(
    session: StepSession,
    cfg: DecodeConfig,
    max_new: int,
    rng: np.random.Generator,
    finished: FinishedFn,
    at_step: StepFn = never_stop,
) -> ChoiceStream:
    """Greedy contrastive decoding: argmax of expert minus amateur over the plausible tokens."""
    counts: np.ndarray | None = None
    token = -1
    for step in range(max_new):
        if step and at_step(step, ()):
            return
        if step:  # never advance past the last token: that forward pass would be wasted
            session.advance([0], [token])
        raw = session.logprobs()[0]
        ama = session.amateur_logprobs()[0]
        counts = np.zeros_like(raw) if counts is None else counts
        scores = contrastive_scores(
            apply_penalties(raw, counts, cfg), ama, cfg.alpha, cfg.amateur_temperature
        )
        token = int(np.argmax(scores))
        yield _choice(raw, token, cfg)
        counts[token] += 1


@dataclass(frozen=True, slots=True)
class _Hyp:
    ids: tuple[int, ...]
    score: float  # sum of penalised log-probs
    choices: tuple[Choice, ...] = field(default=())


def _normalised(score: float, length: int, length_penalty: float) -> float:
    return score / (max(length, 1) ** length_penalty)


def decode_beam(
    session: StepSession,
    cfg: DecodeConfig,
    max_new: int,
    rng: np.random.Generator,
    finished: FinishedFn,
    at_step: StepFn = never_stop,
) -> ChoiceStream:
    """Beam search; yields the best hypothesis' tokens once the search is over.

    At each step the live beams' 2 * num_beams best extensions are ranked; an extension that
    finishes (EOS or a stop sequence) and ranks within the first num_beams is kept as a
    hypothesis, the others fill the live beams up to num_beams. When `at_step` says stop, the
    live beams compete as they are with the finished ones (as when out of tokens).
    """
    n = cfg.num_beams
    live = [_Hyp((), 0.0)]
    done: list[tuple[float, _Hyp]] = []
    counts: np.ndarray | None = None
    for step in range(max_new):
        if step:
            scored = [*done, *((_normalised(h.score, len(h.ids), cfg.length_penalty), h) for h in live)]
            if at_step(step, max(scored, key=lambda d: d[0])[1].choices):
                done = scored
                break
        raw = session.logprobs()  # [row, d_vocab]
        counts = np.zeros_like(raw) if counts is None else counts
        lp = log_softmax(apply_penalties(raw, counts, cfg))
        total = np.asarray([h.score for h in live])[:, None] + lp  # [row, d_vocab]
        flat = total.ravel()
        n_cand = min(2 * n, flat.size)
        cand = np.argpartition(-flat, n_cand - 1)[:n_cand]
        cand = cand[np.lexsort((cand, -flat[cand]))]
        nxt: list[_Hyp] = []
        parents: list[int] = []
        tokens: list[int] = []
        for rank, flat_i in enumerate(cand):
            if not np.isfinite(flat[flat_i]):
                break
            row, token = divmod(int(flat_i), lp.shape[1])
            h = live[row]
            hyp = _Hyp((*h.ids, token), float(flat[flat_i]), (*h.choices, _choice(raw[row], token, cfg)))
            if finished(hyp.ids):
                if rank < n:
                    done.append((_normalised(hyp.score, len(hyp.ids), cfg.length_penalty), hyp))
            else:
                nxt.append(hyp)
                parents.append(row)
                tokens.append(token)
            if len(nxt) == n:
                break
        done = sorted(done, key=lambda d: -d[0])[:n]
        if not nxt:
            break
        best_live = _normalised(max(h.score for h in nxt), step + 1, cfg.length_penalty)
        if len(done) == n and done[-1][0] >= best_live:
            break  # no live beam can overtake the kept hypotheses
        if step + 1 == max_new:  # out of tokens: the live beams compete as they are
            done.extend((_normalised(h.score, len(h.ids), cfg.length_penalty), h) for h in nxt)
            break
        session.advance(parents, tokens)
        counts = counts[parents]
        counts[np.arange(len(tokens)), tokens] += 1
        live = nxt
    if done:
        yield from max(done, key=lambda d: d[0])[1].choices


DECODERS: dict[str, Decoder] = {
    "greedy": decode_greedy,
    "beam": decode_beam,
    "sample": decode_sample,
    "contrastive": decode_contrastive,
}


# --------------------------------------------------------------------------- streaming wrapper
def find_stop(text: str, stops: Sequence[str]) -> int | None:
    """Character index of the earliest stop sequence in `text`, or None."""
    found = [i for i in (text.find(s) for s in stops) if i >= 0]
    return min(found) if found else None


def safe_boundary(text: str, stops: Sequence[str]) -> int:
    """How much of `text` is final: excludes a trailing incomplete character and a trailing
    proper prefix of any stop sequence (the next tokens decide whether it is a stop)."""
    safe = len(text.rstrip("\ufffd"))
    head = text[:safe]
    hold = 0
    for s in stops:
        for k in range(min(len(s) - 1, safe), hold, -1):
            if head.endswith(s[:k]):
                hold = k
                break
    return safe - hold


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
        self._decoder = lookup(DECODERS, cfg.strategy, "decoding strategy")
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
                self.prompt_ids, amateur=cfg.strategy == "contrastive", amateur_layer=cfg.amateur_layer
            )
            gen = self._decoder(
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
