"""The evaluations of a sensitivity experiment before they run: `Job`, `RowSpec`, `Planned`.

A planner (`engine.experiments.sensitivity.plans`) turns a config into row specs (one per setting)
and jobs (one evaluation each, pointing at its row); `engine.experiments.sensitivity.run` runs the
distinct jobs once each and folds their results into rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.core.errors import ConfigError
from engine.evaluation.run import EvalConfig, EvalResult
from engine.experiments.sensitivity.config import SensitivityConfig
from engine.experiments.sensitivity.facts import Fact, english

if TYPE_CHECKING:
    from engine.data.datasets import Example


@dataclass(frozen=True, slots=True)
class Job:
    """One evaluation of an experiment: the row it feeds, its config and its (relabelled) pool.

    `draw` is the seeded draw of demonstrations it belongs to, where every setting of one draw is
    compared on the same demonstrations (labels, label_words, format); a stopped run keeps whole
    draws only, so that its settings stay paired. 0 where rows are not paired by draw.
    """

    row: int
    cfg: EvalConfig
    pool: Sequence[Example]
    draw: int = 0


@dataclass(frozen=True, slots=True)
class RowSpec:
    """A row before it runs: its setting (a fact: `Row.title`) and per-experiment fields."""

    title: Fact
    fields: Mapping[str, Any] = field(default_factory=dict)

    @property
    def setting(self) -> str:
        """The setting's name in English (`Row.setting`)."""
        return english(self.title)


def eval_config(cfg: SensitivityConfig, demos: Sequence[int], **changes: Any) -> EvalConfig:
    """The shared-demonstration evaluation of `demos` (pool indices, prompt order)."""
    base = EvalConfig(
        fmt=cfg.fmt,
        label_words=cfg.label_words,
        k=len(demos),
        scoring=cfg.scoring,
        demos="shared",
        retrieval="fixed",
        ordering="as_retrieved",
        seed=cfg.seed,
        fixed=tuple(int(i) for i in demos),
    )
    return replace(base, **changes) if changes else base


def job_key(job: Job) -> tuple[object, ...]:
    """Everything that determines a job's result for fixed queries: the config and the demos shown."""
    return (job.cfg, tuple((job.pool[i].text, job.pool[i].label) for i in job.cfg.fixed))


Done = list[tuple[Job, EvalResult, bool]]  # (job, its result, whether it ran: not reused)


def n_distinct(jobs: Sequence[Job]) -> int:
    """How many evaluations `jobs` run (identical ones once)."""
    return len({job_key(j) for j in jobs})


def demo_fields(pool: Sequence[Example], demos: Sequence[int]) -> dict[str, Any]:
    """The ids and gold labels of the demonstrations shown (a row's fields)."""
    return {
        "demo_ids": tuple(pool[i].id for i in demos),
        "demo_labels": tuple(pool[i].label for i in demos),
    }


def check_queries(queries: Sequence[Example]) -> None:
    """Raises a ConfigError when there is no test query to evaluate."""
    if not queries:
        raise ConfigError("There are no test queries to evaluate; ask for at least one.")


Planned = tuple[list[RowSpec], list[Job], list[Fact]]  # (rows, jobs, notes)


def mean(xs: Sequence[float]) -> float:
    """The mean of `xs` (0 for none)."""
    return float(np.mean(xs)) if len(xs) else 0.0
