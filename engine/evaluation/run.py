"""Evaluation: score every label of every test query and measure how well the model predicts.

`evaluate` is a composition of pure steps (the lesson of OpenICL, whose ``inference()`` fused
retrieval, formatting, scoring and file I/O into one method)::

    draw_demos     pool indices per query (retriever + ordering registries, seeded)
    plan_queries   prompt text and tokens per query and label (+ content-free inputs)
    span_requests  token-level requests, one block per distinct demonstration set
    runner         the fast path (`engine.model.prefix_cache`): shared prefixes computed once
    collect        scores per query and label
    calibrate      label log-probs after calibration
    metrics        accuracy, macro-F1, confusion matrix, ECE, mean probability of the gold label

Two demonstration settings: ``per-query`` (a fresh draw for every query, as OpenICL and StaICC
do; the seed of query i is derived from (seed, i)) and ``shared`` (one draw with `seed` for all
queries: the fixed prompt of the Prompt Lab). Queries with the same demonstrations share their
prefix pass in either setting.

Metrics: macro-F1 averages the per-label F1 over the labels that occur in the gold labels or
the predictions (scikit-learn's default); ECE uses 10 equal-width confidence bins on the
probability of the predicted label (Guo et al. 2017).

References:
    Wu et al. 2023, "OpenICL: An Open-Source Framework for In-context Learning" (arXiv:2303.02913).
    Cho et al. 2024, "StaICC: Standardized Evaluation for Classification Task in In-context Learning".
    Guo et al. 2017, "On Calibration of Modern Neural Networks" (ECE).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np

from engine.core.errors import ConfigError
from engine.core.progress import StopFn
from engine.model.hf_runner import ModelRunner, ProgressFn, SpanRequest
from engine.prompting.prompts import Demo, PromptFormat
from engine.retrieval import retrievers as retrieval
from engine.scoring.scorers import (
    SCORERS,
    LabelScore,
    LabelText,
    QueryPlan,
    ScoringConfig,
    apply_prior,
    batch_prior,
    check_labels,
    content_free_inputs,
    content_free_texts,
    contextual_prior,
    label_scores,
    log_normalize,
    spans,
    to_logits,
)

if TYPE_CHECKING:
    from engine.data.datasets import Example

DemoMode = Literal["per-query", "shared"]
ECE_BINS = 10
# Retrievers whose draw ignores the query (it depends on the seed only), so one draw can be shared
# by every query, besides the registry's QUERY_INDEPENDENT ones (derived from the retriever specs).
QUERY_AGNOSTIC_DRAWS: frozenset[str] = retrieval.QUERY_AGNOSTIC


@dataclass(frozen=True, slots=True)
class EvalConfig:
    """Everything that determines an evaluation besides the model and the data. Validated.

    Attributes:
        fmt: template, instruction, separator.
        label_words: (label name, label word) pairs, in label order.
        k: demonstrations per prompt.
        scoring: scorer, calibration, normalisation.
        demos: "per-query" (fresh draw per query) or "shared" (one draw for all queries).
        retrieval, ordering: registry names in `engine.retrieval.retrievers`.
        seed: seeds the demonstration draws and the domain strings.
        fixed: pool indices for the `fixed` retriever.
        options: retrieval options, as (name, value) pairs.
    """

    fmt: PromptFormat
    label_words: tuple[tuple[str, str], ...]
    k: int = 4
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    demos: DemoMode = "per-query"
    retrieval: str = "random"
    ordering: str = "as_retrieved"
    seed: int = 0
    fixed: tuple[int, ...] = ()
    options: tuple[tuple[str, float | int | str], ...] = ()

    def __post_init__(self) -> None:
        if self.k < 0:
            raise ConfigError(f"k must be 0 or more, got {self.k}.")
        if self.demos not in get_args(DemoMode):
            raise ConfigError(f"demos must be one of {', '.join(get_args(DemoMode))}, got {self.demos!r}.")
        retrieval.get_retriever(self.retrieval)
        retrieval.get_ordering(self.ordering)
        if self.demos == "shared" and not (
            self.retrieval in retrieval.QUERY_INDEPENDENT or self.retrieval in QUERY_AGNOSTIC_DRAWS
        ):
            allowed = sorted((retrieval.QUERY_INDEPENDENT | QUERY_AGNOSTIC_DRAWS) & set(retrieval.RETRIEVERS))
            raise ConfigError(
                f"Shared demonstrations need a retriever that ignores the query ({', '.join(allowed)}); "
                f"{self.retrieval!r} picks demonstrations per query, so use per-query demonstrations."
            )
        check_labels(dict(self.label_words))

    @property
    def words(self) -> dict[str, str]:
        return dict(self.label_words)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.label_words)


@dataclass(frozen=True, slots=True)
class QueryResult:
    """One evaluated query.

    Attributes:
        id: the example's id (source row).
        text: the query text.
        gold, pred: label names.
        demo_ids: ids of the demonstrations (their `Example.id`), in prompt order.
        pool_indices: the same demonstrations as indices into the pool.
        n_dropped: demonstrations dropped from the far end to fit the context.
        label_scores: per label: exact text scored, score and per-token log-probs.
        probs: calibrated label probabilities (label order).
        prior: the calibration prior used for this query (label order), if any.
    """

    id: int
    text: str
    gold: str
    pred: str
    demo_ids: tuple[int, ...]
    pool_indices: tuple[int, ...]
    n_dropped: int
    label_scores: tuple[LabelScore, ...]
    probs: tuple[float, ...]
    prior: tuple[float, ...] | None = None

    @property
    def scores(self) -> dict[str, float]:
        return {s.label: s.score for s in self.label_scores}

    @property
    def prompts(self) -> dict[str, str]:
        return {s.label: s.text for s in self.label_scores}

    @property
    def correct(self) -> bool:
        return self.gold == self.pred

    def to_json(self) -> dict[str, Any]:
        """The results.jsonl record (CLI contract), plus the calibrated probabilities."""
        return {
            "id": self.id,
            "text": self.text,
            "gold": self.gold,
            "pred": self.pred,
            "demo_ids": list(self.demo_ids),
            "scores": self.scores,
            "prompts": self.prompts,
            "probs": {s.label: p for s, p in zip(self.label_scores, self.probs, strict=True)},
        }


@dataclass(frozen=True, slots=True)
class Metrics:
    """Classification metrics of one evaluation.

    Attributes:
        accuracy: fraction of correct predictions.
        macro_f1: unweighted mean of per-label F1 (labels in gold or predictions).
        ece: expected calibration error (10 equal-width bins).
        mean_true_prob: mean probability given to the gold label.
        confusion: counts `[gold label, predicted label]` in label order.
        per_label_f1: label -> F1.
        n: number of queries.
    """

    accuracy: float
    macro_f1: float
    ece: float
    mean_true_prob: float
    confusion: tuple[tuple[int, ...], ...]
    per_label_f1: dict[str, float]
    n: int


@dataclass(frozen=True, slots=True)
class EvalResult:
    """Result of `evaluate`: per-query results, metrics, cost.

    A stopped run is `partial`: `queries` holds the first queries only (equal to a full run's
    rows, calibration aside: a batch prior is taken over the queries done), the metrics are over
    those, and `n_total` says how many were asked for.
    """

    config: EvalConfig
    labels: tuple[str, ...]
    queries: tuple[QueryResult, ...]
    metrics: Metrics
    seconds: float
    tokens_processed: int
    partial: bool = False
    n_total: int = 0

    @property
    def n_done(self) -> int:
        return len(self.queries)

    def summary(self) -> dict[str, float | int]:
        """The CLI's last-line JSON object (a partial result adds ``partial`` and ``n_total``)."""
        out: dict[str, float | int] = {
            "accuracy": self.metrics.accuracy,
            "macro_f1": self.metrics.macro_f1,
            "ece": self.metrics.ece,
            "n_test": self.metrics.n,
            "seconds": self.seconds,
            "tokens_processed": self.tokens_processed,
        }
        if self.partial:
            out["partial"] = 1
            out["n_total"] = self.n_total
        return out


# ----------------------------------------------------------------------------------- pure steps
def derive_seed(seed: int, index: int) -> int:
    """The seed of query `index`'s demonstration draw: independent streams per (seed, index)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def draw_demos(
    ctx: retrieval.RetrievalContext, queries: Sequence[Example], cfg: EvalConfig
) -> list[tuple[int, ...]]:
    """Pool indices of each query's demonstrations, in prompt order."""
    if cfg.demos == "shared":
        shared = tuple(
            retrieval.select_demos(
                "", cfg.k, ctx, retrieval=cfg.retrieval, ordering=cfg.ordering, seed=cfg.seed
            )
        )
        return [shared] * len(queries)
    return [
        tuple(
            retrieval.select_demos(
                q.text,
                cfg.k,
                ctx,
                retrieval=cfg.retrieval,
                ordering=cfg.ordering,
                seed=derive_seed(cfg.seed, i),
            )
        )
        for i, q in enumerate(queries)
    ]


def plan_queries(
    runner: ModelRunner,
    pool: Sequence[Example],
    queries: Sequence[Example],
    draws: Sequence[tuple[int, ...]],
    cfg: EvalConfig,
) -> list[QueryPlan]:
    """Prompt texts and tokens of every query and label."""
    spec = SCORERS[cfg.scoring.scorer]
    words = check_labels(cfg.words)
    plans = []
    for q, draw in zip(queries, draws, strict=True):
        demos = [Demo(pool[i].text, pool[i].label, i) for i in draw]
        plans.append(spec.plan(runner, cfg.fmt, demos, q.text, words, cfg.scoring))
    return plans


def content_free_plans(
    runner: ModelRunner,
    plans: Sequence[QueryPlan],
    draws: Sequence[tuple[int, ...]],
    cfg: EvalConfig,
    cf_inputs: Sequence[str],
) -> dict[tuple[int, ...], tuple[tuple[LabelText, ...], ...]]:
    """Content-free label texts per distinct demonstration set (computed once per set)."""
    words = check_labels(cfg.words)
    out: dict[tuple[int, ...], tuple[tuple[LabelText, ...], ...]] = {}
    for plan, draw in zip(plans, draws, strict=True):
        if draw not in out:
            out[draw] = tuple(content_free_texts(runner, plan.prompt, cfg.fmt, words, cf) for cf in cf_inputs)
    return out


def calibrate(
    logits: np.ndarray, cfg: ScoringConfig, cf_logits: Sequence[np.ndarray | None]
) -> tuple[np.ndarray, np.ndarray | None]:
    """Calibrated label log-probs `[query, label]` and the prior(s) used.

    Args:
        logits: higher-is-better scores `[query, label]`.
        cfg: the scoring config (its calibration).
        cf_logits: per query, the content-free logits `[n_cf, label]` (contextual / domain).

    Returns:
        (log-probs `[query, label]`, priors `[query, label]` or None).
    """
    if cfg.calibration == "none" or len(logits) == 0:
        return log_normalize(logits), None
    if cfg.calibration == "batch":
        prior = batch_prior(logits)
        priors = np.broadcast_to(prior, logits.shape).copy()
    else:
        priors = np.stack([contextual_prior(c) for c in cf_logits if c is not None])
    return apply_prior(logits, priors), priors


def compute_metrics(
    gold: Sequence[str], logp: np.ndarray, labels: Sequence[str], n_bins: int = ECE_BINS
) -> Metrics:
    """Accuracy, macro-F1, ECE, mean gold probability and confusion matrix.

    Args:
        gold: gold label names.
        logp: calibrated label log-probs `[query, label]`.
        labels: label names (columns of `logp`).
        n_bins: ECE bins.
    """
    n = len(gold)
    lab_index = {lab: i for i, lab in enumerate(labels)}
    if n == 0:
        return Metrics(0.0, 0.0, 0.0, 0.0, tuple(tuple(0 for _ in labels) for _ in labels), {}, 0)
    probs = np.exp(np.asarray(logp, dtype=np.float64))
    pred_i = probs.argmax(axis=1)
    gold_i = np.array([lab_index[g] for g in gold])
    correct = pred_i == gold_i
    conf = np.zeros((len(labels), len(labels)), dtype=int)
    np.add.at(conf, (gold_i, pred_i), 1)
    f1: dict[str, float] = {}
    for i, lab in enumerate(labels):
        tp = conf[i, i]
        n_pred, n_gold = conf[:, i].sum(), conf[i, :].sum()
        if n_pred == 0 and n_gold == 0:
            continue
        prec = tp / n_pred if n_pred else 0.0
        rec = tp / n_gold if n_gold else 0.0
        f1[lab] = float(2 * prec * rec / (prec + rec)) if prec + rec else 0.0
    confidence = probs.max(axis=1)
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        sel = bins == b
        if sel.any():
            ece += sel.mean() * abs(correct[sel].mean() - confidence[sel].mean())
    return Metrics(
        accuracy=float(correct.mean()),
        macro_f1=float(np.mean(list(f1.values()))) if f1 else 0.0,
        ece=float(ece),
        mean_true_prob=float(probs[np.arange(n), gold_i].mean()),
        confusion=tuple(tuple(int(x) for x in row) for row in conf),
        per_label_f1=f1,
        n=n,
    )


# ----------------------------------------------------------------------------------- orchestration
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
    plans = plan_queries(runner, pool, queries, draws, cfg)
    rng = np.random.default_rng(cfg.seed)
    # drawn from every query (not the chunk's), so a stopped run scores the same domain strings
    cf_inputs = content_free_inputs(cfg.scoring, domain_texts or [q.text for q in queries], rng)
    cf = content_free_plans(runner, plans, draws, cfg, cf_inputs) if cf_inputs else {}
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
        ctx = retrieval.build_context(
            pool,
            retrieval=cfg.retrieval,
            ordering=cfg.ordering,
            runner=runner,
            fmt=cfg.fmt,
            label_words=cfg.words,
            fixed=cfg.fixed,
            options=dict(cfg.options),
            progress=sub(0.0, 0.05),
        )
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


def label_words_from(
    names: Sequence[str], words: Mapping[str, str] | Sequence[str]
) -> tuple[tuple[str, str], ...]:
    """(name, word) pairs in label order from a mapping or a list of words in label order."""
    if isinstance(words, Mapping):
        missing = [n for n in names if n not in words]
        if missing:
            raise ConfigError(f"No label word for {', '.join(repr(m) for m in missing)}.")
        return tuple((n, str(words[n])) for n in names)
    if len(words) != len(names):
        raise ConfigError(f"Got {len(words)} label words for {len(names)} labels ({', '.join(names)}).")
    return tuple(zip(names, (str(w) for w in words), strict=True))


# ----------------------------------------------------------------------------------- comparisons
@dataclass(frozen=True, slots=True)
class Variant:
    """One scorer + calibration to compare on the same prompts."""

    scorer: str
    calibration: str = "none"

    @property
    def name(self) -> str:
        return self.scorer if self.calibration == "none" else f"{self.scorer} + {self.calibration}"


def variants_of(scorers: Sequence[str], calibrations: Sequence[str]) -> tuple[list[Variant], list[Variant]]:
    """Every scorer x calibration pair: (valid ones, skipped ones whose calibration needs direct scores)."""
    from engine.scoring.scorers import CALIBRATIONS

    valid: list[Variant] = []
    skipped: list[Variant] = []
    for s in scorers:
        lookup_scorer = SCORERS.get(s)
        if lookup_scorer is None:
            raise ConfigError(f"Unknown scorer {s!r}. Known: {', '.join(SCORERS)}.")
        for c in calibrations:
            cal = CALIBRATIONS.get(c)
            if cal is None:
                raise ConfigError(f"Unknown calibration {c!r}. Known: {', '.join(CALIBRATIONS)}.")
            (skipped if cal.needs_content_free and s != "direct" else valid).append(Variant(s, c))
    return valid, skipped


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
    ctx = retrieval.build_context(
        pool,
        retrieval=base.retrieval,
        ordering=base.ordering,
        runner=runner,
        fmt=base.fmt,
        label_words=base.words,
        fixed=base.fixed,
        options=dict(base.options),
    )
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
