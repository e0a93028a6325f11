"""`evaluate` and its pure steps on the hand-set FakeRunner of test_scoring, and metrics by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from engine.core.errors import ConfigError
from engine.data.datasets import Example
from engine.evaluation.run import (
    EvalConfig,
    compute_metrics,
    derive_seed,
    evaluate,
    label_words_from,
)
from engine.scoring.scorers import ScoringConfig
from tests.unit.test_scoring import FMT, make_runner

LABELS = (("negative", "negative"), ("positive", "positive"))
POOL = [
    Example("good film", "positive", 10),
    Example("bad film", "negative", 11),
    Example("good good film", "positive", 12),
    Example("bad bad film", "negative", 13),
    Example("film", "positive", 14),
]
TEST = [
    Example("good film", "positive", 100),
    Example("bad film", "negative", 101),
    Example("film bad", "positive", 102),
]


def cfg(**kw: object) -> EvalConfig:
    base: dict[str, object] = {"fmt": FMT, "label_words": LABELS, "k": 2}
    base.update(kw)
    return EvalConfig(**base)  # type: ignore[arg-type]


def test_metrics_by_hand() -> None:
    probs = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.7, 0.3]])
    m = compute_metrics(["a", "a", "b", "b"], np.log(probs), ["a", "b"])
    assert m.accuracy == 0.5
    assert m.confusion == ((1, 1), (1, 1))
    assert m.macro_f1 == pytest.approx(0.5)
    assert m.ece == pytest.approx((0.1 + 0.6 + 0.2 + 0.7) / 4)
    assert m.mean_true_prob == pytest.approx((0.9 + 0.4 + 0.8 + 0.3) / 4)
    assert m.n == 4


def test_macro_f1_skips_labels_never_seen_and_counts_missed_ones() -> None:
    probs = np.array([[0.9, 0.1, 0.0], [0.8, 0.2, 0.0]])
    m = compute_metrics(["a", "b"], np.log(probs + 1e-12), ["a", "b", "c"])
    # a: P=1/2 R=1 F1=2/3; b: never predicted F1=0; c: absent everywhere, skipped
    assert m.per_label_f1 == pytest.approx({"a": 2 / 3, "b": 0.0})
    assert m.macro_f1 == pytest.approx(1 / 3)


def test_evaluate_direct_by_hand_zero_shot() -> None:
    r = make_runner()
    res = evaluate(r, POOL, TEST, cfg(k=0, retrieval="zero"))
    assert [q.pred for q in res.queries] == ["positive", "negative", "negative"]
    assert res.metrics.accuracy == pytest.approx(2 / 3)
    q0 = res.queries[0]
    assert q0.scores["positive"] == pytest.approx(math.log(0.75))
    assert q0.probs == pytest.approx((0.25, 0.75))
    assert q0.prompts["positive"] == "Review: good film\nSentiment: positive"
    assert q0.demo_ids == () and q0.label_scores[1].token_logprobs == pytest.approx((math.log(0.75),))
    assert res.tokens_processed > 0 and res.seconds >= 0


def test_batch_calibration_over_the_evaluated_batch() -> None:
    r = make_runner()
    res = evaluate(r, POOL, TEST, cfg(k=0, retrieval="zero", scoring=ScoringConfig("direct", "batch")))
    p = np.array([[0.25, 0.75], [0.8, 0.2], [0.8, 0.2]])
    prior = p.mean(axis=0)
    cal = p / prior
    cal /= cal.sum(axis=1, keepdims=True)
    for q, row in zip(res.queries, cal, strict=True):
        assert q.probs == pytest.approx(tuple(row))
        assert q.prior == pytest.approx(tuple(prior))


def test_contextual_calibration_per_demo_set() -> None:
    r = make_runner()
    res = evaluate(
        r, POOL, TEST[:1], cfg(k=0, retrieval="zero", scoring=ScoringConfig("direct", "contextual"))
    )
    q = np.array([0.25 / 0.4, 0.75 / 0.6])
    assert res.queries[0].probs == pytest.approx(tuple(q / q.sum()))


def test_shared_demos_are_one_draw_and_per_query_draws_differ() -> None:
    r = make_runner()
    shared = evaluate(r, POOL, TEST, cfg(demos="shared", seed=3))
    ids = {q.demo_ids for q in shared.queries}
    assert len(ids) == 1 and len(next(iter(ids))) == 2
    assert all(i in {e.id for e in POOL} for i in next(iter(ids)))
    per = evaluate(r, POOL, TEST, cfg(demos="per-query", seed=3))
    assert len({q.demo_ids for q in per.queries}) > 1
    again = evaluate(r, POOL, TEST, cfg(demos="per-query", seed=3))
    assert [q.demo_ids for q in per.queries] == [q.demo_ids for q in again.queries]
    assert derive_seed(3, 0) != derive_seed(3, 1) and derive_seed(3, 0) == derive_seed(3, 0)
    # demo ids are the examples' ids, in prompt order, and the prompt shows them in that order
    q0 = per.queries[0]
    texts = [next(e.text for e in POOL if e.id == i) for i in q0.demo_ids]
    prompt = q0.prompts["positive"]
    assert prompt.index(texts[0]) < prompt.index(texts[1])


def test_fast_and_plain_give_the_same_results() -> None:
    r = make_runner()
    for scorer in ("direct", "ppl", "channel"):
        a = evaluate(r, POOL, TEST, cfg(scoring=ScoringConfig(scorer)))
        b = evaluate(r, POOL, TEST, cfg(scoring=ScoringConfig(scorer)), fast=False)
        assert [q.scores for q in a.queries] == [q.scores for q in b.queries]


def test_results_jsonl_record_contract() -> None:
    r = make_runner()
    res = evaluate(r, POOL, TEST, cfg())
    rec = res.queries[0].to_json()
    assert {"id", "text", "gold", "pred", "demo_ids", "scores", "prompts"} <= set(rec)
    assert set(rec["scores"]) == set(rec["prompts"]) == {"negative", "positive"}
    json.dumps(rec)
    assert set(res.summary()) == {"accuracy", "macro_f1", "ece", "n_test", "seconds", "tokens_processed"}


def test_config_errors_are_user_errors() -> None:
    with pytest.raises(ConfigError, match="Known"):
        cfg(retrieval="nope")
    with pytest.raises(ConfigError, match="per query"):
        cfg(demos="shared", retrieval="topk")
    with pytest.raises(ConfigError):
        cfg(k=-1)
    r = make_runner()
    with pytest.raises(ConfigError, match="larger than"):
        evaluate(r, POOL, TEST, cfg(k=50))
    with pytest.raises(ConfigError, match="no label word"):
        evaluate(r, POOL, [Example("x", "neutral", 1)], cfg())
    assert label_words_from(["a", "b"], ["x", "y"]) == (("a", "x"), ("b", "y"))
    with pytest.raises(ConfigError):
        label_words_from(["a", "b"], ["x"])
