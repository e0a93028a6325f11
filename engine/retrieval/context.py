"""What a retrieval strategy sees (`RetrievalContext`), how one is declared (specs), and its options.

Every retriever and ordering is a function of the same shape, registered with a frozen spec that
says what it needs, so the rest of the engine reads the needs from the spec instead of a list:

    retriever(query, k, ctx, rng) -> list[int]          # indices into ctx.pool
    ordering(query, indices, ctx, rng) -> list[int]     # the same indices, in prompt order

Options (`OPTIONS`) are numbers a strategy reads from ``ctx.options`` (`opt_int`, `opt_float`); a
spec lists the options it reads, and `OptionSpec.used_by` is derived from those lists.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np

from engine.core.errors import ConfigError, lookup
from engine.core.progress import ProgressFn

if TYPE_CHECKING:
    from engine.data.datasets import Example
    from engine.model.hf_runner import ModelRunner
    from engine.prompting.prompts import PromptFormat
    from engine.retrieval.demo_index import DemoIndex

RetrieverName = Literal[
    "zero", "fixed", "random", "label_balanced", "topk", "bm25", "mmr", "votek", "dpp", "mdl"
]
OrderingName = Literal[
    "as_retrieved", "random", "similar_last", "similar_first", "label_interleaved", "global_e", "local_e"
]
# What a strategy needs in its context: the demo index (sentence embeddings), the BM25 index, the model.
Need = Literal["index", "lexical", "model"]


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


# ---------------------------------------------------------------------- options
@dataclass(frozen=True, slots=True)
class OptionSpec:
    """A strategy option: default, valid range, help, and which strategies read it.

    `used_by` is not typed here: it is the strategies whose spec lists this option, in
    registration order (retrievers, then orderings).
    """

    name: str
    default: float
    low: float
    high: float
    help: str
    integer: bool = False

    @property
    def used_by(self) -> tuple[str, ...]:
        return tuple(_READERS.get(self.name, ()))


OPTIONS: dict[str, OptionSpec] = {
    s.name: s
    for s in (
        OptionSpec("mmr_lambda", 0.5, 0.0, 1.0, "MMR λ: 1 = pure relevance (topk), 0 = pure diversity."),
        OptionSpec(
            "n_candidates", 0, 0, 100_000, "Nearest neighbours considered (0 = auto: max(32, 4k)).", True
        ),
        OptionSpec(
            "dpp_scale", 0.1, 1e-3, 10.0, "DPP relevance temperature: small = relevance, large = diversity."
        ),
        OptionSpec("votek_k", 15, 1, 1000, "Neighbours per item in the vote-k graph.", True),
        OptionSpec("votek_rho", 10.0, 1.0001, 1000.0, "Vote-k discount ρ (> 1)."),
        OptionSpec(
            "votek_pool",
            4000,
            10,
            1_000_000,
            "Vote-k runs on a seeded sample of at most this many items.",
            True,
        ),
        OptionSpec("mdl_samples", 8, 1, 256, "Candidate demonstration sets tried per query.", True),
        OptionSpec("n_permutations", 8, 1, 720, "Candidate orders scored.", True),
        OptionSpec("n_probe", 8, 1, 256, "Size of the generated probing set.", True),
        OptionSpec("probe_tokens", 32, 1, 256, "Max tokens per generated probe.", True),
        OptionSpec("probe_temperature", 1.0, 1e-3, 10.0, "Sampling temperature of the probes (paper: 2)."),
    )
}
# option name -> strategies that read it, filled by the specs as they are registered
_READERS: dict[str, list[str]] = {}


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


def opt_int(ctx: RetrievalContext, name: str, default: int, *, minimum: int = 0) -> int:
    """Integer option from `ctx.options`, validated (ConfigError on a bad value)."""
    raw = ctx.options.get(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"Option {name} must be an integer, got {raw!r}.") from None
    if value < minimum or float(raw) != value:
        raise ConfigError(f"Option {name} must be an integer of at least {minimum}, got {raw!r}.")
    return value


def opt_float(
    ctx: RetrievalContext, name: str, default: float, *, low: float = -math.inf, high: float = math.inf
) -> float:
    """Float option from `ctx.options`, checked to lie in [low, high]."""
    raw = ctx.options.get(name, default)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"Option {name} must be a number, got {raw!r}.") from None
    if not (low <= value <= high) or math.isnan(value):
        raise ConfigError(f"Option {name} must be between {low} and {high}, got {raw!r}.")
    return value


# ---------------------------------------------------------------------- specs
def _declared(
    name: str, needs: Iterable[str], options: Iterable[str]
) -> tuple[frozenset[Need], tuple[str, ...]]:
    """Checks a spec's needs and options against the known ones and records its option reads."""
    need_set = frozenset(needs)
    bad = sorted(need_set - set(get_args(Need)))
    if bad:
        raise ValueError(f"strategy {name!r}: unknown needs {bad} (known: {', '.join(get_args(Need))})")
    opts = tuple(options)
    unknown = [o for o in opts if o not in OPTIONS]
    if unknown:
        raise ValueError(f"strategy {name!r} reads unknown options {unknown} (known: {', '.join(OPTIONS)})")
    for o in opts:
        _READERS.setdefault(o, []).append(name)
    return need_set, opts  # type: ignore[return-value]  # checked against Need above


@dataclass(frozen=True, slots=True)
class RetrieverSpec:
    """A registered retriever: the function and what it needs. Calling the spec calls the function.

    Attributes:
        name: the registry name.
        fn: ``fn(query, k, ctx, rng) -> pool indices``.
        description: one English line for the UI and ``--help`` (translations key on `name`).
        needs: what the context must hold ("index", "lexical", "model").
        query_independent: the choice ignores the query and the seed (one set for every query).
        query_agnostic: a seeded draw that ignores the query (same seed, same set for every query).
        options: the `OPTIONS` it reads.
    """

    name: str
    fn: Retriever
    description: str
    needs: frozenset[Need] = frozenset()
    query_independent: bool = False
    query_agnostic: bool = False
    options: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        fn: Retriever,
        *,
        name: str,
        description: str,
        needs: Iterable[str] = (),
        query_independent: bool = False,
        query_agnostic: bool = False,
        options: Iterable[str] = (),
    ) -> RetrieverSpec:
        """The spec of a decorated function (the `Registry`'s ``make``); checks needs and options."""
        need_set, opts = _declared(name, needs, options)
        return cls(name, fn, description, need_set, query_independent, query_agnostic, opts)

    def __call__(self, query: str, k: int, ctx: RetrievalContext, rng: np.random.Generator) -> list[int]:
        return self.fn(query, k, ctx, rng)


@dataclass(frozen=True, slots=True)
class OrderingSpec:
    """A registered ordering: the function and what it needs. Calling the spec calls the function.

    Attributes:
        name: the registry name.
        fn: ``fn(query, indices, ctx, rng) -> the indices in prompt order``.
        description: one English line for the UI (translations key on `name`).
        needs: what the context must hold ("index", "model").
        options: the `OPTIONS` it reads.
    """

    name: str
    fn: Ordering
    description: str
    needs: frozenset[Need] = frozenset()
    options: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        fn: Ordering,
        *,
        name: str,
        description: str,
        needs: Iterable[str] = (),
        options: Iterable[str] = (),
    ) -> OrderingSpec:
        """The spec of a decorated function (the `Registry`'s ``make``); checks needs and options."""
        need_set, opts = _declared(name, needs, options)
        return cls(name, fn, description, need_set, opts)

    def __call__(
        self, query: str, indices: list[int], ctx: RetrievalContext, rng: np.random.Generator
    ) -> list[int]:
        return self.fn(query, indices, ctx, rng)


# ---------------------------------------------------------------------- checks shared by retrievers
def check_k(k: int, ctx: RetrievalContext) -> None:
    """ConfigError unless 0 <= k <= the pool size."""
    if k < 0:
        raise ConfigError(f"k must be 0 or more, got {k}.")
    if k > len(ctx.pool):
        raise ConfigError(f"k = {k} is larger than the demonstration pool ({len(ctx.pool)} examples).")


def need_index(ctx: RetrievalContext, name: str) -> DemoIndex:
    """The context's demo index, checked to match the pool (ConfigError naming retriever `name`)."""
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


def n_candidates(ctx: RetrievalContext, k: int) -> int:
    """How many nearest neighbours a candidate-based retriever looks at (option ``n_candidates``)."""
    n = opt_int(ctx, "n_candidates", 0)
    if n == 0:
        n = max(32, 4 * k)
    return min(max(n, k), len(ctx.pool))


def candidates(
    query: str, k: int, ctx: RetrievalContext, name: str
) -> tuple[DemoIndex, np.ndarray, np.ndarray]:
    """(index, candidate ids [n_cand], cosine to the query [n_cand]) of the nearest items."""
    index = need_index(ctx, name)
    scores, ids = index.search(index.embed_query(query)[None, :], n_candidates(ctx, k))
    return index, ids[0], scores[0].astype(np.float64)


def require_model(ctx: RetrievalContext, what: str) -> tuple[ModelRunner, PromptFormat, dict[str, str]]:
    """The model, prompt format and label words of the context, or a ConfigError naming `what`."""
    if ctx.runner is None or ctx.fmt is None or not ctx.label_words:
        raise ConfigError(f"{what} needs the model, the prompt format and the label words (none given).")
    return ctx.runner, ctx.fmt, dict(ctx.label_words)
