"""Demonstration selection: the retrievers, their registry, and `select_demos` / `build_context`.

A retriever returns *pool indices* (formatting lives in `engine.prompting.prompts`); an ordering
(`engine.retrieval.orderings`) is a pure permutation of them. Randomness comes only from the `rng`
argument; `select_demos` seeds one generator that drives both. Prompt order: the first index is the
farthest from the query, the last sits next to it. Each retriever is registered in `RETRIEVERS`
with its `RetrieverSpec` (description, needs, options) right above its function; the sets other
modules read (`NEEDS_INDEX`, `QUERY_INDEPENDENT`, `DESCRIPTIONS`, ...) are derived from the specs.

* ``zero``: no demonstrations. ``fixed``: the user's picks. ``random``: k uniform draws.
* ``label_balanced``: random, with k split as evenly as possible over the labels.
* ``topk`` (KATE, Liu et al. 2021): the k nearest neighbours, most similar first.
* ``bm25``: the k best BM25 matches (lexical overlap; `bm25s`).
* ``mmr``, ``dpp``, ``votek``: relevance and diversity; the maths is in `engine.retrieval.diversity`.
  ``votek`` is query-independent: one shared set for all queries.
* ``mdl`` (Wu et al. 2023, self-adaptive ICL): among the nearest ``n_candidates``, try the top-k
  set and ``mdl_samples`` − 1 random k-subsets, and keep the one under which the model's label
  distribution for the query has the lowest entropy (shortest code length).

References:
    Liu et al., 2021, "What Makes Good In-Context Examples for GPT-3?", arXiv:2101.06804.
    Wu et al., 2023, "Self-Adaptive In-Context Learning: An Information Compression Perspective", ACL.
    Wu et al., 2023, "OpenICL: An Open-Source Framework for In-context Learning", arXiv:2303.02913.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from engine.core.errors import ConfigError
from engine.core.progress import ProgressFn
from engine.core.registry import Registry
from engine.retrieval.context import OPTIONS as OPTIONS  # re-exported
from engine.retrieval.context import (
    Need,
    OrderingSpec,
    RetrieverSpec,
    candidates,
    check_k,
    need_index,
    opt_float,
    opt_int,
    require_model,
)
from engine.retrieval.context import OptionSpec as OptionSpec  # re-exported
from engine.retrieval.context import Ordering as Ordering  # re-exported
from engine.retrieval.context import OrderingName as OrderingName  # re-exported
from engine.retrieval.context import RetrievalContext as RetrievalContext  # re-exported
from engine.retrieval.context import Retriever as Retriever  # re-exported
from engine.retrieval.context import RetrieverName as RetrieverName  # re-exported
from engine.retrieval.context import validate_options as validate_options  # re-exported
from engine.retrieval.diversity import dpp_greedy as dpp_greedy  # re-exported
from engine.retrieval.diversity import dpp_kernel, votek_picks
from engine.retrieval.diversity import mmr_select as mmr_select  # re-exported
from engine.retrieval.diversity import votek_select as votek_select  # re-exported
from engine.retrieval.orderings import ORDERINGS as ORDERINGS  # re-exported
from engine.retrieval.orderings import get_ordering as get_ordering  # re-exported
from engine.retrieval.probes import entropy, label_probs, prompt_text

if TYPE_CHECKING:
    from engine.data.datasets import Example
    from engine.model.hf_runner import ModelRunner
    from engine.prompting.prompts import PromptFormat
    from engine.retrieval.demo_index import DemoIndex

RETRIEVERS = Registry[RetrieverSpec]("retriever", make=RetrieverSpec.of)


@RETRIEVERS.register("zero", query_independent=True, description="No demonstrations (zero-shot).")
def retrieve_zero(query: str, k: int, ctx: RetrievalContext, rng: np.random.Generator) -> list[int]:
    """No demonstrations (zero-shot)."""
    return []


@RETRIEVERS.register(
    "fixed", query_independent=True, description="The demonstrations you picked, in your order."
)
def retrieve_fixed(query: str, k: int, ctx: RetrievalContext, rng: np.random.Generator) -> list[int]:
    """The demonstrations the user picked, in their order (k is ignored)."""
    bad = [i for i in ctx.fixed if not 0 <= i < len(ctx.pool)]
    if bad:
        raise ConfigError(f"Fixed demonstrations {bad} are outside the pool (0..{len(ctx.pool) - 1}).")
    return list(ctx.fixed)


@RETRIEVERS.register("random", query_agnostic=True, description="k pool items drawn at random (seeded).")
def retrieve_random(query: str, k: int, ctx: RetrievalContext, rng: np.random.Generator) -> list[int]:
    """k distinct pool items drawn uniformly (seeded)."""
    check_k(k, ctx)
    return [int(i) for i in rng.choice(len(ctx.pool), size=k, replace=False)]


@RETRIEVERS.register(
    "label_balanced",
    query_agnostic=True,
    description="Random, with the same number of demonstrations per label.",
)
def retrieve_label_balanced(query: str, k: int, ctx: RetrievalContext, rng: np.random.Generator) -> list[int]:
    """k random items with the labels as equal as possible (the remainder goes to random labels).

    When a label has too few items, the others make up the difference. The result is shuffled so
    labels do not come in blocks.
    """
    check_k(k, ctx)
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


@RETRIEVERS.register(
    "topk",
    needs={"index"},
    description="KATE: the k nearest neighbours of the query (cosine of MiniLM embeddings).",
)
def retrieve_topk(query: str, k: int, ctx: RetrievalContext, rng: np.random.Generator) -> list[int]:
    """KATE: the k nearest pool items by cosine, most similar first."""
    check_k(k, ctx)
    if k == 0:
        return []
    index = need_index(ctx, "topk")
    ids, _ = index.nearest(query, k)
    return ids


@RETRIEVERS.register("bm25", needs={"lexical"}, description="The k best lexical (BM25) matches of the query.")
def retrieve_bm25(query: str, k: int, ctx: RetrievalContext, rng: np.random.Generator) -> list[int]:
    """The k best BM25 matches, best first (ties in pool order)."""
    check_k(k, ctx)
    if k == 0:
        return []
    if ctx.lexical is None:
        raise ConfigError(
            "The bm25 retriever needs a BM25 index of the pool; create the context with build_context()."
        )
    return list(ctx.lexical.top(query, k))


@RETRIEVERS.register(
    "mmr",
    needs={"index"},
    options=("mmr_lambda", "n_candidates"),
    description="Maximal marginal relevance: similar to the query, not to each other (λ adjustable).",
)
def retrieve_mmr(query: str, k: int, ctx: RetrievalContext, rng: np.random.Generator) -> list[int]:
    """Maximal marginal relevance among the nearest candidates (selection order)."""
    check_k(k, ctx)
    if k == 0:
        return []
    lam = opt_float(ctx, "mmr_lambda", 0.5, low=0.0, high=1.0)
    index, ids, rel = candidates(query, k, ctx, "mmr")
    emb = index.embeddings[ids].astype(np.float64)  # [n_cand, d_embed]
    picks = mmr_select(rel, emb @ emb.T, k, lam)
    return [int(ids[j]) for j in picks]


@RETRIEVERS.register(
    "votek",
    needs={"index"},
    query_independent=True,
    options=("votek_k", "votek_rho", "votek_pool"),
    description="Vote-k: one representative and diverse set for all queries.",
)
def retrieve_votek(query: str, k: int, ctx: RetrievalContext, rng: np.random.Generator) -> list[int]:
    """One representative, diverse set for every query and seed (neither is used); see `votek_picks`."""
    check_k(k, ctx)
    if k == 0:
        return []
    index = need_index(ctx, "votek")
    kg = opt_int(ctx, "votek_k", 15, minimum=1)
    rho = opt_float(ctx, "votek_rho", 10.0, low=1.0001, high=1000.0)
    cap = opt_int(ctx, "votek_pool", 4000, minimum=10)
    return votek_picks(index.embeddings, index.fingerprint, k, kg, rho, cap)


@RETRIEVERS.register(
    "dpp",
    needs={"index"},
    options=("n_candidates", "dpp_scale"),
    description="Determinantal point process: relevance x diversity over the nearest candidates.",
)
def retrieve_dpp(query: str, k: int, ctx: RetrievalContext, rng: np.random.Generator) -> list[int]:
    """DPP greedy MAP over the nearest candidates (relevance x diversity), selection order."""
    check_k(k, ctx)
    if k == 0:
        return []
    scale = opt_float(ctx, "dpp_scale", 0.1, low=1e-3, high=10.0)
    index, ids, cos = candidates(query, k, ctx, "dpp")
    emb = index.embeddings[ids].astype(np.float64)  # [n_cand, d_embed]
    return [int(ids[j]) for j in dpp_greedy(dpp_kernel(cos, emb, scale), k)]


@RETRIEVERS.register(
    "mdl",
    needs={"index", "model"},
    options=("n_candidates", "mdl_samples"),
    description="Self-adaptive: the candidate set that makes the model most confident on the query.",
)
def retrieve_mdl(query: str, k: int, ctx: RetrievalContext, rng: np.random.Generator) -> list[int]:
    """Self-adaptive ICL: the candidate set with the lowest label entropy for this query.

    Candidate 0 is the top-k set (most similar first); the others are random k-subsets of the
    nearest `n_candidates`, in similarity order. All candidates are scored in one batch.
    """
    check_k(k, ctx)
    if k == 0:
        return []
    runner, _, words = require_model(ctx, "The mdl retriever")
    n_sets = opt_int(ctx, "mdl_samples", 8, minimum=1)
    _, ids, _ = candidates(query, k, ctx, "mdl")
    sets: list[list[int]] = [[int(i) for i in ids[:k]]]
    for _ in range(n_sets - 1):
        pos = np.sort(rng.choice(len(ids), size=k, replace=False))
        sets.append([int(ids[p]) for p in pos])
    prompts = [prompt_text(ctx, s, query) for s in sets]
    h = entropy(label_probs(runner, prompts, words), axis=1)  # [n_sets]
    return sets[int(np.argmin(h))]


def _needing(need: Need) -> set[str]:
    """Names of the retrievers and orderings whose spec needs `need`."""
    specs: list[RetrieverSpec | OrderingSpec] = [*RETRIEVERS.values(), *ORDERINGS.values()]
    return {s.name for s in specs if need in s.needs}


# Derived from the specs (never typed again): read by the pages, the CLI and the evaluation.
# Retrievers whose choice does not depend on the query (one draw can be shared by all queries).
QUERY_INDEPENDENT: set[str] = {n for n, s in RETRIEVERS.items() if s.query_independent}
# Retrievers whose seeded draw ignores the query (same seed, same set for every query).
QUERY_AGNOSTIC: frozenset[str] = frozenset(n for n, s in RETRIEVERS.items() if s.query_agnostic)
# Strategies that need the demo index (sentence embeddings), the BM25 index, or the model.
NEEDS_INDEX: set[str] = _needing("index")
NEEDS_LEXICAL: set[str] = _needing("lexical")
NEEDS_MODEL: set[str] = _needing("model")
# English descriptions by name; "random" names both a retriever and an ordering: the retriever's wins.
DESCRIPTIONS: dict[str, str] = {n: s.description for n, s in RETRIEVERS.items()} | {
    n: s.description for n, s in ORDERINGS.items() if n not in RETRIEVERS
}


def get_retriever(name: str) -> RetrieverSpec:
    """The retriever called `name` (a callable spec), or a ConfigError listing the known ones."""
    return RETRIEVERS.lookup(name)


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
    specs: list[RetrieverSpec | OrderingSpec] = [get_retriever(retrieval), get_ordering(ordering)]
    needs = specs[0].needs | specs[1].needs
    opts = validate_options(dict(options or {}))
    if not pool and retrieval != "zero":
        raise ConfigError("The demonstration pool is empty.")
    model_needs = sorted((s for s in specs if "model" in s.needs), key=lambda s: s.name)
    if model_needs and (runner is None or fmt is None or not label_words):
        kinds = [
            f"the {s.name} {'retriever' if isinstance(s, RetrieverSpec) else 'ordering'}" for s in model_needs
        ]
        raise ConfigError(f"{' and '.join(kinds)} needs the model, the prompt format and the label words.")
    if retrieval == "fixed":
        bad = [i for i in fixed if not 0 <= i < len(pool)]
        if bad:
            raise ConfigError(f"Fixed demonstrations {bad} are outside the pool (0..{len(pool) - 1}).")
    texts = [ex.text for ex in pool]
    if pool and (need_index or "index" in needs) and index is None:
        from engine.retrieval.demo_index import get_demo_index

        index = get_demo_index(texts, device=device, progress=progress)
    if index is not None and len(index) != len(pool):
        raise ConfigError(f"The demo index has {len(index)} items but the pool has {len(pool)}.")
    lexical = None
    if pool and "lexical" in specs[0].needs:
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
