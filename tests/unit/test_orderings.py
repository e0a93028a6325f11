"""Orderings: permutations worked out by hand, and Lu et al.'s GlobalE / LocalE on a FakeRunner."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from engine.core.errors import ConfigError
from engine.data.datasets import Example
from engine.model.fake import FakeRunner
from engine.prompting.prompts import Demo, PromptFormat
from engine.retrieval.orderings import (
    candidate_orders,
    entropy,
    label_probs,
    probe_prompt_parts,
    rank_permutations,
    sample_text,
)
from engine.retrieval.retrievers import ORDERINGS, RetrievalContext, build_context, get_ordering, select_demos
from tests.unit.test_retrieval import make_index, pool_of

RNG = np.random.default_rng(0)


@pytest.fixture
def sims_ctx(tmp_path: Path) -> RetrievalContext:
    # cos(q, .) = 0.2, 0.9, 0.5, 0.7 for pool items 0..3
    vectors = {
        "w": [0.2, np.sqrt(1 - 0.04), 0.0],
        "x": [0.9, np.sqrt(1 - 0.81), 0.0],
        "y": [0.5, 0.0, np.sqrt(1 - 0.25)],
        "z": [0.7, 0.0, np.sqrt(1 - 0.49)],
        "q": [1.0, 0.0, 0.0],
    }
    pool = pool_of(["w", "x", "y", "z"], ["a", "b", "a", "b"])
    return build_context(
        pool, retrieval="topk", ordering="similar_last", index=make_index(vectors, "wxyz", tmp_path)
    )


def test_similar_last_puts_the_nearest_next_to_the_query(sims_ctx: RetrievalContext) -> None:
    order = get_ordering("similar_last")("q", [0, 1, 2, 3], sims_ctx, RNG)
    assert order == [0, 2, 3, 1]
    assert order[-1] == 1


def test_similar_first_is_the_reverse(sims_ctx: RetrievalContext) -> None:
    assert get_ordering("similar_first")("q", [0, 1, 2, 3], sims_ctx, RNG) == [1, 3, 2, 0]


def test_topk_as_retrieved_puts_the_nearest_farthest(sims_ctx: RetrievalContext) -> None:
    # OpenICL's convention: most similar first, i.e. farthest from the query
    assert select_demos("q", 3, sims_ctx, retrieval="topk", ordering="as_retrieved") == [1, 3, 2]
    assert select_demos("q", 3, sims_ctx, retrieval="topk", ordering="similar_last") == [2, 3, 1]


def test_label_interleaved() -> None:
    pool = pool_of([f"t{i}" for i in range(6)], ["a", "a", "a", "b", "b", "c"])
    ctx = RetrievalContext(pool=pool)
    assert get_ordering("label_interleaved")("q", [0, 1, 2, 3, 4, 5], ctx, RNG) == [0, 3, 5, 1, 4, 2]
    assert get_ordering("label_interleaved")("q", [4, 0, 1], ctx, RNG) == [4, 0, 1]


def test_every_ordering_is_a_permutation(sims_ctx: RetrievalContext) -> None:
    for name in ORDERINGS:
        if name in ("global_e", "local_e"):
            continue
        out = get_ordering(name)("q", [3, 0, 2], sims_ctx, np.random.default_rng(1))
        assert sorted(out) == [0, 2, 3], name


def test_random_ordering_is_seeded() -> None:
    ctx = RetrievalContext(pool=pool_of([f"t{i}" for i in range(8)], ["a"] * 8))
    idx = list(range(8))
    a = get_ordering("random")("q", idx, ctx, np.random.default_rng(5))
    assert a == get_ordering("random")("q", idx, ctx, np.random.default_rng(5))
    assert sorted(a) == idx and a != idx


def test_similarity_orderings_need_the_index() -> None:
    ctx = RetrievalContext(pool=pool_of(["a", "b"], ["x", "y"]))
    with pytest.raises(ConfigError, match="demo index"):
        get_ordering("similar_last")("q", [0, 1], ctx, RNG)


def test_entropy_by_hand() -> None:
    assert entropy(np.array([0.5, 0.5])) == pytest.approx(np.log(2))
    assert entropy(np.array([1.0, 0.0])) == 0.0
    np.testing.assert_allclose(entropy(np.array([[0.25] * 4, [1, 0, 0, 0]]), axis=1), [np.log(4), 0])


def test_candidate_orders() -> None:
    assert len(candidate_orders(3, 24, RNG)) == 6  # all 3! permutations
    draws = candidate_orders(5, 10, np.random.default_rng(0))
    assert len(draws) == len(set(draws)) == 10 and draws[0] == (0, 1, 2, 3, 4)
    assert all(sorted(d) == list(range(5)) for d in draws)
    assert candidate_orders(1, 8, RNG) == [(0,)]


# ---------------------------------------------------------------------- GlobalE / LocalE
VOCAB = ["Input:", "\n\nInput:", " good", " bad", " a", " b", " c", "\nLabel:", " positive", " negative"]


def recency_biased(runner: FakeRunner) -> FakeRunner:
    """A model whose answer depends on the label of the LAST demonstration.

    Last demo positive: it always answers positive, confidently (5 vs 0).
    Last demo negative: it reads the input (good -> positive, bad -> negative) with mild confidence (1 vs 0).
    Probes: after "Input:" it writes " good" or " bad" with equal odds, then "\\nLabel:".
    """
    t = runner.id_of
    pos, neg, lab = t(" positive"), t(" negative"), t("\nLabel:")
    words = {t(" good"), t(" bad"), t(" a"), t(" b"), t(" c")}

    def logits(ids: Sequence[int]) -> np.ndarray:
        out = np.full(len(runner.vocab), -30.0)
        last = ids[-1] if ids else 0
        if last in (t("Input:"), t("\n\nInput:")):
            out[t(" good")] = out[t(" bad")] = 0.0
        elif last in words:
            out[lab] = 0.0
        elif last == lab:
            seen = [i for i in ids[:-1] if i in (pos, neg)]
            if seen and seen[-1] == pos:
                out[pos], out[neg] = 5.0, 0.0
            elif ids[-2] == t(" good"):
                out[pos], out[neg] = 1.0, 0.0
            else:
                out[pos], out[neg] = 0.0, 1.0
        else:
            out[t("\n\nInput:")] = 0.0
        return out

    runner.logits_fn = logits
    return runner


def entropy_ctx(options: dict[str, float | int | str] | None = None) -> tuple[RetrievalContext, FakeRunner]:
    pool: list[Example] = pool_of(["a", "b", "c"], ["positive", "positive", "negative"])
    runner = recency_biased(FakeRunner(VOCAB))
    ctx = build_context(
        pool,
        retrieval="fixed",
        ordering="global_e",
        runner=runner,
        fmt=PromptFormat("Input: {text}\nLabel: {label}"),
        label_words={"positive": "positive", "negative": "negative"},
        fixed=[0, 1, 2],
        options=options or {"n_permutations": 6, "n_probe": 8},
    )
    return ctx, runner


def test_probe_prompt_parts() -> None:
    fmt = PromptFormat("Input: {text}\nLabel: {label}")
    prompt, stops = probe_prompt_parts(fmt, [Demo("a", "positive")], {"positive": "positive"})
    assert prompt == "Input: a\nLabel: positive\n\nInput: "
    assert stops == ["Label:", "\n"]


def test_sample_text_is_seeded_and_stops() -> None:
    _ctx, runner = entropy_ctx()
    texts = [
        sample_text(runner, "Input: ", max_new_tokens=8, temperature=1.0, stops=["Label:", "\n"], seed=s)
        for s in range(12)
    ]
    assert set(t.strip() for t in texts) == {"good", "bad"}
    again = sample_text(runner, "Input: ", max_new_tokens=8, temperature=1.0, stops=["Label:", "\n"], seed=3)
    assert again == texts[3]


def test_label_probs_by_hand() -> None:
    _, runner = entropy_ctx()
    words = {"positive": "positive", "negative": "negative"}
    p = label_probs(runner, ["Input: a\nLabel: positive\n\nInput: bad\nLabel: "], words)
    np.testing.assert_allclose(p, [[np.exp(5) / (np.exp(5) + 1), 1 / (np.exp(5) + 1)]], rtol=1e-6)
    p = label_probs(runner, ["Input: c\nLabel: negative\n\nInput: bad\nLabel: "], words)
    np.testing.assert_allclose(p, [[1 / (1 + np.e), np.e / (1 + np.e)]], rtol=1e-6)


@pytest.mark.parametrize("metric", ["global_e", "local_e"])
def test_entropy_orderings_end_with_the_negative_demo(metric: str) -> None:
    # orders ending in a positive demo answer "positive" for every probe: GlobalE = 0 and LocalE is
    # low (confident); orders ending with the negative demo (index 2) follow the probe's word.
    ctx, _runner = entropy_ctx()
    ranking = rank_permutations([0, 1, 2], ctx, np.random.default_rng(0), metric=metric)  # type: ignore[arg-type]
    assert len(ranking.candidates) == 6
    assert set(ranking.probes) == {"good", "bad"}
    assert ranking.best[-1] == 2
    for cand in ranking.candidates:
        last = [0, 1, 2][cand.order[-1]]
        if last != 2:
            assert cand.global_e == 0.0 and set(cand.predicted) == {"positive"}
        else:
            assert cand.local_e == pytest.approx(entropy(np.array([np.e, 1]) / (1 + np.e)))
    out = select_demos("q", 3, ctx, retrieval="fixed", ordering=metric, seed=0)
    assert sorted(out) == [0, 1, 2] and out[-1] == 2


def test_entropy_ordering_is_seeded_and_cached() -> None:
    ctx, runner = entropy_ctx()
    a = select_demos("q", 3, ctx, retrieval="fixed", ordering="local_e", seed=7)
    n_calls = len(runner.calls)
    b = select_demos("q", 3, ctx, retrieval="fixed", ordering="local_e", seed=7)
    assert a == b
    assert len(runner.calls) == n_calls  # same demos, same seed: served from the cache


def test_entropy_ordering_reports_progress() -> None:
    seen: list[float] = []
    ctx, _ = entropy_ctx({"n_permutations": 2, "n_probe": 3})
    ctx = build_context(
        ctx.pool,
        retrieval="fixed",
        ordering="global_e",
        runner=ctx.runner,
        fmt=ctx.fmt,
        label_words=ctx.label_words,
        fixed=[0, 1, 2],
        options={"n_permutations": 2, "n_probe": 3, "probe_tokens": 4},
        progress=lambda f, m: seen.append(f),
    )
    select_demos("q", 3, ctx, retrieval="fixed", ordering="global_e", seed=11)
    assert seen and seen[-1] == pytest.approx(1.0) and seen == sorted(seen)
