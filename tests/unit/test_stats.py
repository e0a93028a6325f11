"""engine.core.stats (Wilson intervals, exact McNemar) and engine.experiments.zero_few on a fake model."""

from __future__ import annotations

import numpy as np
import pytest

from engine.core.stats import compare_paired, mcnemar_exact, wilson
from engine.data.datasets import Example
from engine.evaluation.run import EvalConfig
from engine.experiments.zero_few import compare_zero_few
from engine.model.fake import FakeRunner
from engine.prompting.prompts import PromptFormat


def test_wilson_matches_the_closed_form() -> None:
    k, n, z = 8, 10, 1.959963984540054
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert wilson(k, n) == pytest.approx((centre - half, centre + half))
    assert wilson(0, 0) == (0.0, 1.0)


def test_mcnemar_exact_is_the_binomial_tail_of_the_discordant_pairs() -> None:
    assert mcnemar_exact(0, 6) == pytest.approx(2 * 0.5**6)
    assert mcnemar_exact(3, 3) == pytest.approx(1.0)
    assert mcnemar_exact(0, 0) == 1.0


def test_compare_paired_counts_and_verdict() -> None:
    a = [True] * 10 + [False] * 20
    b = [True] * 10 + [True] * 12 + [False] * 8
    c = compare_paired(a, b)
    assert (c.n, c.correct_a, c.correct_b, c.only_a, c.only_b) == (30, 10, 22, 0, 12)
    assert c.significant and c.p_value == pytest.approx(2 * 0.5**12)
    assert not compare_paired([True, False], [False, True]).significant
    with pytest.raises(ValueError):
        compare_paired([True], [True, False])


def test_zero_few_points_at_a_query_the_demonstrations_fix() -> None:
    # the fake model says "positive" unless the prompt holds a "negative" demonstration and the
    # query is "bad": zero-shot gets the bad query wrong, the 4-shot prompt gets it right
    vocab = ["Review:", " good", " bad", " film", "\nSentiment:", " positive", " negative", "\n\nReview:"]
    runner = FakeRunner(vocab)
    pos, neg, bad = runner.id_of(" positive"), runner.id_of(" negative"), runner.id_of(" bad")
    assert 1 not in (pos, neg, bad)

    def logits(ids):  # type: ignore[no-untyped-def]
        out = np.zeros(len(runner.vocab))
        has_demo_neg = list(ids).count(neg) >= 1
        out[neg if has_demo_neg and bad in ids[-3:] else pos] = 5.0
        return out

    runner.logits_fn = logits
    pool = (Example("good film", "positive", 0), Example("bad film", "negative", 1))
    queries = (Example("good", "positive", 10), Example("bad", "negative", 11))
    cfg = EvalConfig(
        fmt=PromptFormat("Review: {text}\nSentiment: {label}"),
        label_words=(("negative", "negative"), ("positive", "positive")),
    )
    res = compare_zero_few(runner, pool, queries, cfg, [0, 1])
    assert [q.pred for q in res.zero.queries] == ["positive", "positive"]
    assert [q.pred for q in res.few.queries] == ["positive", "negative"]
    assert res.example == 1 and res.example_flips
    assert (res.comparison.only_a, res.comparison.only_b) == (0, 1)
    assert res.few.queries[0].pool_indices == (0, 1)
