"""The retriever and ordering registries: names match their Literals, and every set other modules
read is derived from the specs and equals the hand-typed set it replaced (the oracle below)."""

from __future__ import annotations

import numpy as np
import pytest

from components.i18n_zh_demo import ZH_OPTION_HELP, ZH_STRATEGY_DESCRIPTIONS
from engine.core.errors import ConfigError
from engine.data.datasets import Example
from engine.evaluation.run import QUERY_AGNOSTIC_DRAWS
from engine.retrieval.context import (
    OrderingName,
    OrderingSpec,
    RetrievalContext,
    RetrieverName,
    RetrieverSpec,
)
from engine.retrieval.retrievers import (
    DESCRIPTIONS,
    NEEDS_INDEX,
    NEEDS_LEXICAL,
    NEEDS_MODEL,
    OPTIONS,
    ORDERINGS,
    QUERY_AGNOSTIC,
    QUERY_INDEPENDENT,
    RETRIEVERS,
    get_ordering,
    get_retriever,
)

# the sets as they were typed by hand before they were derived from the specs
OLD_RETRIEVERS = ("zero", "fixed", "random", "label_balanced", "topk", "bm25", "mmr", "votek", "dpp", "mdl")
OLD_ORDERINGS = (
    "as_retrieved",
    "random",
    "similar_last",
    "similar_first",
    "label_interleaved",
    "global_e",
    "local_e",
)
OLD_QUERY_INDEPENDENT = {"zero", "fixed", "votek"}
OLD_QUERY_AGNOSTIC_DRAWS = frozenset({"random", "label_balanced"})
OLD_NEEDS_INDEX = {"topk", "mmr", "votek", "dpp", "mdl", "similar_last", "similar_first"}
OLD_NEEDS_LEXICAL = {"bm25"}
OLD_NEEDS_MODEL = {"mdl", "global_e", "local_e"}
OLD_USED_BY = {
    "mmr_lambda": ("mmr",),
    "n_candidates": ("mmr", "dpp", "mdl"),
    "dpp_scale": ("dpp",),
    "votek_k": ("votek",),
    "votek_rho": ("votek",),
    "votek_pool": ("votek",),
    "mdl_samples": ("mdl",),
    "n_permutations": ("global_e", "local_e"),
    "n_probe": ("global_e", "local_e"),
    "probe_tokens": ("global_e", "local_e"),
    "probe_temperature": ("global_e", "local_e"),
}
OLD_DESCRIPTIONS = {
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


def test_registries_match_their_literals() -> None:
    RETRIEVERS.check_literal(RetrieverName)
    ORDERINGS.check_literal(OrderingName)
    assert RETRIEVERS.names() == OLD_RETRIEVERS  # the order the UI lists them in
    assert ORDERINGS.names() == OLD_ORDERINGS


def test_derived_sets_equal_the_old_hand_typed_ones() -> None:
    assert QUERY_INDEPENDENT == OLD_QUERY_INDEPENDENT
    assert QUERY_AGNOSTIC == QUERY_AGNOSTIC_DRAWS == OLD_QUERY_AGNOSTIC_DRAWS
    assert NEEDS_INDEX == OLD_NEEDS_INDEX
    assert NEEDS_LEXICAL == OLD_NEEDS_LEXICAL
    assert NEEDS_MODEL == OLD_NEEDS_MODEL
    assert {name: spec.used_by for name, spec in OPTIONS.items()} == OLD_USED_BY
    assert DESCRIPTIONS == OLD_DESCRIPTIONS
    assert list(DESCRIPTIONS) == list(OLD_DESCRIPTIONS)


def test_specs_are_callable_like_the_functions_they_wrap() -> None:
    pool = [Example(f"t{i}", "a" if i % 2 else "b", i) for i in range(6)]
    ctx = RetrievalContext(pool=pool, fixed=(4, 1))
    assert RETRIEVERS["fixed"]("q", 0, ctx, np.random.default_rng(0)) == [4, 1]
    assert get_retriever("random") is RETRIEVERS["random"]
    a = RETRIEVERS["random"]("q", 3, ctx, np.random.default_rng(7))
    assert a == RETRIEVERS["random"].fn("q", 3, ctx, np.random.default_rng(7))
    assert get_ordering("label_interleaved")("q", [1, 3, 0, 2], ctx, np.random.default_rng(0)) == [1, 0, 3, 2]


def test_unknown_names_list_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"Unknown retriever 'nope'\. Known: zero, fixed, random"):
        get_retriever("nope")
    with pytest.raises(ConfigError, match=r"Unknown ordering 'nope'\. Known: as_retrieved, random"):
        get_ordering("nope")


def test_every_option_is_read_and_every_spec_reads_known_options() -> None:
    assert all(spec.used_by for spec in OPTIONS.values())
    specs: list[RetrieverSpec | OrderingSpec] = [*RETRIEVERS.values(), *ORDERINGS.values()]
    for spec in specs:
        assert set(spec.options) <= set(OPTIONS)
        assert spec.needs <= {"index", "lexical", "model"}


def test_a_spec_with_an_unknown_need_or_option_fails_at_registration() -> None:
    from engine.core.registry import Registry

    reg = Registry[RetrieverSpec]("retriever", make=RetrieverSpec.of)
    with pytest.raises(ValueError, match="unknown needs"):
        reg.register("x", description="x", needs={"gpu"})(lambda q, k, c, r: [])
    with pytest.raises(ValueError, match="unknown options"):
        reg.register("y", description="y", options=("no_such_option",))(lambda q, k, c, r: [])


def test_every_strategy_and_option_has_chinese() -> None:
    assert set(ZH_STRATEGY_DESCRIPTIONS) == set(RETRIEVERS) | set(ORDERINGS)
    assert set(ZH_OPTION_HELP) == set(OPTIONS)
