"""Demonstration selection (retrievers) and ordering: one registry each.

A retriever returns *pool indices* (formatting lives in `engine.prompting.prompts`); an ordering is a
pure permutation of those indices (see `engine.retrieval.orderings`). Randomness comes only from the
`rng` argument; `select_demos` seeds one generator that drives both.

    retriever(query, k, ctx, rng) -> list[int]          # indices into ctx.pool
    ordering(query, indices, ctx, rng) -> list[int]     # the same indices, in prompt order

Prompt order: the first index is the farthest from the query, the last sits next to it.

Retrievers (cosines come from `engine.retrieval.demo_index.DemoIndex`, unit MiniLM embeddings):

* ``zero``: no demonstrations. ``fixed``: the user's picks. ``random``: k uniform draws.
* ``label_balanced``: random, with k split as evenly as possible over the labels.
* ``topk`` (KATE, Liu et al. 2021): the k nearest neighbours, most similar first.
* ``bm25``: the k best BM25 matches (lexical overlap; `bm25s`).
* ``mmr`` (Carbonell & Goldstein 1998): greedy maximal marginal relevance over the nearest
  ``n_candidates``: argmax_d  λ·sim(d, x) − (1−λ)·max_{s chosen} sim(d, s); λ = ``mmr_lambda``.
* ``votek`` (Su et al. 2022, stage 1): on the graph where every pool item points to its
  ``votek_k`` nearest neighbours, repeatedly take the item with the most votes, where a vote
  from v is worth ρ^−(number of chosen items among v's neighbours), so regions already covered
  count less. Query-independent: one shared set for all queries.
* ``dpp`` (Ye et al. 2023, CEIL's inference): greedy MAP (Chen et al. 2018) of a DPP over the
  nearest ``n_candidates`` with kernel L = diag(r)·S·diag(r), S the candidates' cosine matrix and
  r_i = exp((rel_i − max rel) / (2·``dpp_scale``)), rel_i = (1 + cos(x, d_i))/2 (OpenICL's kernel).
  Small ``dpp_scale`` favours relevance, large favours diversity. Duplicates add no volume
  (det = 0) and are never picked; the set stops early when no candidate adds volume.
* ``mdl`` (Wu et al. 2023, self-adaptive ICL): among the nearest ``n_candidates``, try the top-k
  set and ``mdl_samples`` − 1 random k-subsets, and keep the one under which the model's label
  distribution for the query has the lowest entropy (shortest code length).

References:
    Liu et al., 2021, "What Makes Good In-Context Examples for GPT-3?", arXiv:2101.06804.
    Carbonell & Goldstein, 1998, "The Use of MMR, Diversity-Based Reranking", SIGIR.
    Su et al., 2022, "Selective Annotation Makes Language Models Better Few-Shot Learners", arXiv:2209.01975.
    Ye et al., 2023, "Compositional Exemplars for In-context Learning" (CEIL), arXiv:2302.05698.
    Chen et al., 2018, "Fast Greedy MAP Inference for Determinantal Point Process", NeurIPS.
    Wu et al., 2023, "Self-Adaptive In-Context Learning: An Information Compression Perspective", ACL.
    Wu et al., 2023, "OpenICL: An Open-Source Framework for In-context Learning", arXiv:2303.02913.
    Lu et al., 2022, "Fantastically Ordered Prompts and Where to Find Them", arXiv:2104.08786.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from engine.core.errors import ConfigError, lookup
from engine.retrieval.orderings import (
    entropy,
    label_probs,
    opt_float,
    opt_int,
    order_as_retrieved,
    order_global_e,
    order_label_interleaved,
    order_local_e,
    order_random,
    order_similar_first,
    order_similar_last,
    prompt_text,
    require_model,
)

if TYPE_CHECKING:
    from engine.data.datasets import Example
    from engine.model.hf_runner import ModelRunner
    from engine.prompting.prompts import PromptFormat
    from engine.retrieval.demo_index import DemoIndex

ProgressFn = Callable[[float, str], None]

RetrieverName = Literal[
    "zero", "fixed", "random", "label_balanced", "topk", "bm25", "mmr", "votek", "dpp", "mdl"
]
OrderingName = Literal[
    "as_retrieved", "random", "similar_last", "similar_first", "label_interleaved", "global_e", "local_e"
]


@dataclass(frozen=True, slots=True)
class RetrievalContext:
    """What a retriever or ordering may look at.

    Attributes:
        pool: the demonstration pool.
        fixed: pool indices the user picked by hand (for the `fixed` retriever).
        index: a `DemoIndex` (embeddings of the pool) when the strategy needs one.
        runner: the model, for model-based strategies (mdl, entropy orderings).
        fmt, label_words: how prompts are rendered, for model-based strategies.
        options: strategy options (see `OPTIONS`), e.g. {"mmr_lambda": 0.5}.
        lexical: a `BM25Index` of the pool, for `bm25`.
        progress: called with (fraction, message) by slow strategies (entropy orderings).
    """

    pool: Sequence[Example]
    fixed: tuple[int, ...] = ()
    index: Any = None
    runner: ModelRunner | None = None
    fmt: PromptFormat | None = None
    label_words: dict[str, str] = field(default_factory=dict)
    options: dict[str, float | int | str] = field(default_factory=dict)
    lexical: Any = None
    progress: ProgressFn | None = None


Retriever = Callable[[str, int, RetrievalContext, np.random.Generator], list[int]]
Ordering = Callable[[str, list[int], RetrievalContext, np.random.Generator], list[int]]


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """A strategy option: default, valid range, and which strategies read it."""

    default: float
    low: float
    high: float
    used_by: tuple[str, ...]
    help: str
    integer: bool = False


OPTIONS: dict[str, OptionSpec] = {
    "mmr_lambda": OptionSpec(
        0.5, 0.0, 1.0, ("mmr",), "MMR λ: 1 = pure relevance (topk), 0 = pure diversity."
    ),
    "n_candidates": OptionSpec(
        0, 0, 100_000, ("mmr", "dpp", "mdl"), "Nearest neighbours considered (0 = auto: max(32, 4k)).", True
    ),
    "dpp_scale": OptionSpec(
        0.1, 1e-3, 10.0, ("dpp",), "DPP relevance temperature: small = relevance, large = diversity."
    ),
    "votek_k": OptionSpec(15, 1, 1000, ("votek",), "Neighbours per item in the vote-k graph.", True),
    "votek_rho": OptionSpec(10.0, 1.0001, 1000.0, ("votek",), "Vote-k discount ρ (> 1)."),
    "votek_pool": OptionSpec(
        4000, 10, 1_000_000, ("votek",), "Vote-k runs on a seeded sample of at most this many items.", True
    ),
    "mdl_samples": OptionSpec(8, 1, 256, ("mdl",), "Candidate demonstration sets tried per query.", True),
    "n_permutations": OptionSpec(8, 1, 720, ("global_e", "local_e"), "Candidate orders scored.", True),
    "n_probe": OptionSpec(8, 1, 256, ("global_e", "local_e"), "Size of the generated probing set.", True),
    "probe_tokens": OptionSpec(32, 1, 256, ("global_e", "local_e"), "Max tokens per generated probe.", True),
    "probe_temperature": OptionSpec(
        1.0, 1e-3, 10.0, ("global_e", "local_e"), "Sampling temperature of the probes (paper: 2)."
    ),
}


def validate_options(options: dict[str, float | int | str]) -> dict[str, float | int | str]:
    """Checks option names and ranges; raises `ConfigError` with the known names."""
    out: dict[str, float | int | str] = {}
    for name, raw in options.items():
        spec = lookup(OPTIONS, name, "option")
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"Option {name} must be a number, got {raw!r}.") from None
        if not spec.low <= value <= spec.high:
            raise ConfigError(f"Option {name} must be between {spec.low:g} and {spec.high:g}, got {raw!r}.")
        if spec.integer and value != int(value):
            raise ConfigError(f"Option {name} must be a whole number, got {raw!r}.")
        out[name] = int(value) if spec.integer else value
    return out


# ---------------------------------------------------------------------- helpers
def _check_k(k: int, ctx: RetrievalContext) -> None:
    if k < 0:
        raise ConfigError(f"k must be 0 or more, got {k}.")
    if k > len(ctx.pool):
        raise ConfigError(f"k = {k} is larger than the demonstration pool ({len(ctx.pool)} examples).")


def _need_index(ctx: RetrievalContext, name: str) -> DemoIndex:
    if ctx.index is None:
        raise ConfigError(
            f"The {name} retriever needs the demo index (sentence embeddings of the pool); "
            "create the context with build_context()."
        )
    if len(ctx.index) != len(ctx.pool):
        raise ConfigError(
            f"The demo index has {len(ctx.index)} items but the pool has {len(ctx.pool)}; rebuild the index."
        )
    index: DemoIndex = ctx.index
    return index


def _n_candidates(ctx: RetrievalContext, k: int) -> int:
    n = opt_int(ctx, "n_candidates", 0)
    if n == 0:
        n = max(32, 4 * k)
    return min(max(n, k), len(ctx.pool))


def _candidates(
    query: str, k: int, ctx: RetrievalContext, name: str
) -> tuple[DemoIndex, np.ndarray, np.ndarray]:
    """(index, candidate ids [n_cand], cosine to the query [n_cand]) of the nearest items."""
    index = _need_index(ctx, name)
    scores, ids = index.search(index.embed_query(query)[None, :], _n_candidates(ctx, k))
    return index, ids[0], scores[0].astype(np.float64)


# ---------------------------------------------------------------------- retrievers
def retrieve_zero(query: str, k: int, ctx: RetrievalContext, rng: np.random.Generator) -> list[int]:
    """No demonstrations (zero-shot)."""
    return []


def retrieve_fixed(query: str, k: int, ctx: RetrievalContext, rng: np.random.Generator) -> list[int]:
    """The demonstrations the user picked, in their order (k is ignored)."""
    bad = [i for i in ctx.fixed if not 0 <= i < len(ctx.pool)]
    if bad:
        raise ConfigError(f"Fixed demonstrations {bad} are outside the pool (0..{len(ctx.pool) - 1}).")
    return list(ctx.fixed)


def retrieve_random(query: str, k: int, ctx: RetrievalContext, rng: np.random.Generator) -> list[int]:
    """k distinct pool items drawn uniformly (seeded)."""
    _check_k(k, ctx)
    return [int(i) for i in rng.choice(len(ctx.pool), size=k, replace=False)]


def retrieve_label_balanced(query: str, k: int, ctx: RetrievalContext, rng: np.random.Generator) -> list[int]:
    """k random items with the labels as equal as possible (the remainder goes to random labels).

    When a label has too few items, the others make up the difference. The result is shuffled so
    labels do not come in blocks.
    """
    _check_k(k, ctx)
    by_label: dict[str, list[int]] = {}
    for i, ex in enumerate(ctx.pool):
        by_label.setdefault(ex.label, []).append(i)
    labels = list(ctx.label_words) or list(by_label)
    labels = [lab for lab in labels if lab in by_label] + [lab for lab in by_label if lab not in labels]
    quota = dict.fromkeys(labels, k // len(labels))
    for j in rng.permutation(len(labels))[: k % len(labels)]:
        quota[labels[int(j)]] += 1
    # labels short of items hand their surplus to the others, largest first
    short = 0
    for lab in labels:
        if quota[lab] > len(by_label[lab]):
            short += quota[lab] - len(by_label[lab])
            quota[lab] = len(by_label[lab])
    while short > 0:
        room = [lab for lab in labels if quota[lab] < len(by_label[lab])]
        lab = room[int(rng.integers(len(room)))]
        quota[lab] += 1
        short -= 1
    chosen: list[int] = []
    for lab in labels:
        if quota[lab]:
            chosen += [int(i) for i in rng.choice(by_label[lab], size=quota[lab], replace=False)]
    return [chosen[i] for i in rng.permutation(len(chosen))]


def retrieve_topk(query: str, k: int, ctx: RetrievalContext, rng: np.random.Generator) -> list[int]:
    """KATE: the k nearest pool items by cosine, most similar first."""
    _check_k(k, ctx)
    if k == 0:
        return []
    index = _need_index(ctx, "topk")
    ids, _ = index.nearest(query, k)
    return ids


def retrieve_bm25(query: str, k: int, ctx: RetrievalContext, rng: np.random.Generator) -> list[int]:
    """The k best BM25 matches, best first (ties in pool order)."""
    _check_k(k, ctx)
    if k == 0:
        return []
    if ctx.lexical is None:
        raise ConfigError(
            "The bm25 retriever needs a BM25 index of the pool; create the context with build_context()."
        )
    return list(ctx.lexical.top(query, k))


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


def retrieve_mmr(query: str, k: int, ctx: RetrievalContext, rng: np.random.Generator) -> list[int]:
    """Maximal marginal relevance among the nearest candidates (selection order)."""
    _check_k(k, ctx)
    if k == 0:
        return []
    lam = opt_float(ctx, "mmr_lambda", 0.5, low=0.0, high=1.0)
    index, ids, rel = _candidates(query, k, ctx, "mmr")
    emb = index.embeddings[ids].astype(np.float64)  # [n_cand, d_embed]
    picks = mmr_select(rel, emb @ emb.T, k, lam)
    return [int(ids[j]) for j in picks]


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


def retrieve_dpp(query: str, k: int, ctx: RetrievalContext, rng: np.random.Generator) -> list[int]:
    """DPP greedy MAP over the nearest candidates (relevance x diversity), selection order."""
    _check_k(k, ctx)
    if k == 0:
        return []
    scale = opt_float(ctx, "dpp_scale", 0.1, low=1e-3, high=10.0)
    index, ids, cos = _candidates(query, k, ctx, "dpp")
    emb = index.embeddings[ids].astype(np.float64)  # [n_cand, d_embed]
    rel = (cos + 1.0) / 2.0
    r = np.exp((rel - rel.max()) / (2.0 * scale))  # [n_cand], max 1
    sim = emb @ emb.T  # [n_cand, n_cand] cosine Gram matrix: PSD, so the kernel is too
    kernel = r[:, None] * sim * r[None, :]
    return [int(ids[j]) for j in dpp_greedy(kernel, k)]


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


def retrieve_votek(query: str, k: int, ctx: RetrievalContext, rng: np.random.Generator) -> list[int]:
    """One representative, diverse set for every query and seed (neither is used).

    Pools larger than ``votek_pool`` are subsampled with a fixed seed, so the graph stays small
    (its kNN search is quadratic in the pool) and the set is still the same for all queries.
    """
    _check_k(k, ctx)
    if k == 0:
        return []
    index = _need_index(ctx, "votek")
    kg = opt_int(ctx, "votek_k", 15, minimum=1)
    rho = opt_float(ctx, "votek_rho", 10.0, low=1.0001, high=1000.0)
    cap = opt_int(ctx, "votek_pool", 4000, minimum=10)
    n = len(ctx.pool)
    # the sample is fixed per pool (not drawn from `rng`), so every query and seed gets the same set
    sample = np.sort(np.random.default_rng(0).choice(n, size=cap, replace=False)) if n > cap else np.arange(n)
    key = (index.fingerprint, len(index), k, kg, rho, sample.tobytes())
    with _VOTEK_LOCK:
        hit = _VOTEK_CACHE.get(key)
    if hit is not None:
        return list(hit)
    emb = index.embeddings[sample]  # [n_s, d_embed]
    kg_eff = min(kg, len(sample) - 1)
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
    picks = [int(sample[j]) for j in votek_select(neighbours, k, rho)]
    with _VOTEK_LOCK:
        _VOTEK_CACHE[key] = picks
        while len(_VOTEK_CACHE) > 32:
            _VOTEK_CACHE.popitem(last=False)
    return list(picks)


def retrieve_mdl(query: str, k: int, ctx: RetrievalContext, rng: np.random.Generator) -> list[int]:
    """Self-adaptive ICL: the candidate set with the lowest label entropy for this query.

    Candidate 0 is the top-k set (most similar first); the others are random k-subsets of the
    nearest `n_candidates`, in similarity order. All candidates are scored in one batch.
    """
    _check_k(k, ctx)
    if k == 0:
        return []
    runner, _, words = require_model(ctx, "The mdl retriever")
    n_sets = opt_int(ctx, "mdl_samples", 8, minimum=1)
    _, ids, _ = _candidates(query, k, ctx, "mdl")
    sets: list[list[int]] = [[int(i) for i in ids[:k]]]
    for _ in range(n_sets - 1):
        pos = np.sort(rng.choice(len(ids), size=k, replace=False))
        sets.append([int(ids[p]) for p in pos])
    prompts = [prompt_text(ctx, s, query) for s in sets]
    h = entropy(label_probs(runner, prompts, words), axis=1)  # [n_sets]
    return sets[int(np.argmin(h))]


RETRIEVERS: dict[str, Retriever] = {
    "zero": retrieve_zero,
    "fixed": retrieve_fixed,
    "random": retrieve_random,
    "label_balanced": retrieve_label_balanced,
    "topk": retrieve_topk,
    "bm25": retrieve_bm25,
    "mmr": retrieve_mmr,
    "votek": retrieve_votek,
    "dpp": retrieve_dpp,
    "mdl": retrieve_mdl,
}

# Retrievers whose choice does not depend on the query (one draw can be shared by all queries).
QUERY_INDEPENDENT: set[str] = {"zero", "fixed", "votek"}
# Strategies that need the demo index (sentence embeddings), the BM25 index, or the model.
NEEDS_INDEX: set[str] = {"topk", "mmr", "votek", "dpp", "mdl", "similar_last", "similar_first"}
NEEDS_LEXICAL: set[str] = {"bm25"}
NEEDS_MODEL: set[str] = {"mdl", "global_e", "local_e"}

ORDERINGS: dict[str, Ordering] = {
    "as_retrieved": order_as_retrieved,
    "random": order_random,
    "similar_last": order_similar_last,
    "similar_first": order_similar_first,
    "label_interleaved": order_label_interleaved,
    "global_e": order_global_e,
    "local_e": order_local_e,
}

DESCRIPTIONS: dict[str, str] = {
    "zero": "No demonstrations (zero-shot).",
    "fixed": "The demonstrations you picked, in your order.",
    "random": "k pool items drawn at random (seeded).",
    "label_balanced": "Random, with the same number of demonstrations per label.",
    "topk": "KATE: the k nearest neighbours of the query (cosine of MiniLM embeddings).",
    "bm25": "The k best lexical (BM25) matches of the query.",
    "mmr": "Maximal marginal relevance: similar to the query, not to each other (λ adjustable).",
    "votek": "Vote-k: one representative and diverse set for all queries.",
    "dpp": "Determinantal point process: relevance x diversity over the nearest candidates.",
    "mdl": "Self-adaptive: the candidate set that makes the model most confident on the query.",
    "as_retrieved": "The retriever's order (for topk: most similar first, i.e. farthest from the query).",
    "similar_last": "Most similar demonstration next to the query.",
    "similar_first": "Most similar demonstration first (farthest from the query).",
    "label_interleaved": "Labels alternate (A B A B ...).",
    "global_e": "Lu et al.: the order whose predictions on model-generated probes are most balanced.",
    "local_e": "Lu et al.: the order with the least over-confident predictions on the probes.",
}


def get_retriever(name: str) -> Retriever:
    return lookup(RETRIEVERS, name, "retriever")


def get_ordering(name: str) -> Ordering:
    return lookup(ORDERINGS, name, "ordering")


def select_demos(
    query: str,
    k: int,
    ctx: RetrievalContext,
    *,
    retrieval: str = "random",
    ordering: str = "as_retrieved",
    seed: int = 0,
) -> list[int]:
    """Retrieves then orders; one seeded generator drives both.

    Returns:
        Pool indices in prompt order (first = farthest from the query).
    """
    rng = np.random.default_rng(seed)
    chosen = get_retriever(retrieval)(query, k, ctx, rng)
    return get_ordering(ordering)(query, chosen, ctx, rng)


def build_context(
    pool: Sequence[Example],
    *,
    retrieval: str,
    ordering: str = "as_retrieved",
    runner: ModelRunner | None = None,
    fmt: PromptFormat | None = None,
    label_words: dict[str, str] | None = None,
    fixed: Sequence[int] = (),
    options: dict[str, float | int | str] | None = None,
    progress: ProgressFn | None = None,
    index: DemoIndex | None = None,
    device: str | None = None,
    need_index: bool = False,
) -> RetrievalContext:
    """Everything the named retriever and ordering need.

    Validates names, options and model requirements first so a typo fails before any expensive
    work; then builds or loads the demo index (sentence embeddings, cached on disk and in this
    process) and/or the BM25 index when the strategies use them.

    Args:
        pool: the demonstration pool.
        retrieval, ordering: registry names.
        runner, fmt, label_words: the model and prompt layout (model-based strategies).
        fixed: pool indices for the `fixed` retriever.
        options: strategy options (see `OPTIONS`).
        progress: (fraction, message) callback for index building; also handed to slow orderings.
        index: an already built `DemoIndex` of `pool` (e.g. from the app's cache).
        device: device of the sentence encoder.
        need_index: build the demo index even when the strategies do not need it (e.g. to report
            similarities).

    Raises:
        ConfigError: unknown name or option, empty pool, or a model-based strategy without a model.
    """
    get_retriever(retrieval)
    get_ordering(ordering)
    opts = validate_options(dict(options or {}))
    if not pool and retrieval != "zero":
        raise ConfigError("The demonstration pool is empty.")
    model_needs = sorted({retrieval, ordering} & NEEDS_MODEL)
    if model_needs and (runner is None or fmt is None or not label_words):
        kinds = [f"the {n} {'retriever' if n == retrieval else 'ordering'}" for n in model_needs]
        raise ConfigError(f"{' and '.join(kinds)} needs the model, the prompt format and the label words.")
    if retrieval == "fixed":
        bad = [i for i in fixed if not 0 <= i < len(pool)]
        if bad:
            raise ConfigError(f"Fixed demonstrations {bad} are outside the pool (0..{len(pool) - 1}).")
    texts = [ex.text for ex in pool]
    if pool and (need_index or {retrieval, ordering} & NEEDS_INDEX) and index is None:
        from engine.retrieval.demo_index import get_demo_index

        index = get_demo_index(texts, device=device, progress=progress)
    if index is not None and len(index) != len(pool):
        raise ConfigError(f"The demo index has {len(index)} items but the pool has {len(pool)}.")
    lexical = None
    if pool and retrieval in NEEDS_LEXICAL:
        from engine.retrieval.demo_index import get_bm25_index

        if progress is not None:
            progress(0.0, f"Indexing {len(pool):,} texts for BM25...")
        lexical = get_bm25_index(texts)
    return RetrievalContext(
        pool=pool,
        fixed=tuple(int(i) for i in fixed),
        index=index,
        runner=runner,
        fmt=fmt,
        label_words=dict(label_words or {}),
        options=opts,
        lexical=lexical,
        progress=progress,
    )
