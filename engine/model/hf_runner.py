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
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.core.text_safety import check_prompt_text
from engine.model.batching import length_batches
from engine.model.prefix_cache import SpanCache, score_spans_cached, score_spans_plain
from engine.model.protocol import (
    MAX_PIECES_PER_CHAR as MAX_PIECES_PER_CHAR,
)
from engine.model.protocol import (
    AttentionResult as AttentionResult,
)
from engine.model.protocol import (
    ModelInfo as ModelInfo,
)
from engine.model.protocol import (
    ModelRunner as ModelRunner,
)
from engine.model.protocol import (  # re-exported: the runner module was their home
    ProgressFn as ProgressFn,
)
from engine.model.protocol import (
    ScoreRequest as ScoreRequest,
)
from engine.model.protocol import (
    ScoreResult as ScoreResult,
)
from engine.model.protocol import (
    SequenceLogprobs as SequenceLogprobs,
)
from engine.model.protocol import (
    SpanRequest as SpanRequest,
)
from engine.model.protocol import (
    SpanResult as SpanResult,
)
from engine.model.protocol import (
    SpanScorer as SpanScorer,
)
from engine.model.protocol import (
    TokenSplit as TokenSplit,
)
from engine.model.protocol import (
    WorkCounter as WorkCounter,
)
from engine.model.protocol import (
    move_trailing_space as move_trailing_space,
)
from engine.model.protocol import (
    readable_pieces as readable_pieces,
)

if TYPE_CHECKING:
    import torch


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

    Fast start: ``model`` may be None with a ``lean`` model (`engine.model.lean_llama.LeanLlama`) and a
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
        return length_batches(lengths, self.max_batch_tokens)

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
        (`engine.model.prefix_cache.score_spans_cached`); ``fast=False`` runs one full forward per
        request, uncached (`score_spans_plain`, the reference the fast path is tested against).
        """
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
