"""What the Demo Selection page shows: one query's chosen demonstrations, and strategies compared.

`explain_selection` runs one retriever + ordering for one query and reports, for every chosen
demonstration, its position in the prompt (1 = farthest from the query), its label, its cosine
similarity to the query and its similarity rank in the whole pool, plus the assembled prompt.

`compare_strategies` evaluates several (retriever, ordering) pairs on the same test queries with
`engine.evaluation.run.evaluate` and summarises each: accuracy, macro-F1, the label distribution of
the chosen demonstrations and their mean similarity to the query. The demo index is built once
and shared by every strategy.

References:
    Liu et al., 2021, "What Makes Good In-Context Examples for GPT-3?", arXiv:2101.06804.
    Lu et al., 2022, "Fantastically Ordered Prompts and Where to Find Them", arXiv:2104.08786.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.core.errors import ConfigError
from engine.prompting.prompts import Demo, Prompt, build_prompt
from engine.retrieval.retrievers import RetrievalContext, build_context, select_demos

if TYPE_CHECKING:
    from engine.data.datasets import Example
    from engine.evaluation.run import EvalConfig, EvalResult
    from engine.model.hf_runner import ModelRunner
    from engine.retrieval.demo_index import DemoIndex

ProgressFn = Callable[[float, str], None]


@dataclass(frozen=True, slots=True)
class ChosenDemo:
    """One chosen demonstration.

    Attributes:
        position: place in the prompt, 1 = first (farthest from the query), k = next to the query.
        pool_index: index in the pool.
        text, label: the example.
        similarity: cosine of its MiniLM embedding and the query's (None without a demo index).
        rank: 1 = the pool item most similar to the query (None without a demo index).
    """

    position: int
    pool_index: int
    text: str
    label: str
    similarity: float | None
    rank: int | None


@dataclass(frozen=True, slots=True)
class Selection:
    """Result of `explain_selection`.

    Attributes:
        demos: the chosen demonstrations in prompt order.
        prompt: the assembled prompt (None when no prompt format / label words were given).
        label_counts: label -> number of chosen demonstrations (every pool label listed).
        seconds: time taken by retrieval and ordering.
    """

    query: str
    retrieval: str
    ordering: str
    k: int
    seed: int
    demos: tuple[ChosenDemo, ...]
    prompt: Prompt | None
    label_counts: dict[str, int]
    seconds: float


def _labels_in(pool: Sequence[Example], ctx: RetrievalContext) -> list[str]:
    labels = list(ctx.label_words)
    for ex in pool:
        if ex.label not in labels:
            labels.append(ex.label)
    return labels


def explain_selection(
    query: str, k: int, ctx: RetrievalContext, *, retrieval: str, ordering: str, seed: int = 0
) -> Selection:
    """Selects demonstrations for `query` and explains the choice (see `Selection`).

    Raises:
        ConfigError: empty query, bad k or strategy name, or a missing index / model.
    """
    if not query.strip():
        raise ConfigError("The query is empty; type an input to find demonstrations for.")
    t0 = time.perf_counter()
    chosen = select_demos(query, k, ctx, retrieval=retrieval, ordering=ordering, seed=seed)
    seconds = time.perf_counter() - t0
    sims: list[float | None] = [None] * len(chosen)
    ranks: list[int | None] = [None] * len(chosen)
    if ctx.index is not None and chosen:
        all_sims = np.asarray(ctx.index.similarities(query), dtype=np.float64)  # [n_pool]
        for j, i in enumerate(chosen):
            sims[j] = float(all_sims[i])
            ranks[j] = int((all_sims > all_sims[i]).sum()) + 1
    demos = tuple(
        ChosenDemo(p + 1, int(i), ctx.pool[i].text, ctx.pool[i].label, sims[p], ranks[p])
        for p, i in enumerate(chosen)
    )
    prompt = None
    if ctx.fmt is not None and ctx.label_words:
        runner = ctx.runner
        prompt = build_prompt(
            ctx.fmt,
            [Demo(d.text, d.label, d.pool_index) for d in demos],
            query,
            ctx.label_words,
            count_tokens=(lambda s: len(runner.encode(s))) if runner is not None else None,
            max_tokens=runner.info.n_ctx if runner is not None else None,
        )
    counts = dict.fromkeys(_labels_in(ctx.pool, ctx), 0)
    for d in demos:
        counts[d.label] = counts.get(d.label, 0) + 1
    return Selection(query, retrieval, ordering, k, seed, demos, prompt, counts, seconds)


@dataclass(frozen=True, slots=True)
class StrategyRun:
    """One strategy evaluated on the test queries.

    Attributes:
        retrieval, ordering: the strategy.
        accuracy, macro_f1: on the test queries.
        label_share: label -> fraction of all chosen demonstrations with that label.
        mean_similarity: mean cosine of the chosen demonstrations to their query (None without index).
        seconds: wall time of the evaluation.
        result: the full `EvalResult` (per-query predictions and demonstrations).
    """

    retrieval: str
    ordering: str
    accuracy: float
    macro_f1: float
    label_share: dict[str, float]
    mean_similarity: float | None
    seconds: float
    result: EvalResult


def compare_strategies(
    runner: ModelRunner,
    pool: Sequence[Example],
    queries: Sequence[Example],
    base: EvalConfig,
    strategies: Sequence[tuple[str, str]],
    *,
    index: DemoIndex | None = None,
    device: str | None = None,
    progress: ProgressFn | None = None,
) -> list[StrategyRun]:
    """Evaluates each (retrieval, ordering) pair with `base`'s prompt, scorer, k and seed.

    The demo index (built or loaded once, when any strategy needs it or to report similarities)
    is shared by all strategies.

    Raises:
        ConfigError: no strategy, or an invalid one (checked before any model work).
    """
    from engine.evaluation.run import evaluate

    if not strategies:
        raise ConfigError("Choose at least one strategy to compare.")
    cfgs = [replace(base, retrieval=r, ordering=o) for r, o in strategies]  # validates every name
    if index is None and pool:
        from engine.retrieval.demo_index import get_demo_index

        index = get_demo_index(
            [ex.text for ex in pool],
            device=device,
            progress=(lambda f, m: progress(0.1 * f, m)) if progress is not None else None,
        )
    labels = list(base.labels)
    runs: list[StrategyRun] = []
    for s, cfg in enumerate(cfgs):
        lo, hi = 0.1 + 0.9 * s / len(cfgs), 0.1 + 0.9 * (s + 1) / len(cfgs)
        name = f"{cfg.retrieval} + {cfg.ordering}"

        def sub(f: float, msg: str, lo: float = lo, hi: float = hi, name: str = name) -> None:
            if progress is not None:
                progress(lo + (hi - lo) * f, f"{name}: {msg}")

        ctx = build_context(
            pool,
            retrieval=cfg.retrieval,
            ordering=cfg.ordering,
            runner=runner,
            fmt=cfg.fmt,
            label_words=cfg.words,
            fixed=cfg.fixed,
            options=dict(cfg.options),
            index=index,
            progress=sub,
        )
        result = evaluate(runner, pool, queries, cfg, ctx=ctx, progress=sub)
        counts = dict.fromkeys(labels, 0)
        sims: list[float] = []
        for q in result.queries:
            for i in q.pool_indices:
                counts[pool[i].label] = counts.get(pool[i].label, 0) + 1
            if index is not None and q.pool_indices:
                sims += [float(x) for x in index.similarities(q.text, q.pool_indices)]
        total = sum(counts.values())
        runs.append(
            StrategyRun(
                cfg.retrieval,
                cfg.ordering,
                result.metrics.accuracy,
                result.metrics.macro_f1,
                {lab: (c / total if total else 0.0) for lab, c in counts.items()},
                float(np.mean(sims)) if sims else None,
                result.seconds,
                result,
            )
        )
    return runs


def summary_rows(runs: Sequence[StrategyRun]) -> list[dict[str, Any]]:
    """One flat row per strategy (for tables and JSON)."""
    rows = []
    for r in runs:
        row: dict[str, Any] = {
            "retrieval": r.retrieval,
            "ordering": r.ordering,
            "accuracy": round(r.accuracy, 4),
            "macro_f1": round(r.macro_f1, 4),
            "mean_similarity": None if r.mean_similarity is None else round(r.mean_similarity, 4),
            "seconds": round(r.seconds, 1),
        }
        row.update({f"share {lab}": round(v, 3) for lab, v in r.label_share.items()})
        rows.append(row)
    return rows
