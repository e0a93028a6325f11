"""The model runner: one type that tokenizes, runs forward passes and returns log-probs.

Everything above this module (scorers, retrievers that query the model, head scores,
generation) talks to a model only through the `ModelRunner` protocol, so that a hand-made
`FakeRunner` (tests/unit) and the real `HFRunner` are interchangeable.

Shape vocabulary (TransformerLens style):
    logits            [batch, pos, d_vocab]
    attention pattern [layer, head, q_pos, k_pos]

Context / continuation split (lm-evaluation-harness, done on character offsets):

    text = context + continuation          e.g. "...Sentiment:" + " positive"
    tokens of the *whole* text:  [t0 t1 ... t_{c-1} | t_c ... t_{n-1}]
                                  context tokens     continuation tokens
    A token belongs to the continuation when it ends after len(context), so a token that
    straddles the seam (the tokenizer merged across it) is scored as continuation.
    log P(continuation | context) = sum_{i=c}^{n-1} log p(t_i | t_<i), read from the logits at
    positions c-1 ... n-2.

Trailing whitespace of the context is moved to the continuation first, so "Sentiment: " +
"positive" is scored as "Sentiment:" + " positive" (the way the tokenizer saw it in training).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from engine.prompts import check_prompt_text

if TYPE_CHECKING:
    import torch

ProgressFn = Callable[[float, str], None]


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


def pick_device(preference: str | None = None) -> str:
    """'cuda' when a GPU is present (or asked for and present), else 'cpu'."""
    import torch

    if preference in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if preference == "cuda" and not torch.cuda.is_available():
        return "cpu"
    return preference


class HFRunner:
    """`ModelRunner` over a Hugging Face causal LM and its fast tokenizer.

    The model is loaded in fp32 with eager attention (so attention patterns are available) and
    is never mutated after construction; hooks (ablation) are always removed in `finally`.
    Forward passes are serialised with a lock so that several app sessions can share one
    cached runner safely.

    Fast start: ``model`` may be None with a ``lean`` model (`engine.lean_llama.LeanLlama`) and a
    ``load_model`` callable instead. Scoring and `forward_logits` then run on the lean model,
    and the first access to `model` (attention patterns, hooks, generation) loads the
    ``transformers`` model, which from then on does all the work (the lean one is dropped).
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        name: str,
        source: str,
        device: str,
        max_batch_tokens: int = 8192,
        lean: Any = None,
        load_model: Callable[[], Any] | None = None,
    ) -> None:
        if model is None and (lean is None or load_model is None):
            raise ValueError("HFRunner needs a model, or a lean model and a loader for the full one.")
        self._model = model
        self._lean = None if model is not None else lean
        self._load_model = load_model
        self.tokenizer = tokenizer
        self.device = device
        self.max_batch_tokens = max_batch_tokens
        self.lock = threading.RLock()
        self._work = WorkCounter()
        active = self.scoring_model
        cfg = active.config
        text_cfg = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
        n_ctx = int(getattr(text_cfg, "max_position_embeddings", 2048) or 2048)
        self._info = ModelInfo(
            name=name,
            n_layers=int(text_cfg.num_hidden_layers),
            n_heads=int(text_cfg.num_attention_heads),
            d_model=int(text_cfg.hidden_size),
            d_vocab=int(text_cfg.vocab_size),
            n_ctx=n_ctx,
            device=device,
            dtype=str(next(active.parameters()).dtype).replace("torch.", ""),
            source=source,
            has_chat_template=bool(getattr(tokenizer, "chat_template", None)),
        )
        self.pad_id = self._pad_id()
        from engine.prefix_cache import SpanCache

        self.span_cache = SpanCache()

    @property
    def model(self) -> Any:
        """The ``transformers`` model (loaded now if the runner started on the lean path)."""
        if self._model is None:
            with self.lock:
                if self._model is None:
                    assert self._load_model is not None
                    self._model = self._load_model()
                    self._lean = None
        return self._model

    @property
    def model_loaded(self) -> bool:
        """Whether the ``transformers`` model is in memory (False while on the lean path)."""
        return self._model is not None

    @property
    def scoring_model(self) -> Any:
        """The model scores come from: the ``transformers`` one once loaded, else the lean one."""
        model = self._model
        return model if model is not None else self._lean

    # ----------------------------------------------------------------- basics
    @property
    def info(self) -> ModelInfo:
        return self._info

    @property
    def work(self) -> WorkCounter:
        return self._work

    def _pad_id(self) -> int:
        tok = self.tokenizer
        for cand in (tok.pad_token_id, tok.eos_token_id, tok.bos_token_id, 0):
            if cand is not None:
                return int(cand)
        return 0

    def _bos_id(self) -> int:
        tok = self.tokenizer
        for cand in (tok.bos_token_id, tok.eos_token_id, self.pad_id):
            if cand is not None:
                return int(cand)
        return 0

    def encode(self, text: str, *, add_special_tokens: bool = True) -> list[int]:
        check_prompt_text(text, "The text to tokenise")  # the tokenizer's TypeError says nothing
        return list(self.tokenizer(text, add_special_tokens=add_special_tokens)["input_ids"])

    def decode(self, ids: Sequence[int]) -> str:
        return str(self.tokenizer.decode(list(ids)))

    def token_strings(self, ids: Sequence[int]) -> list[str]:
        """Readable string of each token; see `readable_pieces`."""
        return readable_pieces(self.tokenizer.decode, ids)

    def encode_with_offsets(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        check_prompt_text(text, "The text to tokenise")
        enc = self.tokenizer(text, add_special_tokens=True, return_offsets_mapping=True)
        ids = list(enc["input_ids"])
        offsets = [(int(a), int(b)) for a, b in enc["offset_mapping"]]
        return ids, offsets

    def split(self, context: str, continuation: str) -> TokenSplit:
        context, continuation = move_trailing_space(context, continuation)
        ids, offsets = self.encode_with_offsets(context + continuation)
        # tokenizers that append EOS/SEP give it offsets (0, 0): it is not part of the text
        while len(ids) > 1 and offsets[-1] == (0, 0) and len(context + continuation) > 0:
            ids.pop()
            offsets.pop()
        cut = len(context)
        n_context = len(ids)
        for i, (_start, end) in enumerate(offsets):
            # special tokens (BOS) have offsets (0, 0) and so always stay in the context
            if end > cut:
                n_context = i
                break
        prepended = False
        if n_context == 0:
            ids = [self._bos_id(), *ids]
            n_context = 1
            prepended = True
        return TokenSplit(ids=tuple(ids), n_context=n_context, prepended=prepended)

    # ----------------------------------------------------------------- forward
    def forward_logits(self, batch: Sequence[Sequence[int]]) -> torch.Tensor:
        """Right-padded forward pass; returns `[batch, pos, d_vocab]` float32 logits on CPU."""
        import torch

        max_len = max(len(s) for s in batch)
        input_ids = torch.full((len(batch), max_len), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), max_len), dtype=torch.long)
        for i, seq in enumerate(batch):
            input_ids[i, : len(seq)] = torch.tensor(list(seq), dtype=torch.long)
            mask[i, : len(seq)] = 1
        with self.lock, torch.inference_mode():
            out = self.scoring_model(
                input_ids=input_ids.to(self.device), attention_mask=mask.to(self.device), use_cache=False
            )
        self._work.add(int(mask.sum()), 1)
        return out.logits.float().cpu()

    def _batches(self, lengths: Sequence[int]) -> list[list[int]]:
        """Indices grouped into batches of similar length under `max_batch_tokens`."""
        order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
        batches: list[list[int]] = []
        cur: list[int] = []
        cur_max = 0
        for i in order:
            new_max = max(cur_max, lengths[i])
            if cur and new_max * (len(cur) + 1) > self.max_batch_tokens:
                batches.append(cur)
                cur, cur_max = [], 0
                new_max = lengths[i]
            cur.append(i)
            cur_max = new_max
        if cur:
            batches.append(cur)
        return batches

    def score(
        self, requests: Sequence[ScoreRequest], *, progress: ProgressFn | None = None
    ) -> list[ScoreResult]:
        """log P(continuation | context) for each request, order kept.

        Runs on the shared-prefix fast path (`score_spans`): requests with a common context (the
        candidates of one prompt) share one pass over it, and results are cached by tokens.
        """
        splits = [self.split(r.context, r.continuation) for r in requests]
        spans = self.score_spans([SpanRequest(sp.ids, sp.n_context) for sp in splits], progress=progress)
        out: list[ScoreResult] = []
        for sp, res in zip(splits, spans, strict=True):
            cont = sp.ids[sp.n_context :]
            out.append(
                ScoreResult(
                    logprob=float(sum(res.token_logprobs)),
                    n_tokens=len(cont),
                    token_ids=tuple(cont),
                    tokens=tuple(self.token_strings(cont)),
                    token_logprobs=res.token_logprobs,
                    context_tokens=sp.n_context,
                )
            )
        return out

    def score_spans(
        self, requests: Sequence[SpanRequest], *, fast: bool = True, progress: ProgressFn | None = None
    ) -> list[SpanResult]:
        """Token-level log-probs (see `SpanRequest`).

        ``fast=True`` shares prefix passes and caches results in `span_cache`
        (`engine.prefix_cache.score_spans_cached`); ``fast=False`` runs one full forward per
        request, uncached (`score_spans_plain`, the reference the fast path is tested against).
        """
        from engine.prefix_cache import score_spans_cached, score_spans_plain

        if fast:
            return score_spans_cached(self, requests, cache=self.span_cache, progress=progress)
        return score_spans_plain(self, requests, progress=progress)

    def next_token_logprobs(self, prompts: Sequence[str]) -> np.ndarray:
        import torch

        seqs = [self.encode(move_trailing_space(p, "")[0]) or [self._bos_id()] for p in prompts]
        out = np.zeros((len(seqs), self._info.d_vocab), dtype=np.float32)
        for idx in self._batches([len(s) for s in seqs]):
            logits = self.forward_logits([seqs[i] for i in idx])
            for row, i in enumerate(idx):
                last = logits[row, len(seqs[i]) - 1]
                out[i] = torch.log_softmax(last, dim=-1).numpy()[: self._info.d_vocab]
        return out

    def sequence_logprobs(self, text: str) -> SequenceLogprobs:
        import torch

        ids, offsets = self.encode_with_offsets(text)
        if not ids:
            return SequenceLogprobs((), (), (), ())
        logits = self.forward_logits([ids])[0]
        lp = torch.log_softmax(logits, dim=-1)
        vals = [float("nan")]
        vals += [float(lp[i - 1, ids[i]]) for i in range(1, len(ids))]
        return SequenceLogprobs(tuple(ids), tuple(self.token_strings(ids)), tuple(vals), tuple(offsets))

    def attention(self, text: str) -> AttentionResult:
        import torch

        ids, offsets = self.encode_with_offsets(text)
        if not ids:
            ids, offsets = [self._bos_id()], [(0, 0)]
        with self.lock, torch.inference_mode():
            out = self.model(
                input_ids=torch.tensor([ids], device=self.device),
                output_attentions=True,
                use_cache=False,
            )
        self._work.add(len(ids), 1)
        pattern = torch.stack([a[0] for a in out.attentions]).float().cpu().numpy()
        return AttentionResult(pattern, tuple(self.token_strings(ids)), tuple(offsets))
