"""The pure steps of an evaluation, before and after the model runs::

    draw_demos          pool indices per query (retriever + ordering, seeded per query)
    plan_queries        prompt text and tokens per query and label
    content_free_plans  content-free label texts per distinct demonstration set
    calibrate           label log-probs after calibration

Two demonstration settings: ``per-query`` (a fresh draw for every query, as OpenICL and StaICC
do; the seed of query i is derived from (seed, i)) and ``shared`` (one draw with `seed` for all
queries: the fixed prompt of the Prompt Lab).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from engine.evaluation.config import EvalConfig
from engine.model.protocol import ModelRunner
from engine.prompting.prompts import Demo
from engine.retrieval import retrievers as retrieval
from engine.scoring.scorers import (
    CALIBRATIONS,
    SCORERS,
    LabelText,
    QueryPlan,
    ScoringConfig,
    apply_prior,
    batch_prior,
    check_labels,
    content_free_texts,
    contextual_prior,
    log_normalize,
)

if TYPE_CHECKING:
    from engine.data.datasets import Example


def derive_seed(seed: int, index: int) -> int:
    """The seed of query `index`'s demonstration draw: independent streams per (seed, index)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def draw_demos(
    ctx: retrieval.RetrievalContext, queries: Sequence[Example], cfg: EvalConfig
) -> list[tuple[int, ...]]:
    """Pool indices of each query's demonstrations, in prompt order.

    As `retrieval.select_demos` does, one generator seeded per draw drives the retriever, then
    the ordering; both are looked up once for all queries.
    """
    retrieve = retrieval.get_retriever(cfg.retrieval)
    order = retrieval.get_ordering(cfg.ordering)

    def draw(query: str, seed: int) -> tuple[int, ...]:
        rng = np.random.default_rng(seed)
        return tuple(order(query, retrieve(query, cfg.k, ctx, rng), ctx, rng))

    if cfg.demos == "shared":
        return [draw("", cfg.seed)] * len(queries)
    return [draw(q.text, derive_seed(cfg.seed, i)) for i, q in enumerate(queries)]


def plan_queries(
    runner: ModelRunner,
    pool: Sequence[Example],
    queries: Sequence[Example],
    draws: Sequence[tuple[int, ...]],
    cfg: EvalConfig,
    *,
    words: Mapping[str, str] | None = None,
) -> list[QueryPlan]:
    """Prompt texts and tokens of every query and label (`words`: the checked label words,
    when the caller has them already)."""
    spec = SCORERS[cfg.scoring.scorer]
    words = check_labels(cfg.words) if words is None else words
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
    *,
    words: Mapping[str, str] | None = None,
) -> dict[tuple[int, ...], tuple[tuple[LabelText, ...], ...]]:
    """Content-free label texts per distinct demonstration set (computed once per set)."""
    words = check_labels(cfg.words) if words is None else words
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
    source = CALIBRATIONS.lookup(cfg.calibration).prior
    if source == "none" or len(logits) == 0:
        return log_normalize(logits), None
    if source == "batch":
        prior = batch_prior(logits)
        priors = np.broadcast_to(prior, logits.shape).copy()
    else:
        priors = np.stack([contextual_prior(c) for c in cf_logits if c is not None])
    return apply_prior(logits, priors), priors
