"""The scoring fast path: shared-prefix KV caching, deduplicated rows, projection only where needed.

Every scorer reduces to token-level `SpanRequest`s: "log p(ids[i] | ids[:i]) for i >= start". Many
requests share most of their tokens: the labels of one query share the prompt; queries with the
same demonstrations share the demonstrations; perplexity needs every position of a prompt that
is the same for every label. `score_spans_cached` does each piece of that work once:

    block (same demonstrations)       P = common token prefix of the block's inputs
    +----------------------------+-------------------+
    | P: one pass, batch 1       | row: query i      |  rows run in batches with P's KV cache
    |  (KV cache kept)           |  (deduplicated)   |  repeated over the batch
    +----------------------------+-------------------+
                                  ^ label tokens are read from the row's logits: a request
                                    whose input beyond P is "row + at most its last token" needs
                                    no pass of its own, so single-token labels of one query all
                                    come from one next-token distribution.

Definitions. A request needs the distributions at positions ``start-1 ... n-2`` (plus ``n-1``
with ``keep_last``); its *input* is ``ids[:n-1]`` (``ids[:n]`` with keep_last), the tokens whose
hidden states are needed. A block's prefix ``P`` is the common prefix of its requests' inputs;
a request's *row* is its input beyond ``P`` (rows are deduplicated, so two labels of one query
whose only difference is the last token share one row). Positions below ``len(P)`` are read from
the prefix pass; the others from the row.

Only the needed positions go through the vocabulary projection (``lm_head``): the decoder's
hidden states are gathered first, so direct scoring of single-token labels projects one position
per query instead of the whole prompt.

The tokens of each request are its full text's own tokenization, so a prefix here is always a
prefix of each full token sequence (never a separately tokenized context whose last token could
differ where the tokenizer merges across the seam).

`score_spans_plain` is the reference the fast path is measured and tested against: one full
forward pass per request and a full vocabulary projection at every position, which is what
OpenICL's inferencers do (batched by length here too, so the comparison is fair).

References:
    Kwon et al. 2023, "Efficient Memory Management for LLM Serving with PagedAttention" and Zheng
    et al. 2024, "SGLang: Efficient Execution of Structured LM Programs" (RadixAttention) for
    prefix sharing; Wu et al. 2023, OpenICL (arXiv:2303.02913) for the plain per-label way.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from engine.core.progress import ProgressFn
from engine.model.batching import length_batches, row_batches
from engine.model.protocol import ModelInfo, SpanRequest, SpanResult, WorkCounter

if TYPE_CHECKING:
    import torch


class DecoderBackend(Protocol):
    """What shared-prefix scoring needs of a runner (`engine.model.hf_runner.DecoderBackend` has it).

    A small protocol instead of the runner class, so that this module does not import the runner
    that calls it (the old layout had an import cycle hidden inside functions).
    """

    device: str
    max_batch_tokens: int
    pad_id: int
    lock: Any  # a threading.RLock: forward passes of one model are serialised

    @property
    def info(self) -> ModelInfo: ...

    @property
    def work(self) -> WorkCounter: ...

    @property
    def scoring_model(self) -> Any: ...

    def forward_logits(self, batch: Sequence[Sequence[int]]) -> torch.Tensor: ...


# Positions projected onto the vocabulary at once (bounds memory: 256 x 262k x 4 B = 268 MB for Gemma).
PROJECT_CHUNK = 256

SpanKey = tuple[tuple[int, ...], int, bool]


def span_key(req: SpanRequest) -> SpanKey:
    """Everything that determines a span's answer on a given runner."""
    return (req.ids, req.start, req.keep_last)


@dataclass(slots=True)
class SpanCache:
    """Thread-safe LRU of span results, one per runner (the runner determines the model).

    Keys are `span_key` (token ids, start, keep_last): everything else (prompt, demonstrations,
    scorer, label words) only matters through the tokens, so a rerun with one changed
    demonstration recomputes exactly the requests whose tokens changed.
    """

    max_entries: int = 20_000
    hits: int = 0
    misses: int = 0
    _data: OrderedDict[SpanKey, SpanResult] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def get(self, key: SpanKey) -> SpanResult | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return hit

    def put(self, key: SpanKey, value: SpanResult) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._data)


def common_prefix_len(seqs: Sequence[Sequence[int]]) -> int:
    """Length of the longest common prefix of token sequences (0 for none)."""
    if not seqs:
        return 0
    first = seqs[0]
    n = min(len(s) for s in seqs)
    for s in seqs[1:]:
        i = 0
        while i < n and s[i] == first[i]:
            i += 1
        n = i
        if n == 0:
            break
    return n


def _input_of(req: SpanRequest) -> tuple[int, ...]:
    """The tokens whose hidden states the request needs."""
    return req.ids if req.keep_last else req.ids[:-1]


# A needed distribution: (row, position in the row); row -1 is the block's prefix pass.
Slot = tuple[int, int]


@dataclass(slots=True)
class _Needs:
    """Which tokens' log-probs (or whole distributions) each slot must produce."""

    targets: dict[Slot, set[int]] = field(default_factory=lambda: defaultdict(set))
    full: set[Slot] = field(default_factory=set)
    out_tokens: dict[Slot, dict[int, float]] = field(default_factory=dict)
    out_full: dict[Slot, np.ndarray] = field(default_factory=dict)

    _rows: dict[int, list[int]] | None = None

    def slots_of_row(self, row: int) -> list[int]:
        """Positions needed in `row` (-1: the prefix), ascending; indexed once, after planning."""
        if self._rows is None:
            rows: dict[int, list[int]] = defaultdict(list)
            for r, j in set(self.targets) | self.full:
                rows[r].append(j)
            self._rows = {r: sorted(js) for r, js in rows.items()}
        return self._rows.get(row, [])


def _new_cache(model: Any) -> Any:
    """An empty KV cache for `model`'s decoder: the lean model's own, else HF's ``DynamicCache``."""
    if hasattr(model, "new_cache"):
        return model.new_cache()
    from transformers import DynamicCache

    return DynamicCache(config=model.config)


def _lm_parts(model: Any) -> tuple[Any, Any, float | None]:
    """(decoder, lm_head, final logit softcap) of an HF causal LM."""
    decoder = model.get_decoder()
    head = model.get_output_embeddings()
    cfg = model.config
    text_cfg = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
    cap = getattr(text_cfg, "final_logit_softcapping", None)
    return decoder, head, (float(cap) if cap else None)


def _project(
    head: Any, cap: float | None, hidden: torch.Tensor, slots: list[tuple[_Needs, Slot]], d_vocab: int
) -> None:
    """Projects `hidden` `[n, d_model]` (one row per (needs, slot)) onto the vocabulary; stores what is needed.

    A target's log-prob is its logit minus the row's logsumexp, so no `[n, d_vocab]` log-softmax
    is materialised except for the rows whose whole distribution is kept.
    """
    import torch

    for lo in range(0, len(slots), PROJECT_CHUNK):
        part = slots[lo : lo + PROJECT_CHUNK]
        logits = head(hidden[lo : lo + PROJECT_CHUNK]).float()  # [n, d_vocab_head]
        if cap is not None:
            logits = torch.tanh(logits / cap) * cap
        lse = torch.logsumexp(logits, dim=-1)  # [n]
        rows: list[int] = []
        cols: list[int] = []
        for i, (needs, slot) in enumerate(part):
            for tok in sorted(needs.targets.get(slot, ())):
                rows.append(i)
                cols.append(tok)
            if slot in needs.full:
                full = (logits[i, :d_vocab] - lse[i]).cpu().numpy().astype(np.float32, copy=True)
                needs.out_full[slot] = full
        if rows:
            r = torch.tensor(rows, device=logits.device)
            vals = (logits[r, torch.tensor(cols, device=logits.device)] - lse[r]).cpu().tolist()
            for i, tok, v in zip(rows, cols, vals, strict=True):
                owner, slot = part[i]
                owner.out_tokens.setdefault(slot, {})[tok] = float(v)


@dataclass(slots=True)
class _Block:
    """One block's plan: its prefix, its deduplicated rows and the slots each request reads."""

    reqs: list[SpanRequest]
    prefix: tuple[int, ...]
    rows: list[tuple[int, ...]]
    req_row: list[int]
    needs: _Needs

    def slot(self, i: int, pos: int) -> Slot:
        p = len(self.prefix)
        return (-1, pos) if pos < p else (self.req_row[i], pos - p)

    def results(self) -> list[SpanResult]:
        out: list[SpanResult] = []
        for i, r in enumerate(self.reqs):
            lps = tuple(
                self.needs.out_tokens[self.slot(i, pos)][r.ids[pos + 1]]
                for pos in range(r.start - 1, len(r.ids) - 1)
            )
            last = self.needs.out_full[self.slot(i, len(r.ids) - 1)] if r.keep_last else None
            out.append(SpanResult(lps, last))
        return out


def _plan_block(reqs: list[SpanRequest]) -> _Block:
    """Prefix, rows and needed slots of one block (see the module docstring)."""
    inputs = [_input_of(r) for r in reqs]
    p = common_prefix_len(inputs)
    # rows: each request's input beyond the prefix. Labels of one query have the same input
    # (the input stops before the last token), and an input that is a prefix of another is read
    # from the longer row, so each distinct row runs once.
    rests = [inp[p:] for inp in inputs]
    uniq = sorted(set(rests))
    rep: dict[tuple[int, ...], tuple[int, ...]] = {}
    for a, nxt in zip(reversed(uniq), [None, *reversed(uniq)], strict=False):
        rep[a] = rep[nxt] if nxt is not None and nxt[: len(a)] == a else a
    rows = sorted({rep[r] for r in rests if r})
    row_index = {row: k for k, row in enumerate(rows)}
    block = _Block(reqs, inputs[0][:p], rows, [row_index[rep[r]] if r else -1 for r in rests], _Needs())
    for i, r in enumerate(reqs):
        for pos in range(r.start - 1, len(r.ids) - 1):
            block.needs.targets[block.slot(i, pos)].add(r.ids[pos + 1])
        if r.keep_last:
            block.needs.full.add(block.slot(i, len(r.ids) - 1))
    return block


def _gather_project(
    runner: DecoderBackend, hs: torch.Tensor, picks: list[tuple[int, int, _Needs, Slot]]
) -> None:
    """Projects the hidden states `hs` `[batch, pos, d_model]` at (batch row, pos) picks into their needs."""
    import torch

    if not picks:
        return
    _decoder, head, cap = _lm_parts(runner.scoring_model)
    rows = torch.tensor([k for k, _, _, _ in picks], device=hs.device)
    cols = torch.tensor([j for _, j, _, _ in picks], device=hs.device)
    hidden = hs[rows, cols]  # [n_picks, d_model]
    _project(head, cap, hidden, [(needs, slot) for _, _, needs, slot in picks], runner.info.d_vocab)


def _run_flat(
    runner: DecoderBackend, blocks: Sequence[_Block], tick: Callable[[int, str], None] | None
) -> None:
    """Blocks without rows are single sequences (their prefix): batched together by length, no cache."""
    import torch

    decoder, _head, _cap = _lm_parts(runner.scoring_model)
    for batch in row_batches([len(b.prefix) for b in blocks], 0, runner.max_batch_tokens):
        width = max(len(blocks[b].prefix) for b in batch)
        input_ids = torch.full((len(batch), width), runner.pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for k, b in enumerate(batch):
            input_ids[k, : len(blocks[b].prefix)] = torch.tensor(blocks[b].prefix, dtype=torch.long)
            mask[k, : len(blocks[b].prefix)] = 1
        with runner.lock:
            out = decoder(
                input_ids=input_ids.to(runner.device), attention_mask=mask.to(runner.device), use_cache=False
            )
            n_real = int(mask.sum())
            runner.work.add(n_real, 1)
            picks = [
                (k, j, blocks[b].needs, (-1, j))
                for k, b in enumerate(batch)
                for j in blocks[b].needs.slots_of_row(-1)
            ]
            _gather_project(runner, out.last_hidden_state, picks)
        if tick is not None:
            tick(n_real, "prompts")


def _run_tree(runner: DecoderBackend, block: _Block, tick: Callable[[int, str], None] | None) -> None:
    """One pass over the block's prefix (KV cache kept), then its rows in batches on that cache."""
    import torch

    model = runner.scoring_model
    decoder, _head, _cap = _lm_parts(model)
    p = len(block.prefix)
    rows, needs = block.rows, block.needs
    with runner.lock:
        cache = None
        if p:
            cache = _new_cache(model)
            ids = torch.tensor([list(block.prefix)], dtype=torch.long, device=runner.device)
            out = decoder(input_ids=ids, past_key_values=cache, use_cache=True)
            runner.work.add(p, 1)
            _gather_project(
                runner, out.last_hidden_state, [(0, j, needs, (-1, j)) for j in needs.slots_of_row(-1)]
            )
            if tick is not None:
                tick(p, "shared prefix")

    # the lean model attends to a batch-1 prefix cache without copying it per row, so its row
    # batches are limited by the rows' own tokens; HF's cache is copied per row (`past` below)
    shared = cache is not None and getattr(decoder, "supports_shared_prefix", False)
    for batch in row_batches([len(r) for r in rows], 0 if shared else p, runner.max_batch_tokens):
        width = max(len(rows[b]) for b in batch)
        input_ids = torch.full((len(batch), width), runner.pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), p + width), dtype=torch.long)
        mask[:, :p] = 1
        for k, b in enumerate(batch):
            input_ids[k, : len(rows[b])] = torch.tensor(rows[b], dtype=torch.long)
            mask[k, p : p + len(rows[b])] = 1
        with runner.lock:
            kwargs: dict[str, Any]
            if shared:
                kwargs = {"shared_prefix": cache}
            elif cache is not None:
                # each batch gets its own copy: the cache grows in place during the forward
                past = copy.deepcopy(cache)
                past.batch_repeat_interleave(len(batch))
                kwargs = {"past_key_values": past, "use_cache": True}
            else:
                kwargs = {"use_cache": False}
            out = decoder(
                input_ids=input_ids.to(runner.device), attention_mask=mask.to(runner.device), **kwargs
            )
            n_real = sum(len(rows[b]) for b in batch)
            runner.work.add(n_real, 1)
            picks = [(k, j, needs, (b, j)) for k, b in enumerate(batch) for j in needs.slots_of_row(b)]
            _gather_project(runner, out.last_hidden_state, picks)
        if tick is not None:
            tick(n_real, "rows")


def score_spans_cached(
    runner: DecoderBackend,
    requests: Sequence[SpanRequest],
    *,
    cache: SpanCache | None = None,
    progress: ProgressFn | None = None,
) -> list[SpanResult]:
    """Answers span requests with prefix sharing (see the module docstring); order is preserved.

    Args:
        runner: the model.
        requests: what to score; requests with equal `block` share a prefix pass.
        cache: results already computed (keyed by `span_key`); new results are added to it.
        progress: called with (fraction done, message).

    Returns:
        One `SpanResult` per request, in request order.
    """
    results: list[SpanResult | None] = [None] * len(requests)
    pending: dict[SpanKey, list[int]] = {}
    for i, r in enumerate(requests):
        key = span_key(r)
        if key in pending:
            pending[key].append(i)
            continue
        # whole distributions (keep_last) are not cached: 4 B x d_vocab each (1 MB for Gemma)
        hit = cache.get(key) if cache is not None and not r.keep_last else None
        if hit is not None:
            results[i] = hit
        elif r.start == len(r.ids) and not r.keep_last:
            results[i] = SpanResult(())
        else:
            pending[key] = [i]

    blocks: dict[int | None, list[SpanRequest]] = defaultdict(list)
    for idxs in pending.values():
        req = requests[idxs[0]]
        blocks[req.block].append(req)

    total = sum(len(_input_of(r)) for reqs in blocks.values() for r in reqs) or 1
    done = 0

    def tick(n: int, what: str) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(min(done / total, 1.0), f"scored {what}")

    import torch

    plans = [_plan_block(reqs) for reqs in blocks.values()]
    with torch.inference_mode():
        _run_flat(runner, [b for b in plans if not b.rows], tick)
        for block in plans:
            if block.rows:
                _run_tree(runner, block, tick)
    for block in plans:
        for req, res in zip(block.reqs, block.results(), strict=True):
            key = span_key(req)
            if cache is not None and not req.keep_last:
                cache.put(key, res)
            for i in pending[key]:
                results[i] = res
    if progress is not None:
        progress(1.0, "done")
    return [r for r in results if r is not None]


def score_spans_plain(
    runner: DecoderBackend, requests: Sequence[SpanRequest], *, progress: ProgressFn | None = None
) -> list[SpanResult]:
    """Reference path: one full forward per request, full vocabulary projection everywhere.

    This is how OpenICL scores (each label's full prompt through the model on its own); only
    batching by length is kept. Used as the baseline in `bench/scoring.py` and as the uncached
    reference in tests.
    """
    import torch

    results: list[SpanResult | None] = [None] * len(requests)
    batches = length_batches([len(r.ids) for r in requests], runner.max_batch_tokens)
    for b_i, idx in enumerate(batches):
        logits = runner.forward_logits([requests[i].ids for i in idx])
        logprobs = torch.log_softmax(logits, dim=-1)
        for row, i in enumerate(idx):
            r = requests[i]
            pos = torch.arange(r.start - 1, len(r.ids) - 1)
            tgt = torch.tensor(r.ids[r.start :], dtype=torch.long)
            lps = tuple(float(x) for x in logprobs[row, pos, tgt].tolist())
            last = (
                logprobs[row, len(r.ids) - 1, : runner.info.d_vocab].numpy().astype(np.float32, copy=True)
                if r.keep_last
                else None
            )
            results[i] = SpanResult(lps, last)
        if progress is not None:
            progress((b_i + 1) / len(batches), f"scored {b_i + 1}/{len(batches)} batches")
    return [r for r in results if r is not None]
