"""`EXPERIMENTS`: the sensitivity experiments, one frozen `ExperimentSpec` each.

A spec says how an experiment plans its evaluations, how many it runs at most, and what its
summary says (as a fact, `engine.experiments.sensitivity.facts`). It is filled by the decorator on
each planner in `engine.experiments.sensitivity.plans`, so a new experiment is one decorated
planner plus its summary (and the summary's templates)::

    @EXPERIMENTS.register("order", title="Order variance", description="...",
                          facts=facts_order, max_evaluations=lambda cfg: min(cfg.n, factorial(cfg.k)),
                          aggregated=False, min_k=2)
    def plan_order(runner, pool, queries, cfg) -> Planned: ...

This module imports only `facts` of the package, so `config` can validate against it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from engine.core.registry import Registry
from engine.experiments.sensitivity.facts import Fact, english

# The exact signatures are in `plans` (`Planner` there); they are loose here because
# `SensitivityConfig` validates against this registry, so this module may import neither the
# config nor the jobs (every import, type-only too, would close a cycle).
#   plan(runner, pool, queries, cfg: SensitivityConfig) -> Planned (row specs, jobs, note facts)
#   facts(rows: Sequence[Row], cfg: SensitivityConfig, n_labels: int) -> Fact
#   max_evaluations(cfg: SensitivityConfig) -> int
PlanFn = Callable[..., tuple[list[Any], list[Any], list[Fact]]]
FactsFn = Callable[[Sequence[Any], Any, int], Fact]
CountFn = Callable[[Any], int]


@dataclass(frozen=True, slots=True)
class ExperimentSpec:
    """A sensitivity experiment: how it plans its evaluations, counts them and sums them up.

    Attributes:
        name, title, description: for the UI and the CLI (the UI translates title and description).
        plan: (runner, pool, queries, config) -> (row specs, jobs, notes as facts).
        facts: (rows, config, number of labels) -> the summary as a fact.
        max_evaluations: config -> the evaluations it runs at most (before reuse and the k values
            that do not fit): the page's work estimate before a run.
        aggregated: rows average several seeded runs (spread reported).
        min_k: the smallest k that makes sense.
    """

    name: str
    title: str
    description: str
    plan: PlanFn
    facts: FactsFn
    max_evaluations: CountFn
    aggregated: bool
    min_k: int = 0

    @classmethod
    def of(cls, fn: PlanFn, *, name: str, **fields: Any) -> ExperimentSpec:
        """The spec of the decorated planner `fn` (the `Registry`'s `make`)."""
        return cls(name=name, plan=fn, **fields)

    def summarize(self, rows: Sequence[Any], cfg: Any, n_labels: int) -> str:
        """The summary sentence in English (what the CLI prints)."""
        return english(self.facts(rows, cfg, n_labels))


EXPERIMENTS = Registry[ExperimentSpec]("experiment", make=ExperimentSpec.of)
