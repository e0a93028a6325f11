"""What an evaluation is: the frozen `EvalConfig` (prompt, label words, k, scoring, demonstrations),
the scorer x calibration `Variant`s compared on one set of prompts, and the retrieval context a
config needs (`retrieval_context`, the one place an `EvalConfig` becomes a `build_context` call).

Everything is validated on construction, so a typo fails before a model is loaded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, get_args

from engine.core.errors import ConfigError
from engine.core.progress import ProgressFn
from engine.model.protocol import ModelRunner
from engine.prompting.prompts import PromptFormat
from engine.retrieval import retrievers as retrieval
from engine.scoring.scorers import CALIBRATIONS, SCORERS, ScoringConfig, check_labels

if TYPE_CHECKING:
    from engine.data.datasets import Example
    from engine.retrieval.demo_index import DemoIndex

DemoMode = Literal["per-query", "shared"]
# Retrievers whose draw ignores the query (it depends on the seed only), so one draw can be shared
# by every query, besides the registry's QUERY_INDEPENDENT ones (derived from the retriever specs).
QUERY_AGNOSTIC_DRAWS: frozenset[str] = retrieval.QUERY_AGNOSTIC


@dataclass(frozen=True, slots=True)
class EvalConfig:
    """Everything that determines an evaluation besides the model and the data. Validated.

    Attributes:
        fmt: template, instruction, separator.
        label_words: (label name, label word) pairs, in label order.
        k: demonstrations per prompt.
        scoring: scorer, calibration, normalisation.
        demos: "per-query" (fresh draw per query) or "shared" (one draw for all queries).
        retrieval, ordering: registry names in `engine.retrieval.retrievers`.
        seed: seeds the demonstration draws and the domain strings.
        fixed: pool indices for the `fixed` retriever.
        options: retrieval options, as (name, value) pairs.
    """

    fmt: PromptFormat
    label_words: tuple[tuple[str, str], ...]
    k: int = 4
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    demos: DemoMode = "per-query"
    retrieval: str = "random"
    ordering: str = "as_retrieved"
    seed: int = 0
    fixed: tuple[int, ...] = ()
    options: tuple[tuple[str, float | int | str], ...] = ()

    def __post_init__(self) -> None:
        if self.k < 0:
            raise ConfigError(f"k must be 0 or more, got {self.k}.")
        if self.demos not in get_args(DemoMode):
            raise ConfigError(f"demos must be one of {', '.join(get_args(DemoMode))}, got {self.demos!r}.")
        retrieval.get_retriever(self.retrieval)
        retrieval.get_ordering(self.ordering)
        if self.demos == "shared" and not (
            self.retrieval in retrieval.QUERY_INDEPENDENT or self.retrieval in QUERY_AGNOSTIC_DRAWS
        ):
            allowed = sorted((retrieval.QUERY_INDEPENDENT | QUERY_AGNOSTIC_DRAWS) & set(retrieval.RETRIEVERS))
            raise ConfigError(
                f"Shared demonstrations need a retriever that ignores the query ({', '.join(allowed)}); "
                f"{self.retrieval!r} picks demonstrations per query, so use per-query demonstrations."
            )
        check_labels(dict(self.label_words))

    @property
    def words(self) -> dict[str, str]:
        return dict(self.label_words)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.label_words)


def retrieval_context(
    cfg: EvalConfig,
    pool: Sequence[Example],
    runner: ModelRunner | None = None,
    *,
    index: DemoIndex | None = None,
    progress: ProgressFn | None = None,
) -> retrieval.RetrievalContext:
    """The retrieval context `cfg`'s retriever and ordering need over `pool` (an index is built
    or loaded only when they use one; `index` passes a ready one)."""
    return retrieval.build_context(
        pool,
        retrieval=cfg.retrieval,
        ordering=cfg.ordering,
        runner=runner,
        fmt=cfg.fmt,
        label_words=cfg.words,
        fixed=cfg.fixed,
        options=dict(cfg.options),
        progress=progress,
        index=index,
    )


def label_words_from(
    names: Sequence[str], words: Mapping[str, str] | Sequence[str]
) -> tuple[tuple[str, str], ...]:
    """(name, word) pairs in label order from a mapping or a list of words in label order."""
    if isinstance(words, Mapping):
        missing = [n for n in names if n not in words]
        if missing:
            raise ConfigError(f"No label word for {', '.join(repr(m) for m in missing)}.")
        return tuple((n, str(words[n])) for n in names)
    if len(words) != len(names):
        raise ConfigError(f"Got {len(words)} label words for {len(names)} labels ({', '.join(names)}).")
    return tuple(zip(names, (str(w) for w in words), strict=True))


@dataclass(frozen=True, slots=True)
class Variant:
    """One scorer + calibration to compare on the same prompts."""

    scorer: str
    calibration: str = "none"

    @property
    def name(self) -> str:
        return self.scorer if self.calibration == "none" else f"{self.scorer} + {self.calibration}"


def variants_of(scorers: Sequence[str], calibrations: Sequence[str]) -> tuple[list[Variant], list[Variant]]:
    """Every scorer x calibration pair: (valid ones, skipped ones whose calibration needs direct scores)."""
    valid: list[Variant] = []
    skipped: list[Variant] = []
    for s in scorers:
        SCORERS.lookup(s)
        for c in calibrations:
            cal = CALIBRATIONS.lookup(c)
            (skipped if cal.needs_content_free and s != "direct" else valid).append(Variant(s, c))
    return valid, skipped
