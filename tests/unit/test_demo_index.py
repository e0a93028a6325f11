"""DemoIndex: exact cosine search, explicit build, disk cache keyed by encoder + pool, reuse, PCA map."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from engine.core.errors import ConfigError
from engine.retrieval.demo_index import BM25Index, DemoIndex, pca_map, pool_fingerprint
from tests.unit.test_retrieval import DictEncoder


def random_vectors(n: int, d: int = 8, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {f"text {i}": rng.normal(size=d) for i in range(n)}


def test_build_is_explicit_and_search_is_exact_cosine(tmp_path: Path) -> None:
    vecs = random_vectors(50)
    enc = DictEncoder(vecs | {"query": np.arange(8.0)})
    index = DemoIndex(enc, cache_root=tmp_path)
    assert not index.built and enc.n_encoded == 0
    with pytest.raises(ConfigError, match="not built"):
        index.nearest("query", 3)
    texts = list(vecs)
    index.build(texts)
    assert index.built and len(index) == 50 and index.d_embed == 8
    np.testing.assert_allclose(np.linalg.norm(index.embeddings, axis=1), 1.0, rtol=1e-5)
    # brute force cosine by hand
    m = np.stack([vecs[t] for t in texts])
    q = np.arange(8.0)
    cos = m @ q / np.linalg.norm(m, axis=1) / np.linalg.norm(q)
    ids, sims = index.nearest("query", 5)
    assert ids == list(np.argsort(-cos)[:5])
    np.testing.assert_allclose(sims, np.sort(cos)[::-1][:5], rtol=1e-5)
    np.testing.assert_allclose(index.similarities("query", [3, 7]), cos[[3, 7]], rtol=1e-5)
    with pytest.raises(ValueError):
        index.embeddings[0, 0] = 1.0  # read-only view


def test_saved_index_loads_without_encoding(tmp_path: Path) -> None:
    vecs = random_vectors(40)
    texts = list(vecs)
    first = DemoIndex(DictEncoder(vecs), cache_root=tmp_path).build(texts)
    assert first.stats is not None and not first.stats.from_cache and first.stats.n_encoded == 40
    enc2 = DictEncoder(vecs)
    second = DemoIndex(enc2, cache_root=tmp_path).build(texts)
    assert second.stats is not None and second.stats.from_cache
    assert enc2.n_encoded == 0
    np.testing.assert_array_equal(first.embeddings, second.embeddings)
    assert second.meta["n"] == 40 and second.meta["fingerprint"] == first.fingerprint


def test_cache_key_depends_on_pool_and_encoder(tmp_path: Path) -> None:
    vecs = random_vectors(10)
    texts = list(vecs)
    assert pool_fingerprint(texts, "e1") != pool_fingerprint(texts, "e2")
    assert pool_fingerprint(texts, "e1") != pool_fingerprint(texts[:-1], "e1")
    assert pool_fingerprint(["ab", "c"], "e") != pool_fingerprint(["a", "bc"], "e")
    DemoIndex(DictEncoder(vecs, name="enc-one"), cache_root=tmp_path).build(texts)
    other = DictEncoder(vecs, name="enc-two")
    DemoIndex(other, cache_root=tmp_path).build(texts)
    assert other.n_encoded == 10  # another encoder never reuses these embeddings


def test_subset_pool_reuses_embeddings(tmp_path: Path) -> None:
    vecs = random_vectors(1200)
    texts = list(vecs)
    full = DemoIndex(DictEncoder(vecs), cache_root=tmp_path).build(texts)
    enc = DictEncoder(vecs | {"new text": np.ones(8)})
    sub_texts = [*texts[100:1100][::-1], "new text"]
    sub = DemoIndex(enc, cache_root=tmp_path).build(sub_texts)
    assert enc.n_encoded == 1  # only the unseen text was encoded
    np.testing.assert_allclose(sub.embeddings[:-1], full.embeddings[100:1100][::-1], rtol=1e-6)
    assert sub.stats is not None and sub.stats.n_encoded == 1


def test_damaged_cache_is_rebuilt(tmp_path: Path) -> None:
    vecs = random_vectors(5)
    texts = list(vecs)
    a = DemoIndex(DictEncoder(vecs), cache_root=tmp_path).build(texts)
    assert a.stats is not None
    (Path(a.stats.path) / "index.faiss").write_bytes(b"garbage")
    enc = DictEncoder(vecs)
    b = DemoIndex(enc, cache_root=tmp_path).build(texts)
    assert enc.n_encoded == 5 and b.stats is not None and not b.stats.from_cache


def test_empty_pool_and_progress(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="empty"):
        DemoIndex(DictEncoder({}), cache_root=tmp_path).build([])
    vecs = random_vectors(30)
    seen: list[float] = []
    DemoIndex(DictEncoder(vecs), cache_root=tmp_path).build(
        list(vecs), progress=lambda f, m: seen.append(f), chunk_size=8
    )
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == 4


def test_query_embeddings_are_memoised(tmp_path: Path) -> None:
    vecs = random_vectors(5)
    enc = DictEncoder(vecs | {"q": np.ones(8)})
    index = DemoIndex(enc, cache_root=tmp_path).build(list(vecs))
    n = enc.n_encoded
    index.nearest("q", 2)
    index.similarities("q")
    index.embed_queries(["q", "q"])
    assert enc.n_encoded == n + 1


def test_pca_map_projects_pool_and_extra(tmp_path: Path) -> None:
    # points on a line along e0 with small e1 noise: the first axis carries almost all variance
    vecs = {f"p{i}": np.array([1.0, i / 10, (i % 2) / 100, 0.0]) for i in range(30)}
    index = DemoIndex(DictEncoder(vecs), cache_root=tmp_path).build(list(vecs))
    proj = pca_map(index, index.embeddings[[3]], must=[3], max_points=10, rng=np.random.default_rng(0))
    assert len(proj.pool_ids) == 10 and 3 in proj.pool_ids
    assert proj.pool_xy.shape == (10, 2) and proj.extra_xy.shape == (1, 2)
    assert proj.explained[0] > 0.95
    row = proj.pool_ids.index(3)
    np.testing.assert_allclose(proj.extra_xy[0], proj.pool_xy[row], atol=1e-5)  # same point, same place


def test_bm25_index_scores() -> None:
    bm = BM25Index(["red apples", "green apples and pears", "blue sky"])
    s = bm.scores("apples")
    assert s[0] > s[1] > 0 and s[2] == 0
    assert bm.top("sky", 1) == [2]
    np.testing.assert_array_equal(bm.scores("the and of"), 0)  # stop words only


class FlakyEncoder(DictEncoder):
    """Fails on the n-th encode call (an interrupted build)."""

    def __init__(self, vectors: dict[str, np.ndarray], fail_at: int | None) -> None:
        super().__init__(vectors)
        self.calls = 0
        self.fail_at = fail_at

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        if self.fail_at is not None and self.calls == self.fail_at:
            raise KeyboardInterrupt
        return super().encode(texts)


def test_interrupted_build_resumes(tmp_path: Path) -> None:
    vecs = random_vectors(100)
    texts = list(vecs)
    first = FlakyEncoder(vecs, fail_at=4)
    with pytest.raises(KeyboardInterrupt):
        DemoIndex(first, cache_root=tmp_path).build(texts, chunk_size=10)
    assert first.n_encoded == 30  # three chunks of 10 done and saved before the failure
    second = FlakyEncoder(vecs, fail_at=None)
    index = DemoIndex(second, cache_root=tmp_path).build(texts, chunk_size=10)
    assert second.n_encoded == 70
    assert index.stats is not None and index.stats.n_encoded == 100
    ref = DemoIndex(DictEncoder(vecs), cache_root=tmp_path / "ref").build(texts)
    np.testing.assert_allclose(index.embeddings, ref.embeddings, rtol=1e-6)
    assert not list(tmp_path.glob("*.partial"))  # cleaned up once complete


def _flat_top(emb: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force top-k in float64, ties by the lower index: the answer by hand."""
    sims = emb.astype(np.float64) @ q.astype(np.float64)
    order = np.lexsort((np.arange(len(sims)), -sims))[:k]
    return sims[order], order


@pytest.mark.parametrize("n_shards", [1, 2, 3])
def test_coarse_filter_equals_brute_force(n_shards: int) -> None:
    """The 8-bit pre-scan with its certificate returns exactly the brute-force top k."""
    from engine.retrieval.demo_index import CoarseFilter, normalise

    rng = np.random.default_rng(1)
    d = 48
    centres = rng.normal(size=(40, d))
    # clustered pool: many near ties around each query, plus exact duplicates
    emb = normalise(
        (centres[rng.integers(0, 40, 6000)] + 0.35 * rng.normal(size=(6000, d))).astype(np.float32)
    )
    emb[10] = emb[4000]
    coarse = CoarseFilter(emb, n_shards=n_shards)
    assert len(coarse.shards) == n_shards and coarse.err < 0.05
    queries = normalise((centres[:20] + 0.2 * rng.normal(size=(20, d))).astype(np.float32))
    queries[0] = emb[10]
    for q in queries:
        for k in (1, 16):
            got = coarse.search(emb, q, k)
            assert got is not None
            want_s, want_i = _flat_top(emb, q, k)
            np.testing.assert_allclose(got[0], want_s, atol=1e-5)
            # distinct items whose true cosines are the k best (exact ties may swap places)
            assert len(set(got[1])) == k
            np.testing.assert_allclose(emb[got[1]].astype(np.float64) @ q, want_s, atol=1e-5)
            assert list(got[1]) == list(want_i) or not np.all(np.diff(want_s) < -1e-6)
    assert coarse.fallbacks == 0


def test_coarse_filter_without_certificate_falls_back_to_brute_force() -> None:
    """A pool of identical vectors leaves the certificate nothing to prove: the brute force answers."""
    from engine.retrieval.demo_index import COARSE_MIN_POOL, CoarseFilter, DemoIndex

    rng = np.random.default_rng(2)
    n = max(COARSE_MIN_POOL, CoarseFilter.MAX_CANDIDATES * 10)
    # more equal best items than any shard's candidate list (at most 4 shards)
    emb = rng.normal(size=(n, 16)).astype(np.float32)
    emb[: CoarseFilter.MAX_CANDIDATES * 5] = emb[0]
    index = DemoIndex(DictEncoder({})).from_embeddings(emb)
    q = index.embeddings[0]
    scores, ids = index.search(q, 8)
    assert index._coarse is not None and index._coarse.fallbacks == 1
    np.testing.assert_allclose(scores[0], 1.0, atol=1e-5)
    assert set(ids[0]) <= set(range(CoarseFilter.MAX_CANDIDATES * 5))
    # an ordinary query on the same index is certified, and equals IndexFlatIP
    q2 = index.embeddings[n - 1]
    s_fast, i_fast = index.search(q2, 16)
    s_flat, i_flat = index.search_flat(q2, 16)
    np.testing.assert_allclose(s_fast, s_flat, atol=1e-5)
    assert list(i_fast[0]) == list(i_flat[0])
    assert index._coarse.fallbacks == 1
