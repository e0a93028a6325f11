"""Stopping an evaluation between chunks of queries: the partial result equals the first rows of a
full run and says it is partial; the time-left text."""

from __future__ import annotations

import numpy as np
import pytest

from engine.core.progress import duration_text, eta_seconds, eta_text
from engine.data.datasets import Example
from engine.evaluation.run import (
    EvalConfig,
    EvalResult,
    Variant,
    chunk_size_for,
    compute_metrics,
    evaluate,
    evaluate_variants,
)
from engine.scoring.scorers import ScoringConfig
from tests.unit.test_evaluation import LABELS, POOL
from tests.unit.test_scoring import FMT, make_runner

TEXTS = ["good film", "bad film", "film bad", "good good film", "bad bad film", "film", "film good"]
TEST = [Example(t, "positive" if i % 2 == 0 else "negative", 100 + i) for i, t in enumerate(TEXTS)]


def cfg(**kw: object) -> EvalConfig:
    base: dict[str, object] = {"fmt": FMT, "label_words": LABELS, "k": 2}
    base.update(kw)
    return EvalConfig(**base)  # type: ignore[arg-type]


def rows(res: EvalResult, n: int | None = None) -> list[tuple[object, ...]]:
    qs = res.queries if n is None else res.queries[:n]
    return [(q.id, q.demo_ids, q.label_scores, q.probs, q.prior, q.pred) for q in qs]


@pytest.mark.parametrize(
    "scoring,demos",
    [
        (ScoringConfig("direct"), "per-query"),
        (ScoringConfig("channel"), "per-query"),
        (ScoringConfig("ppl"), "shared"),
        (ScoringConfig("direct", "contextual"), "per-query"),
        (ScoringConfig("direct", "domain"), "shared"),
    ],
)
def test_stop_after_the_first_chunk_keeps_a_full_runs_first_rows(scoring: ScoringConfig, demos: str) -> None:
    c = cfg(scoring=scoring, demos=demos, seed=5)
    full = evaluate(make_runner(), POOL, TEST, c)
    assert not full.partial and full.n_total == len(TEST) and full.n_done == len(TEST)
    asked: list[int] = []

    def stop() -> bool:
        asked.append(1)
        return True

    part = evaluate(make_runner(), POOL, TEST, c, should_stop=stop, chunk_size=3)
    assert asked == [1]  # checked between chunks only, never before the first
    assert part.partial and part.n_done == 3 and part.n_total == len(TEST)
    assert rows(part) == rows(full, 3)
    gold = [q.gold for q in part.queries]
    logp = np.log(np.array([q.probs for q in part.queries]))
    assert part.metrics == compute_metrics(gold, logp, part.labels)
    assert part.metrics.n == 3
    assert part.summary()["partial"] == 1 and part.summary()["n_total"] == len(TEST)


def test_chunks_without_a_stop_give_the_full_result() -> None:
    c = cfg(scoring=ScoringConfig("direct", "batch"))
    full = evaluate(make_runner(), POOL, TEST, c)
    seen: list[int] = []
    chunked = evaluate(
        make_runner(),
        POOL,
        TEST,
        c,
        should_stop=lambda: False,
        on_chunk=lambda r: seen.append(r.n_done),
        chunk_size=2,
    )
    assert rows(chunked) == rows(full) and chunked.metrics == full.metrics and not chunked.partial
    assert seen == [2, 4, 6]  # a partial result after every chunk but the last
    assert set(full.summary()) == {"accuracy", "macro_f1", "ece", "n_test", "seconds", "tokens_processed"}


def test_variants_stop_together_on_the_same_queries() -> None:
    variants = [Variant("direct"), Variant("ppl"), Variant("direct", "contextual")]
    full = evaluate_variants(make_runner(), POOL, TEST, cfg(), variants)
    partials: list[dict[str, EvalResult]] = []
    calls = iter([False, True])
    part = evaluate_variants(
        make_runner(),
        POOL,
        TEST,
        cfg(),
        variants,
        should_stop=lambda: next(calls),
        on_chunk=partials.append,
        chunk_size=2,
    )
    assert list(part) == list(full)
    for name, res in part.items():
        assert res.partial and res.n_done == 4 and res.n_total == len(TEST), name
        assert rows(res) == rows(full[name], 4)
    assert [r["ppl"].n_done for r in partials] == [2, 4]
    progress: list[float] = []
    again = evaluate_variants(
        make_runner(),
        POOL,
        TEST,
        cfg(),
        variants,
        should_stop=lambda: False,
        progress=lambda f, m: progress.append(f),
    )
    assert all(rows(again[n]) == rows(full[n]) for n in full) and not any(r.partial for r in again.values())
    assert progress == sorted(progress) and progress[-1] == 1.0


def test_chunk_size_and_time_left() -> None:
    assert chunk_size_for(10) == 4 and chunk_size_for(200) == 10
    assert eta_seconds(0, 10, 5.0) is None
    assert eta_seconds(2, 10, 4.0) == pytest.approx(16.0)
    assert eta_seconds(10, 10, 4.0) == 0.0
    assert eta_text(0, 200, 3.0) == "0 / 200 queries"
    assert eta_text(50, 200, 20.0) == "50 / 200 queries · about 60 s left"
    assert eta_text(10, 200, 60.0) == "10 / 200 queries · about 19 min left"
    assert eta_text(200, 200, 60.0) == "200 / 200 queries"
    assert duration_text(0.2) == "1 s" and duration_text(3 * 3600) == "3.0 h"
