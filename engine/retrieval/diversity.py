"""Diversity maths of the retrievers: MMR, DPP greedy MAP and Vote-k, on plain arrays.

* MMR (Carbonell & Goldstein 1998): greedy over the candidates,
  argmax_d  λ·sim(d, x) − (1−λ)·max_{s chosen} sim(d, s).
* DPP (Ye et al. 2023, CEIL's inference): greedy MAP (Chen et al. 2018) of a DPP with kernel
  L = diag(r)·S·diag(r), S the candidates' cosine matrix and r_i = exp((rel_i − max rel) / (2·scale)),
  rel_i = (1 + cos(x, d_i))/2 (OpenICL's kernel). Small scale favours relevance, large favours
  diversity. Duplicates add no volume (det = 0) and are never picked; the set stops early when no
  candidate adds volume.
* Vote-k (Su et al. 2022, stage 1): on the graph where every pool item points to its k nearest
  neighbours, repeatedly take the item with the most votes, where a vote from v is worth
  ρ^−(number of chosen items among v's neighbours), so regions already covered count less.

The retrievers that use them (`mmr`, `dpp`, `votek`) are in `retrievers.py`.

References:
    Carbonell & Goldstein, 1998, "The Use of MMR, Diversity-Based Reranking", SIGIR.
    Chen et al., 2018, "Fast Greedy MAP Inference for Determinantal Point Process", NeurIPS.
    Ye et al., 2023, "Compositional Exemplars for In-context Learning" (CEIL), arXiv:2302.05698.
    Su et al., 2022, "Selective Annotation Makes Language Models Better Few-Shot Learners", arXiv:2209.01975.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np


def mmr_select(rel: np.ndarray, sim: np.ndarray, k: int, lam: float) -> list[int]:
    """Greedy MMR over candidates.

    Args:
        rel: `[n_cand]` similarity of each candidate to the query.
        sim: `[n_cand, n_cand]` candidate-candidate similarity.
        k: how many to pick.
        lam: λ in [0, 1].

    Returns:
        Positions into the candidates, in selection order (ties: the earlier candidate).
    """
    n = rel.shape[0]
    chosen: list[int] = []
    max_sim = np.full(n, -np.inf)
    free = np.ones(n, dtype=bool)
    for _ in range(min(k, n)):
        penalty = np.where(np.isfinite(max_sim), max_sim, 0.0)
        score = lam * rel - (1.0 - lam) * penalty
        score = np.where(free, score, -np.inf)
        j = int(np.argmax(score))
        chosen.append(j)
        free[j] = False
        max_sim = np.maximum(max_sim, sim[j])
    return chosen


def dpp_kernel(cos: np.ndarray, emb: np.ndarray, scale: float) -> np.ndarray:
    """The relevance-weighted DPP kernel L = diag(r)·S·diag(r) over the candidates.

    Args:
        cos: `[n_cand]` cosine of each candidate to the query.
        emb: `[n_cand, d_embed]` unit embeddings of the candidates.
        scale: relevance temperature (small = relevance, large = diversity).

    Returns:
        `[n_cand, n_cand]` positive semi-definite kernel.
    """
    rel = (cos + 1.0) / 2.0
    r = np.exp((rel - rel.max()) / (2.0 * scale))  # [n_cand], max 1
    sim = emb @ emb.T  # [n_cand, n_cand] cosine Gram matrix: PSD, so the kernel is too
    return np.asarray(r[:, None] * sim * r[None, :])


def dpp_greedy(kernel: np.ndarray, k: int, eps: float = 1e-9) -> list[int]:
    """Fast greedy MAP inference for a DPP (Chen et al. 2018, Algorithm 1).

    Each step adds the item with the largest marginal gain d_j² = L_jj − ‖c_j‖² (the squared
    distance of item j to the span of the chosen items in the kernel's feature space), via
    incremental Cholesky rows. Stops early when no item has d_j² > eps, so an item identical to
    a chosen one (gain 0) is never picked.

    Args:
        kernel: `[n, n]` symmetric positive semi-definite L.
        k: maximum set size.

    Returns:
        Positions of the chosen items in selection order (at most k).
    """
    n = kernel.shape[0]
    cis = np.zeros((min(k, n), n))
    d2 = np.array(np.diag(kernel), dtype=np.float64)
    chosen: list[int] = []
    while len(chosen) < min(k, n):
        masked = d2.copy()
        masked[chosen] = -np.inf
        j = int(np.argmax(masked))
        if masked[j] <= eps:
            break
        m = len(chosen)
        e = (kernel[j] - cis[:m, j] @ cis[:m]) / np.sqrt(d2[j])  # [n]
        cis[m] = e
        d2 = d2 - e**2
        chosen.append(j)
    return chosen


def votek_select(neighbours: np.ndarray, m: int, rho: float) -> list[int]:
    """Vote-k stage 1 (Su et al. 2022, Algorithm 1, lines 2-7).

    Args:
        neighbours: `[n, k_graph]` each item's nearest neighbours (itself excluded); edge v -> u
            when u is among v's neighbours.
        m: how many items to select.
        rho: discount > 1.

    Returns:
        Selected positions in selection order. score(u) = Σ_{v unselected, v -> u}
        ρ^−|{chosen ℓ : v -> ℓ}|; ties go to the lower position.
    """
    from scipy.sparse import csr_matrix

    n, kg = neighbours.shape
    rows = np.repeat(np.arange(n), kg)
    adj = csr_matrix((np.ones(n * kg), (rows, neighbours.reshape(-1))), shape=(n, n))  # adj[v, u]
    adj_csc = adj.tocsc()
    covered = np.zeros(n)  # chosen items among v's neighbours
    free = np.ones(n, dtype=bool)
    chosen: list[int] = []
    for _ in range(min(m, n)):
        weight = np.where(free, rho ** (-covered), 0.0)  # [n] vote weight of each v
        score = adj.T @ weight  # [n] for each u
        score = np.where(free, score, -np.inf)
        u = int(np.argmax(score))
        chosen.append(u)
        free[u] = False
        covered += adj_csc[:, [u]].toarray().ravel()
    return chosen


_VOTEK_CACHE: OrderedDict[tuple[object, ...], list[int]] = OrderedDict()
_VOTEK_LOCK = threading.Lock()


def votek_picks(
    embeddings: np.ndarray, fingerprint: object, k: int, k_graph: int, rho: float, cap: int
) -> list[int]:
    """Vote-k's k items of a pool: one set for every query and seed (memoised per pool).

    Pools larger than `cap` are subsampled with a fixed seed, so the graph stays small (its kNN
    search is quadratic in the pool) and the set is still the same for all queries.

    Args:
        embeddings: `[n_pool, d_embed]` unit vectors of the pool.
        fingerprint: identifies the pool's index (the memo key).
        k: how many items to select; k_graph: neighbours per item; rho: discount > 1.
        cap: largest number of items the graph is built on.

    Returns:
        Pool indices in selection order.
    """
    n = len(embeddings)
    # the sample is fixed per pool (not drawn from a caller's rng), so every query and seed gets the same set
    sample = np.sort(np.random.default_rng(0).choice(n, size=cap, replace=False)) if n > cap else np.arange(n)
    key = (fingerprint, n, k, k_graph, rho, sample.tobytes())
    with _VOTEK_LOCK:
        hit = _VOTEK_CACHE.get(key)
    if hit is not None:
        return list(hit)
    emb = embeddings[sample]  # [n_s, d_embed]
    kg_eff = min(k_graph, len(sample) - 1)
    if kg_eff <= 0:
        return [int(i) for i in sample[:k]]
    import faiss

    sub = faiss.IndexFlatIP(emb.shape[1])
    sub.add(np.ascontiguousarray(emb))
    _, nn = sub.search(np.ascontiguousarray(emb), kg_eff + 1)  # [n_s, kg + 1], self included
    neighbours = np.zeros((len(sample), kg_eff), dtype=np.int64)
    for v in range(len(sample)):
        row = [int(u) for u in nn[v] if u != v and u >= 0][:kg_eff]
        while len(row) < kg_eff:  # duplicates can push v out of its own list: pad with its best
            row.append(row[0] if row else (v + 1) % len(sample))
        neighbours[v] = row
    chosen = [int(sample[j]) for j in votek_select(neighbours, k, rho)]
    with _VOTEK_LOCK:
        _VOTEK_CACHE[key] = chosen
        while len(_VOTEK_CACHE) > 32:
            _VOTEK_CACHE.popitem(last=False)
    return list(chosen)
