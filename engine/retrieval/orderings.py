"""Orderings of the chosen demonstrations, and the model probes they (and `mdl`) share.

An ordering is a pure permutation of the retrieved pool indices (first = farthest from the
query, last = next to it); randomness comes only from the `rng` argument:

    ordering(query, indices, ctx, rng) -> list[int]

* ``as_retrieved`` keeps the retriever's order; ``random`` shuffles.
* ``similar_last`` puts the demonstration most similar to the query next to the query
  (ascending cosine); ``similar_first`` the reverse. OpenICL's TopkRetriever lists neighbours
  most similar first, i.e. it puts the nearest one *farthest* from the query, which is what
  ``as_retrieved`` reproduces after ``topk``.
* ``label_interleaved`` round-robins over labels (A B C A B C ...) so no label forms a run at the
  end of the prompt, where recency bias would favour it (Zhao et al., 2021).
* ``global_e`` / ``local_e`` (Lu et al., 2022): the model writes a *probing set* of new inputs by
  sampling after each candidate permutation of the demonstrations (no labelled dev set needed);
  every candidate permutation then labels every probe. GlobalE is the entropy of the histogram of
  predicted labels over the probing set (high = the order does not push one label); LocalE is the
  mean entropy of each probe's label distribution (high = not over-confident). The candidate with
  the highest score wins; ties go to the other score, then to the earlier candidate.

Each ordering is registered in `ORDERINGS` with its `OrderingSpec` (description, needs, options),
right above its function. The model probes (label distributions, sampling) are in `probes.py`.

References:
    Lu et al., 2022, "Fantastically Ordered Prompts and Where to Find Them: Overcoming Few-Shot
        Prompt Order Sensitivity", ACL, arXiv:2104.08786.
    Zhao et al., 2021, "Calibrate Before Use: Improving Few-Shot Performance of Language Models",
        arXiv:2102.09690.
    Liu et al., 2021, "What Makes Good In-Context Examples for GPT-3?", arXiv:2101.06804.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from engine.core.errors import ConfigError
from engine.core.progress import ProgressFn
from engine.core.registry import Registry
from engine.retrieval.context import OrderingSpec, RetrievalContext, opt_float, opt_int, require_model
from engine.retrieval.probes import (
    demos_for,
    entropy,
    label_probs,
    probe_prompt_parts,
    prompt_text,
    sample_text,
)

EntropyMetric = Literal["global_e", "local_e"]
ORDERINGS = Registry[OrderingSpec]("ordering", make=OrderingSpec.of)
PROBE_OPTIONS = ("n_permutations", "n_probe", "probe_tokens", "probe_temperature")


# ---------------------------------------------------------------------- simple orderings
@ORDERINGS.register(
    "as_retrieved",
    description="The retriever's order (for topk: most similar first, i.e. farthest from the query).",
)
def order_as_retrieved(
    query: str, indices: list[int], ctx: RetrievalContext, rng: np.random.Generator
) -> list[int]:
    """The retriever's own order."""
    return list(indices)


@ORDERINGS.register("random", description="A uniformly random permutation (seeded).")
def order_random(
    query: str, indices: list[int], ctx: RetrievalContext, rng: np.random.Generator
) -> list[int]:
    """A uniformly random permutation (seeded)."""
    return [indices[i] for i in rng.permutation(len(indices))]


def _query_sims(query: str, indices: Sequence[int], ctx: RetrievalContext, what: str) -> np.ndarray:
    if ctx.index is None:
        raise ConfigError(f"The {what} ordering needs the demo index (sentence embeddings of the pool).")
    if not indices:
        return np.zeros(0, dtype=np.float32)
    return np.asarray(ctx.index.similarities(query, indices), dtype=np.float32)


@ORDERINGS.register(
    "similar_last", needs={"index"}, description="Most similar demonstration next to the query."
)
def order_similar_last(
    query: str, indices: list[int], ctx: RetrievalContext, rng: np.random.Generator
) -> list[int]:
    """Ascending cosine to the query: the most similar demonstration sits next to the query."""
    sims = _query_sims(query, indices, ctx, "similar_last")
    return [indices[i] for i in np.argsort(sims, kind="stable")]


@ORDERINGS.register(
    "similar_first",
    needs={"index"},
    description="Most similar demonstration first (farthest from the query).",
)
def order_similar_first(
    query: str, indices: list[int], ctx: RetrievalContext, rng: np.random.Generator
) -> list[int]:
    """Descending cosine to the query: the most similar demonstration comes first (farthest)."""
    sims = _query_sims(query, indices, ctx, "similar_first")
    return [indices[i] for i in np.argsort(-sims, kind="stable")]


@ORDERINGS.register("label_interleaved", description="Labels alternate (A B A B ...).")
def order_label_interleaved(
    query: str, indices: list[int], ctx: RetrievalContext, rng: np.random.Generator
) -> list[int]:
    """Round-robin over labels in order of first appearance, keeping the order within a label."""
    groups: dict[str, list[int]] = {}
    for i in indices:
        groups.setdefault(ctx.pool[i].label, []).append(i)
    out: list[int] = []
    queues = list(groups.values())
    while any(queues):
        for q in queues:
            if q:
                out.append(q.pop(0))
    return out


# ---------------------------------------------------------------------- entropy orderings
@dataclass(frozen=True, slots=True)
class PermutationScore:
    """One candidate order and how the model labelled the probing set under it.

    Attributes:
        order: positions into the retrieved list (a permutation of range(k)).
        global_e: entropy (nats) of the histogram of predicted labels over the probes.
        local_e: mean entropy (nats) of each probe's label distribution.
        predicted: predicted label name per probe.
    """

    order: tuple[int, ...]
    global_e: float
    local_e: float
    predicted: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PermutationRanking:
    """Result of the Lu et al. (2022) search over orders.

    Attributes:
        indices: the retrieved pool indices the positions refer to.
        candidates: every candidate scored, in the order they were drawn.
        probes: the generated probing inputs.
        metric: the score that chose `best`.
        best: the winning pool indices, in prompt order.
    """

    indices: tuple[int, ...]
    candidates: tuple[PermutationScore, ...]
    probes: tuple[str, ...]
    metric: EntropyMetric
    best: tuple[int, ...]


def candidate_orders(k: int, n: int, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """Up to `n` distinct permutations of range(k): all of them when k! <= n, else the
    identity and then random draws (seeded)."""
    if k <= 1:
        return [tuple(range(k))]
    if math.factorial(k) <= n:
        return list(itertools.permutations(range(k)))
    seen: dict[tuple[int, ...], None] = {tuple(range(k)): None}
    while len(seen) < n:
        seen.setdefault(tuple(int(x) for x in rng.permutation(k)), None)
    return list(seen)


def rank_permutations(
    indices: Sequence[int],
    ctx: RetrievalContext,
    rng: np.random.Generator,
    *,
    metric: EntropyMetric = "global_e",
    progress: ProgressFn | None = None,
) -> PermutationRanking:
    """Lu et al. (2022): probe each candidate order with model-generated inputs; keep the best.

    Options (in `ctx.options`): ``n_permutations`` (8), ``n_probe`` probing-set size (8),
    ``probe_tokens`` max tokens per probe (32), ``probe_temperature`` (1.0; the paper uses 2).

    The probing set is generated round-robin: probe j is sampled after candidate j mod n. Every
    candidate then labels every probe, so the cost is n_probe generations plus
    n_permutations x n_probe prompt forward passes.
    """
    runner, fmt, words = require_model(ctx, "Entropy-based ordering")
    n_perm = opt_int(ctx, "n_permutations", 8, minimum=1)
    n_probe = opt_int(ctx, "n_probe", 8, minimum=1)
    max_tokens = opt_int(ctx, "probe_tokens", 32, minimum=1)
    temperature = opt_float(ctx, "probe_temperature", 1.0, low=1e-3, high=10.0)
    idx = tuple(int(i) for i in indices)
    names = list(words)
    orders = candidate_orders(len(idx), n_perm, rng)
    seed = int(rng.integers(0, 2**62))
    if len(idx) <= 1:
        return PermutationRanking(idx, (PermutationScore(orders[0], 0.0, 0.0, ()),), (), metric, idx)

    key = (
        id(runner),
        runner.info.name,
        fmt,
        tuple(words.items()),
        tuple((ctx.pool[i].text, ctx.pool[i].label) for i in idx),
        tuple(orders),
        n_probe,
        max_tokens,
        temperature,
        seed,
    )
    with _RANK_LOCK:
        cached = _RANK_CACHE.get(key)
    if cached is not None:
        scores_c, probes_c = cached
        return _pick(idx, scores_c, probes_c, metric)

    probes: list[str] = []
    for j in range(n_probe):
        order = orders[j % len(orders)]
        gen_prompt, stops = probe_prompt_parts(fmt, demos_for(ctx, [idx[p] for p in order]), words)
        text = sample_text(
            runner, gen_prompt, max_new_tokens=max_tokens, temperature=temperature, stops=stops, seed=seed + j
        ).strip()
        if text:
            probes.append(text)
        if progress is not None:
            progress(0.5 * (j + 1) / n_probe, f"Generating the probing set: {j + 1}/{n_probe}")
    if not probes:  # the model produced nothing usable: keep the retrieved order
        empty = tuple(PermutationScore(o, 0.0, 0.0, ()) for o in orders)
        return PermutationRanking(idx, empty, (), metric, idx)

    scores: list[PermutationScore] = []
    for c, order in enumerate(orders):
        chosen = [idx[p] for p in order]
        prompts = [prompt_text(ctx, chosen, probe) for probe in probes]
        p = label_probs(runner, prompts, words)  # [n_probe, n_labels]
        pred = p.argmax(axis=1)
        hist = np.bincount(pred, minlength=len(names)) / len(pred)
        scores.append(
            PermutationScore(
                order, float(entropy(hist)), float(entropy(p, axis=1).mean()), tuple(names[i] for i in pred)
            )
        )
        if progress is not None:
            progress(0.5 + 0.5 * (c + 1) / len(orders), f"Scoring candidate orders: {c + 1}/{len(orders)}")
    with _RANK_LOCK:
        _RANK_CACHE[key] = (tuple(scores), tuple(probes))
        while len(_RANK_CACHE) > 64:
            _RANK_CACHE.popitem(last=False)
    return _pick(idx, tuple(scores), tuple(probes), metric)


def _pick(
    idx: tuple[int, ...], scores: tuple[PermutationScore, ...], probes: tuple[str, ...], metric: EntropyMetric
) -> PermutationRanking:
    def key(c: int) -> tuple[float, float, int]:
        s = scores[c]
        main, other = (s.global_e, s.local_e) if metric == "global_e" else (s.local_e, s.global_e)
        return (round(main, 9), round(other, 9), -c)

    best = max(range(len(scores)), key=key)
    return PermutationRanking(idx, scores, probes, metric, tuple(idx[p] for p in scores[best].order))


_RANK_CACHE: OrderedDict[tuple[object, ...], tuple[tuple[PermutationScore, ...], tuple[str, ...]]] = (
    OrderedDict()
)
_RANK_LOCK = threading.Lock()


@ORDERINGS.register(
    "global_e",
    needs={"model"},
    options=PROBE_OPTIONS,
    description="Lu et al.: the order whose predictions on model-generated probes are most balanced.",
)
def order_global_e(
    query: str, indices: list[int], ctx: RetrievalContext, rng: np.random.Generator
) -> list[int]:
    """Lu et al. (2022) GlobalE: the order whose predicted-label histogram is most balanced."""
    return list(rank_permutations(indices, ctx, rng, metric="global_e", progress=ctx.progress).best)


@ORDERINGS.register(
    "local_e",
    needs={"model"},
    options=PROBE_OPTIONS,
    description="Lu et al.: the order with the least over-confident predictions on the probes.",
)
def order_local_e(
    query: str, indices: list[int], ctx: RetrievalContext, rng: np.random.Generator
) -> list[int]:
    """Lu et al. (2022) LocalE: the order with the highest mean per-probe label entropy."""
    return list(rank_permutations(indices, ctx, rng, metric="local_e", progress=ctx.progress).best)


def get_ordering(name: str) -> OrderingSpec:
    """The ordering called `name` (a callable spec), or a ConfigError listing the known ones."""
    return ORDERINGS.lookup(name)
