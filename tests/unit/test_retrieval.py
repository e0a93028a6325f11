"""Retrievers on hand-made embeddings, where the right answer is worked out by hand."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest

from engine.core.errors import ConfigError
from engine.data.datasets import Example
from engine.model.fake import FakeRunner
from engine.prompting.prompts import PromptFormat
from engine.retrieval.demo_index import DemoIndex
from engine.retrieval.retrievers import (
    NEEDS_INDEX,
    NEEDS_MODEL,
    OPTIONS,
    ORDERINGS,
    QUERY_INDEPENDENT,
    RETRIEVERS,
    build_context,
    dpp_greedy,
    mmr_select,
    select_demos,
    votek_select,
)


class DictEncoder:
    """Test encoder: each text maps to a hand-made vector; counts encode calls."""

    def __init__(
        self, vectors: Mapping[str, Sequence[float] | np.ndarray], name: str = "dict-encoder"
    ) -> None:
        self.vectors = {t: np.asarray(v, dtype=np.float32) for t, v in vectors.items()}
        self._name = name
        self.n_encoded = 0

    @property
    def name(self) -> str:
        return self._name

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.n_encoded += len(texts)
        return np.stack([self.vectors[t] for t in texts])


def make_index(
    vectors: Mapping[str, Sequence[float] | np.ndarray], pool: Sequence[str], tmp: Path
) -> DemoIndex:
    return DemoIndex(DictEncoder(vectors), cache_root=tmp).build(list(pool))


def pool_of(texts: Sequence[str], labels: Sequence[str]) -> list[Example]:
    return [Example(t, lab, i) for i, (t, lab) in enumerate(zip(texts, labels, strict=True))]


@pytest.fixture
def near_dup(tmp_path: Path) -> tuple[list[Example], DemoIndex]:
    """a and a2 are near-duplicates close to the query; b is less relevant but different.

    cos(q, a) = 0.958, cos(q, a2) = 0.948, cos(q, b) = 0.862; cos(a, a2) = 0.990, cos(a, b) = 0.6.
    """
    vectors = {
        "a": [1.0, 0.0, 0.0],
        "a2": [0.99, 0.141, 0.0],
        "b": [0.6, 0.0, 0.8],
        "far": [0.0, 1.0, 0.0],
        "q": [1.0, 0.0, 0.3],
    }
    pool = pool_of(["a", "a2", "b", "far"], ["x", "x", "y", "y"])
    return pool, make_index(vectors, [e.text for e in pool], tmp_path)


def test_topk_orders_by_cosine(near_dup: tuple[list[Example], DemoIndex]) -> None:
    pool, index = near_dup
    ctx = build_context(pool, retrieval="topk", index=index)
    assert select_demos("q", 3, ctx, retrieval="topk") == [0, 1, 2]
    assert select_demos("q", 0, ctx, retrieval="topk") == []


def test_mmr_picks_the_diverse_item(near_dup: tuple[list[Example], DemoIndex]) -> None:
    pool, index = near_dup
    # lambda = 0.5: after "a", a2 scores 0.5*0.948 - 0.5*0.990 < 0 while b scores 0.5*0.862 - 0.5*0.6 > 0
    ctx = build_context(pool, retrieval="mmr", index=index, options={"mmr_lambda": 0.5})
    assert select_demos("q", 2, ctx, retrieval="mmr") == [0, 2]
    # lambda = 1 is pure relevance: the same as topk
    ctx1 = build_context(pool, retrieval="mmr", index=index, options={"mmr_lambda": 1.0})
    assert select_demos("q", 2, ctx1, retrieval="mmr") == [0, 1]


def test_mmr_select_by_hand() -> None:
    rel = np.array([0.9, 0.85, 0.5])
    sim = np.array([[1.0, 0.95, 0.1], [0.95, 1.0, 0.1], [0.1, 0.1, 1.0]])
    assert mmr_select(rel, sim, 2, 0.5) == [0, 2]
    assert mmr_select(rel, sim, 2, 0.9) == [0, 1]  # 0.9*0.85-0.1*0.95 = 0.67 > 0.9*0.5-0.1*0.1 = 0.44
    assert mmr_select(rel, sim, 5, 0.5) == [0, 2, 1]


def test_dpp_never_picks_duplicates(tmp_path: Path) -> None:
    vectors = {"d": [1.0, 0.0, 0.0], "e": [0.0, 1.0, 0.0], "f": [0.0, 0.0, 1.0], "q": [1.0, 0.2, 0.1]}
    texts = ["d", "d", "d", "e", "f"]
    enc = DictEncoder(vectors)
    index = DemoIndex(enc, cache_root=tmp_path).build(texts)
    pool = pool_of(texts, ["x", "x", "x", "y", "y"])
    ctx = build_context(pool, retrieval="dpp", index=index)
    chosen = select_demos("q", 3, ctx, retrieval="dpp")
    assert len(chosen) == 3
    assert sum(1 for i in chosen if texts[i] == "d") == 1
    assert {texts[i] for i in chosen} == {"d", "e", "f"}
    # only one distinct direction in the pool: the set stops at one item
    ctx2 = build_context(
        pool[:3], retrieval="dpp", index=DemoIndex(enc, cache_root=tmp_path).build(texts[:3])
    )
    assert len(select_demos("q", 3, ctx2, retrieval="dpp")) == 1


def test_dpp_greedy_by_hand() -> None:
    # identity kernel scaled: picks by diagonal, all independent
    kernel = np.diag([1.0, 3.0, 2.0])
    assert dpp_greedy(kernel, 3) == [1, 2, 0]
    # items 0 and 1 identical: det of {0, 1} = 0, so after 0 the next is 2
    v = np.array([[1.0, 0.0], [1.0, 0.0], [0.6, 0.8]])
    assert dpp_greedy(v @ v.T, 3) == [0, 2]


def test_dpp_scale_trades_relevance_for_diversity(near_dup: tuple[list[Example], DemoIndex]) -> None:
    pool, index = near_dup
    greedy_rel = build_context(pool, retrieval="dpp", index=index, options={"dpp_scale": 0.001})
    diverse = build_context(pool, retrieval="dpp", index=index, options={"dpp_scale": 10.0})
    assert select_demos("q", 1, greedy_rel, retrieval="dpp") == [0]
    # with a flat relevance the most orthogonal pair wins: after "a" the volume of "far" is 1
    assert select_demos("q", 2, diverse, retrieval="dpp")[1] == 3


def test_votek_discounts_covered_items() -> None:
    # two cliques {0,1,2} and {3,4,5}: all scores tie (2 votes), 0 wins; its clique is then covered
    # (votes from 1 and 2 are worth 1/rho), so the second pick comes from the other clique.
    nb = np.array([[1, 2], [0, 2], [0, 1], [4, 5], [3, 5], [3, 4]])
    assert votek_select(nb, 2, 10.0) == [0, 3]
    # a hub that everybody points to is chosen first
    hub = np.array([[3, 1], [3, 2], [3, 0], [0, 1], [3, 0]])
    assert votek_select(hub, 1, 10.0) == [3]


def test_votek_is_query_independent(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    texts = [f"t{i}" for i in range(30)]
    vectors = {t: rng.normal(size=4) for t in texts} | {"q1": [1, 0, 0, 0], "q2": [0, 1, 0, 0]}
    pool = pool_of(texts, ["x", "y"] * 15)
    ctx = build_context(pool, retrieval="votek", index=make_index(vectors, texts, tmp_path))
    a = select_demos("q1", 4, ctx, retrieval="votek")
    b = select_demos("q2", 4, ctx, retrieval="votek")
    assert a == b and len(set(a)) == 4
    assert "votek" in QUERY_INDEPENDENT


def test_bm25_matches_words(tmp_path: Path) -> None:
    texts = ["the cat sat on the mat", "stocks fell sharply today", "a cat and a dog", "dogs bark loudly"]
    pool = pool_of(texts, ["a", "b", "a", "b"])
    ctx = build_context(pool, retrieval="bm25")
    assert select_demos("cat", 2, ctx, retrieval="bm25") == [2, 0]  # shorter document scores higher
    assert select_demos("stocks", 1, ctx, retrieval="bm25") == [1]
    # no word in common: pool order, deterministic
    assert select_demos("zebra", 2, ctx, retrieval="bm25") == [0, 1]


def test_random_is_seeded_and_distinct() -> None:
    pool = pool_of([f"t{i}" for i in range(20)], ["a", "b"] * 10)
    ctx = build_context(pool, retrieval="random")
    a = select_demos("q", 5, ctx, retrieval="random", seed=3)
    assert a == select_demos("q", 5, ctx, retrieval="random", seed=3)
    assert a != select_demos("q", 5, ctx, retrieval="random", seed=4)
    assert len(set(a)) == 5


@pytest.mark.parametrize("k", [0, 1, 4, 5, 7])
def test_label_balanced_counts(k: int) -> None:
    labels = ["a"] * 10 + ["b"] * 10 + ["c"] * 2
    pool = pool_of([f"t{i}" for i in range(len(labels))], labels)
    ctx = build_context(pool, retrieval="label_balanced")
    chosen = select_demos("q", k, ctx, retrieval="label_balanced", seed=1)
    counts = {lab: sum(1 for i in chosen if pool[i].label == lab) for lab in "abc"}
    assert len(chosen) == len(set(chosen)) == k
    assert counts["c"] <= 2
    if k <= 6:  # every label can take its share: counts differ by at most one
        assert max(counts.values()) - min(counts.values()) <= 1
    else:  # c is short (2 items), a and b share the rest evenly
        assert counts["c"] == 2 and abs(counts["a"] - counts["b"]) <= 1


def test_fixed_and_zero() -> None:
    pool = pool_of(["a", "b", "c"], ["x", "y", "x"])
    ctx = build_context(pool, retrieval="fixed", fixed=[2, 0])
    assert select_demos("q", 99, ctx, retrieval="fixed") == [2, 0]
    assert select_demos("q", 3, build_context(pool, retrieval="zero"), retrieval="zero") == []
    with pytest.raises(ConfigError, match="outside the pool"):
        build_context(pool, retrieval="fixed", fixed=[5])


def test_errors_are_config_errors(near_dup: tuple[list[Example], DemoIndex]) -> None:
    pool, index = near_dup
    with pytest.raises(ConfigError, match=r"Known: .*topk"):
        build_context(pool, retrieval="nearest")
    with pytest.raises(ConfigError, match=r"Known: .*similar_last"):
        build_context(pool, retrieval="topk", ordering="closest", index=index)
    with pytest.raises(ConfigError, match="larger than the demonstration pool"):
        select_demos("q", 9, build_context(pool, retrieval="topk", index=index), retrieval="topk")
    with pytest.raises(ConfigError, match="mmr_lambda must be between"):
        build_context(pool, retrieval="mmr", index=index, options={"mmr_lambda": 2})
    with pytest.raises(ConfigError, match=r"Unknown option 'lambda'"):
        build_context(pool, retrieval="mmr", index=index, options={"lambda": 0.3})
    with pytest.raises(ConfigError, match="needs the model"):
        build_context(pool, retrieval="mdl", index=index)
    with pytest.raises(ConfigError, match="needs the demo index"):
        select_demos("q", 2, build_context(pool, retrieval="random"), retrieval="topk")
    with pytest.raises(ConfigError, match="pool is empty"):
        build_context([], retrieval="topk")


def test_registries_are_consistent() -> None:
    assert {"zero", "fixed", "random", "label_balanced", "topk", "bm25", "mmr", "votek", "dpp", "mdl"} <= set(
        RETRIEVERS
    )
    assert {"as_retrieved", "random", "similar_last", "similar_first", "label_interleaved"} <= set(ORDERINGS)
    assert {"global_e", "local_e"} <= set(ORDERINGS)
    assert set(RETRIEVERS) | set(ORDERINGS) >= NEEDS_INDEX
    assert set(RETRIEVERS) | set(ORDERINGS) >= NEEDS_MODEL
    for spec in OPTIONS.values():
        assert spec.low <= spec.default <= spec.high or spec.default == 0
        assert set(spec.used_by) <= set(RETRIEVERS) | set(ORDERINGS)


# ---------------------------------------------------------------------- mdl with a FakeRunner
VOCAB = ["Input:", "\n\nInput:", " a", " b", " c", " d", " z", " q", "\nLabel:", " pos", " neg"]


def confident_when_z(runner: FakeRunner) -> FakeRunner:
    """After "\\nLabel:" the model is sure (pos) only when the demo " z" is in the prompt."""
    pos, _neg, z, lab = (runner.id_of(t) for t in (" pos", " neg", " z", "\nLabel:"))

    def logits(ids: Sequence[int]) -> np.ndarray:
        out = np.zeros(len(runner.vocab))
        if ids and ids[-1] == lab:
            out[pos] = 6.0 if z in ids else 0.2
        return out

    runner.logits_fn = logits
    return runner


def test_mdl_keeps_the_lowest_entropy_set(tmp_path: Path) -> None:
    texts = ["a", "b", "c", "d", "z"]
    vectors = {
        "a": [1.0, 0.1, 0.0],
        "b": [1.0, 0.2, 0.0],
        "c": [1.0, 0.3, 0.0],
        "d": [1.0, 0.4, 0.0],
        "z": [0.0, 0.0, 1.0],
        "q": [1.0, 0.0, 0.0],
    }
    pool = pool_of(texts, ["pos", "neg", "pos", "neg", "pos"])
    runner = confident_when_z(FakeRunner(VOCAB))
    fmt = PromptFormat("Input: {text}\nLabel: {label}")
    words = {"pos": "pos", "neg": "neg"}
    ctx = build_context(
        pool,
        retrieval="mdl",
        runner=runner,
        fmt=fmt,
        label_words=words,
        index=make_index(vectors, texts, tmp_path),
        options={"n_candidates": 5, "mdl_samples": 20},
    )
    chosen = select_demos("q", 2, ctx, retrieval="mdl", seed=0)
    assert 4 in chosen  # topk would give [0, 1]; only sets with z make the model confident
    assert select_demos("q", 2, ctx, retrieval="topk") == [0, 1]
    # with one sample mdl is topk
    ctx1 = build_context(
        pool,
        retrieval="mdl",
        runner=runner,
        fmt=fmt,
        label_words=words,
        index=ctx.index,
        options={"n_candidates": 5, "mdl_samples": 1},
    )
    assert select_demos("q", 2, ctx1, retrieval="mdl") == [0, 1]


def test_explain_selection_reports_positions_similarities_and_ranks(
    near_dup: tuple[list[Example], DemoIndex],
) -> None:
    from engine.experiments.selection import explain_selection

    pool, index = near_dup
    ctx = build_context(
        pool,
        retrieval="topk",
        ordering="similar_last",
        index=index,
        fmt=PromptFormat("Input: {text}\nLabel: {label}"),
        label_words={"x": "ex", "y": "why"},
    )
    sel = explain_selection("q", 3, ctx, retrieval="topk", ordering="similar_last")
    assert [d.pool_index for d in sel.demos] == [2, 1, 0]  # the nearest (a) next to the query
    assert [d.position for d in sel.demos] == [1, 2, 3]
    assert [d.rank for d in sel.demos] == [3, 2, 1]
    assert sel.demos[-1].similarity == pytest.approx(1 / np.sqrt(1.09), rel=1e-5)
    assert sel.label_counts == {"x": 2, "y": 1}
    assert sel.prompt is not None and sel.prompt.text.endswith("Input: q\nLabel: ")
    assert sel.prompt.text.index("Input: b") < sel.prompt.text.index("Input: a\n")
    with pytest.raises(ConfigError, match="query is empty"):
        explain_selection(" ", 3, ctx, retrieval="topk", ordering="similar_last")


def test_votek_set_ignores_the_seed_even_when_subsampling(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    texts = [f"t{i}" for i in range(60)]
    vectors = {t: rng.normal(size=4) for t in texts} | {"q": [1, 0, 0, 0]}
    ctx = build_context(
        pool_of(texts, ["x", "y"] * 30),
        retrieval="votek",
        index=make_index(vectors, texts, tmp_path),
        options={"votek_pool": 20, "votek_k": 3},
    )
    sets = {tuple(select_demos("q", 3, ctx, retrieval="votek", seed=s)) for s in range(4)}
    assert len(sets) == 1
