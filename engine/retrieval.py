"""Demonstration selection (retrievers) and ordering: one registry each.

A retriever returns *pool indices* (formatting lives in `engine.prompts`); an ordering is a
pure permutation of those indices. Randomness comes only from the `rng` argument.

    retriever(query, k, ctx, rng) -> list[int]          # indices into ctx.pool
    ordering(query, indices, ctx, rng) -> list[int]     # the same indices, in prompt order
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.errors import ConfigError, lookup

if TYPE_CHECKING:
    from engine.datasets import Example
    from engine.prompts import PromptFormat
    from engine.runner import ModelRunner


@dataclass(frozen=True, slots=True)
class RetrievalContext:
    """What a retriever or ordering may look at.

    Attributes:
        pool: the demonstration pool.
        fixed: pool indices the user picked by hand (for the `fixed` retriever).
        index: a demo index (embeddings of the pool) when the strategy needs one.
        runner: the model, for model-based strategies (mdl, entropy orderings).
        fmt, label_words: how prompts are rendered, for model-based strategies.
        options: strategy options (e.g. {"mmr_lambda": 0.5}).
    """

    pool: Sequence[Example]
    fixed: tuple[int, ...] = ()
    index: Any = None
    runner: ModelRunner | None = None
    fmt: PromptFormat | None = None
    label_words: dict[str, str] = field(default_factory=dict)
    options: dict[str, float | int | str] = field(default_factory=dict)


Retriever = Callable[[str, int, RetrievalContext, np.random.Generator], list[int]]
Ordering = Callable[[str, list[int], RetrievalContext, np.random.Generator], list[int]]


def _check_k(k: int, ctx: RetrievalContext) -> None:
    if k < 0:
        raise ConfigError(f"k must be 0 or more, got {k}.")
    if k > len(ctx.pool):
        raise ConfigError(f"k = {k} is larger than the demonstration pool ({len(ctx.pool)} examples).")


def retrieve_zero(query: str, k: int, ctx: RetrievalContext, rng: np.random.Generator) -> list[int]:
    """No demonstrations (zero-shot)."""
    return []


def retrieve_fixed(query: str, k: int, ctx: RetrievalContext, rng: np.random.Generator) -> list[int]:
    """The demonstrations the user picked, in their order (k is ignored)."""
    return list(ctx.fixed)


def retrieve_random(query: str, k: int, ctx: RetrievalContext, rng: np.random.Generator) -> list[int]:
    """k distinct pool items drawn uniformly (seeded)."""
    _check_k(k, ctx)
    return [int(i) for i in rng.choice(len(ctx.pool), size=k, replace=False)]


RETRIEVERS: dict[str, Retriever] = {
    "zero": retrieve_zero,
    "fixed": retrieve_fixed,
    "random": retrieve_random,
}

# Retrievers whose choice does not depend on the query (one draw can be shared by all queries).
QUERY_INDEPENDENT: set[str] = {"zero", "fixed"}


def order_as_retrieved(
    query: str, indices: list[int], ctx: RetrievalContext, rng: np.random.Generator
) -> list[int]:
    return list(indices)


def order_random(
    query: str, indices: list[int], ctx: RetrievalContext, rng: np.random.Generator
) -> list[int]:
    return [indices[i] for i in rng.permutation(len(indices))]


ORDERINGS: dict[str, Ordering] = {
    "as_retrieved": order_as_retrieved,
    "random": order_random,
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
    """Retrieves then orders; one seeded generator drives both."""
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
    progress: Callable[[float, str], None] | None = None,
) -> RetrievalContext:
    """Everything the named retriever and ordering need (builds or loads the demo index if needed).

    Validates the names first so a typo fails before any expensive work.
    """
    get_retriever(retrieval)
    get_ordering(ordering)
    if not pool and retrieval != "zero":
        raise ConfigError("The demonstration pool is empty.")
    return RetrievalContext(
        pool=pool,
        fixed=tuple(fixed),
        index=None,
        runner=runner,
        fmt=fmt,
        label_words=dict(label_words or {}),
        options=dict(options or {}),
    )
