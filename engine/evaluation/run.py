"""Evaluation: score every label of every test query and measure how well the model predicts.

`evaluate` is a composition of pure steps (the lesson of OpenICL, whose ``inference()`` fused
retrieval, formatting, scoring and file I/O into one method)::

    retrieval_context  what the retriever and ordering need (config.py)
    draw_demos         pool indices per query (retriever + ordering registries, seeded; steps.py)
    plan_queries       prompt text and tokens per query and label (+ content-free inputs)
    span_requests      token-level requests, one block per distinct demonstration set (here)
    runner             the fast path (`engine.model.prefix_cache`): shared prefixes computed once
    collect            scores per query and label (here)
    calibrate          label log-probs after calibration (steps.py)
    metrics            accuracy, macro-F1, confusion matrix, ECE, mean gold probability (metrics.py)

Queries with the same demonstrations share their prefix pass in either demonstration setting
(``per-query`` or ``shared``, see `engine.evaluation.steps`). A run that can stop scores its
queries in chunks and returns the result of those done, marked partial.

References:
    Wu et al. 2023, "OpenICL: An Open-Source Framework for In-context Learning" (arXiv:2303.02913).
    Cho et al. 2024, "StaICC: Standardized Evaluation for Classification Task in In-context Learning".
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from engine.core.errors import ConfigError
from engine.core.progress import ProgressFn, StopFn
from engine.evaluation.config import QUERY_AGNOSTIC_DRAWS as QUERY_AGNOSTIC_DRAWS  # re-exported
from engine.evaluation.config import DemoMode as DemoMode  # re-exported
from engine.evaluation.config import EvalConfig as EvalConfig  # re-exported
from engine.evaluation.config import Variant as Variant  # re-exported
from engine.evaluation.config import label_words_from as label_words_from  # re-exported
from engine.evaluation.config import retrieval_context
from engine.evaluation.config import variants_of as variants_of  # re-exported
from engine.evaluation.metrics import ECE_BINS as ECE_BINS  # re-exported
from engine.evaluation.metrics import Metrics as Metrics  # re-exported
from engine.evaluation.metrics import compute_metrics as compute_metrics  # re-exported
from engine.evaluation.results import EvalResult as EvalResult  # re-exported
from engine.evaluation.results import QueryResult as QueryResult  # re-exported
from engine.evaluation.steps import calibrate as calibrate  # re-exported
from engine.evaluation.steps import content_free_plans as content_free_plans  # re-exported
from engine.evaluation.steps import derive_seed as derive_seed  # re-exported
from engine.evaluation.steps import draw_demos as draw_demos  # re-exported
from engine.evaluation.steps import plan_queries as plan_queries  # re-exported
from engine.model.protocol import ModelRunner, SpanRequest
from engine.retrieval import retrievers as retrieval
from engine.scoring.scorers import (
    LabelScore,
    LabelText,
    QueryPlan,
    check_labels,
    content_free_inputs,
    label_scores,
    spans,
    to_logits,
)

if TYPE_CHECKING:
    from engine.data.datasets import Example


ChunkFn = Callable[["EvalResult"], None]


def chunk_size_for(n: int) -> int:
    """Queries per chunk of a run that can stop: about 20 chunks, at least 4 queries each."""
    return max(4, math.ceil(n / 20))


@dataclass(slots=True)
class _Pass:
    """One evaluation prepared (draws, prompts, content-free texts) and scored chunk by chunk."""

    cfg: EvalConfig
    pool: Sequence[Example]
    queries: Sequence[Example]
    draws: list[tuple[int, ...]]
    plans: list[QueryPlan]
    cf: dict[tuple[int, ...], tuple[tuple[LabelText, ...], ...]]
    block_of: dict[tuple[int, ...], int]
    scored: list[tuple[LabelScore, ...]] = field(default_factory=list)
    cf_by_draw: dict[tuple[int, ...], np.ndarray] = field(default_factory=dict)


def _check_gold(queries: Sequence[Example], labels: Sequence[str]) -> None:
    bad_gold = sorted({q.label for q in queries} - set(labels))
    if bad_gold:
        raise ConfigError(
            f"Test labels {', '.join(repr(b) for b in bad_gold)} have no label word; known labels: "
            f"{', '.join(labels)}."
        )


def _prepare(
    runner: ModelRunner,
    pool: Sequence[Example],
    queries: Sequence[Example],
    cfg: EvalConfig,
    ctx: retrieval.RetrievalContext,
    domain_texts: Sequence[str] | None,
) -> _Pass:
    draws = draw_demos(ctx, queries, cfg)
    words = check_labels(cfg.words)
    plans = plan_queries(runner, pool, queries, draws, cfg, words=words)
    rng = np.random.default_rng(cfg.seed)
    # drawn from every query (not the chunk's), so a stopped run scores the same domain strings
    cf_inputs = content_free_inputs(cfg.scoring, domain_texts or [q.text for q in queries], rng)
    cf = content_free_plans(runner, plans, draws, cfg, cf_inputs, words=words) if cf_inputs else {}
    # one block per distinct demonstration set: its queries share the prefix pass
    block_of = {d: b for b, d in enumerate(dict.fromkeys(draws))}
    return _Pass(cfg, pool, queries, draws, plans, cf, block_of)


def _score_chunk(
    runner: ModelRunner, p: _Pass, lo: int, hi: int, fast: bool, progress: ProgressFn | None
) -> None:
    """Scores queries `lo:hi` (and the content-free texts of their demonstration sets not yet scored)."""
    scoring = p.cfg.scoring
    n_lab = len(p.cfg.labels)
    reqs: list[SpanRequest] = []
    for plan, draw in zip(p.plans[lo:hi], p.draws[lo:hi], strict=True):
        reqs += [SpanRequest(t.ids, t.start, block=p.block_of[draw]) for t in plan.texts]
    cf_offset = len(reqs)
    new_draws = [d for d in dict.fromkeys(p.draws[lo:hi]) if d in p.cf and d not in p.cf_by_draw]
    for draw in new_draws:
        reqs += [SpanRequest(t.ids, t.start, block=p.block_of[draw]) for texts in p.cf[draw] for t in texts]
    results = spans(runner, reqs, fast=fast, progress=progress)
    for i, plan in enumerate(p.plans[lo:hi]):
        p.scored.append(label_scores(runner, plan.texts, results[i * n_lab : (i + 1) * n_lab], scoring))
    pos = cf_offset
    for draw in new_draws:
        rows = []
        for texts in p.cf[draw]:
            chunk = label_scores(runner, texts, results[pos : pos + n_lab], scoring)
            rows.append(to_logits([s.score for s in chunk], scoring.scorer))
            pos += n_lab
        p.cf_by_draw[draw] = np.stack(rows)


def _result(p: _Pass, seconds: float, tokens: int) -> EvalResult:
    """The result over the queries scored so far (partial when some are left)."""
    cfg, labels = p.cfg, p.cfg.labels
    n = len(p.scored)
    queries, draws = p.queries[:n], p.draws[:n]
    logits = np.array([to_logits([s.score for s in row], cfg.scoring.scorer) for row in p.scored])
    logits = logits.reshape(n, len(labels))
    logp, priors = calibrate(logits, cfg.scoring, [p.cf_by_draw.get(d) for d in draws])
    metrics = compute_metrics([q.label for q in queries], logp, labels)
    out = []
    for i, (q, plan, draw) in enumerate(zip(queries, p.plans[:n], draws, strict=True)):
        kept = draw[plan.n_dropped :]
        out.append(
            QueryResult(
                id=q.id,
                text=q.text,
                gold=q.label,
                pred=labels[int(np.argmax(logp[i]))],
                demo_ids=tuple(p.pool[j].id for j in kept),
                pool_indices=kept,
                n_dropped=plan.n_dropped,
                label_scores=p.scored[i],
                probs=tuple(float(x) for x in np.exp(logp[i])),
                prior=None if priors is None else tuple(float(x) for x in priors[i]),
            )
        )
    total = len(p.queries)
    return EvalResult(cfg, labels, tuple(out), metrics, seconds, tokens, partial=n < total, n_total=total)


def _chunks(n: int, size: int | None) -> list[tuple[int, int]]:
    step = max(1, size or n or 1)
    return [(lo, min(lo + step, n)) for lo in range(0, n, step)] or [(0, 0)]


def evaluate(
    runner: ModelRunner,
    pool: Sequence[Example],
    queries: Sequence[Example],
    cfg: EvalConfig,
    *,
    ctx: retrieval.RetrievalContext | None = None,
    domain_texts: Sequence[str] | None = None,
    fast: bool = True,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    on_chunk: ChunkFn | None = None,
    chunk_size: int | None = None,
) -> EvalResult:
    """Evaluates in-context classification of `queries` with demonstrations from `pool`.

    Args:
        runner: the model.
        pool: demonstration pool.
        queries: test examples (their labels are the gold labels).
        cfg: what to evaluate.
        ctx: a ready retrieval context (e.g. with a cached index); built from `cfg` when None.
        domain_texts: unlabeled in-domain texts for domain-context calibration (default: the queries).
        fast: the shared-prefix fast path (False: one full forward per text, for comparison).
        progress: called with (fraction, message).
        should_stop: checked between chunks of queries; when it returns True the result of the
            queries done so far is returned, marked `partial`.
        on_chunk: called with the (partial) result after each chunk.
        chunk_size: queries per chunk; default one chunk, or `chunk_size_for` when `should_stop`
            or `on_chunk` is given.

    Returns:
        Per-query results (demonstration ids, exact texts, scores, per-token log-probs, gold,
        prediction), metrics, wall time and tokens processed.

    Raises:
        ConfigError, PromptError, DataError: with a message for the user.
    """
    t0 = time.perf_counter()
    tokens0, _ = runner.work.snapshot()
    _check_gold(queries, cfg.labels)

    def sub(lo: float, hi: float) -> ProgressFn | None:
        if progress is None:
            return None
        return lambda f, msg: progress(lo + (hi - lo) * f, msg)

    if ctx is None:
        ctx = retrieval_context(cfg, pool, runner, progress=sub(0.0, 0.05))
    if progress is not None:
        progress(0.08, "building prompts")
    p = _prepare(runner, pool, queries, cfg, ctx, domain_texts)
    n = len(queries)
    if chunk_size is None and (should_stop is not None or on_chunk is not None):
        chunk_size = chunk_size_for(n)
    for lo, hi in _chunks(n, chunk_size):
        if lo > 0 and should_stop is not None and should_stop():
            break
        span = 0.88 / max(n, 1)
        _score_chunk(runner, p, lo, hi, fast, sub(0.1 + span * lo, 0.1 + span * hi))
        if on_chunk is not None and hi < n:
            on_chunk(_result(p, time.perf_counter() - t0, runner.work.snapshot()[0] - tokens0))
    if progress is not None:
        progress(1.0, "done")
    tokens1, _ = runner.work.snapshot()
    return _result(p, time.perf_counter() - t0, tokens1 - tokens0)


def evaluate_variants(
    runner: ModelRunner,
    pool: Sequence[Example],
    queries: Sequence[Example],
    base: EvalConfig,
    variants: Sequence[Variant],
    *,
    domain_texts: Sequence[str] | None = None,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    on_chunk: Callable[[dict[str, EvalResult]], None] | None = None,
    chunk_size: int | None = None,
) -> dict[str, EvalResult]:
    """Evaluates several scorer / calibration variants on the same demonstrations and prompts.

    The retrieval context is built once and every variant draws the same demonstrations (same
    seed); calibrations of one scorer reuse its scores through the runner's span cache.

    With `should_stop` or `on_chunk` the queries go in chunks (`chunk_size`, default
    `chunk_size_for`), every variant scoring a chunk before the next one starts: `should_stop`
    is checked between chunks, and a stopped run returns every variant's result over the same
    first queries, marked `partial`. `on_chunk` gets those results after each chunk.

    Returns:
        Variant name -> result, in the order given.
    """
    if not variants:
        raise ConfigError("Pick at least one scoring function and one calibration.")
    cfgs = [
        replace(base, scoring=replace(base.scoring, scorer=v.scorer, calibration=v.calibration))
        for v in variants
    ]
    ctx = retrieval_context(base, pool, runner)
    out: dict[str, EvalResult] = {}
    if should_stop is None and on_chunk is None:
        for i, (v, cfg) in enumerate(zip(variants, cfgs, strict=True)):
            lo, hi = i / len(cfgs), (i + 1) / len(cfgs)
            sub = (
                None
                if progress is None
                else (lambda f, msg, lo=lo, hi=hi, v=v: progress(lo + (hi - lo) * f, f"{v.name}: {msg}"))
            )
            out[v.name] = evaluate(
                runner, pool, queries, cfg, ctx=ctx, domain_texts=domain_texts, progress=sub
            )
        return out

    t0 = time.perf_counter()
    tokens0, _ = runner.work.snapshot()
    for cfg in cfgs:
        _check_gold(queries, cfg.labels)
    if progress is not None:
        progress(0.02, "building prompts")
    passes = [_prepare(runner, pool, queries, cfg, ctx, domain_texts) for cfg in cfgs]
    n, n_var = len(queries), len(variants)

    def results() -> dict[str, EvalResult]:
        secs, tokens = time.perf_counter() - t0, runner.work.snapshot()[0] - tokens0
        return {v.name: _result(p, secs, tokens) for v, p in zip(variants, passes, strict=True)}

    for lo, hi in _chunks(n, chunk_size or chunk_size_for(n)):
        if lo > 0 and should_stop is not None and should_stop():
            break
        for i, (v, p) in enumerate(zip(variants, passes, strict=True)):
            a = 0.05 + 0.93 * (lo * n_var + i * (hi - lo)) / max(n * n_var, 1)
            b = 0.05 + 0.93 * (lo * n_var + (i + 1) * (hi - lo)) / max(n * n_var, 1)
            sub = (
                None
                if progress is None
                else (lambda f, msg, a=a, b=b, v=v: progress(a + (b - a) * f, f"{v.name}: {msg}"))
            )
            _score_chunk(runner, p, lo, hi, True, sub)
        if on_chunk is not None and hi < n:
            on_chunk(results())
    if progress is not None:
        progress(1.0, "done")
    return results()
