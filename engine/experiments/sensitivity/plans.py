"""The six sensitivity experiments: one planner each, registered in `EXPERIMENTS` with its spec.

A planner turns a config into row specs (one per setting, named by a fact), jobs (one evaluation
each; identical ones run once) and notes (facts). The decorator registers it with its title,
description, summary (`engine.experiments.sensitivity.summaries`) and evaluation count; the
registration order is the order the UI lists them in.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from engine.core.errors import ConfigError
from engine.experiments.sensitivity.config import LABEL_CONDITIONS, SensitivityConfig
from engine.experiments.sensitivity.draws import (
    derangement,
    draw_fixed_demos,
    draw_seed,
    fitting_ks,
    no_label_format,
    permutations,
    relabel,
    rng_for,
    unrelated_words,
)
from engine.experiments.sensitivity.facts import Fact
from engine.experiments.sensitivity.jobs import Job, Planned, RowSpec, demo_fields, eval_config
from engine.experiments.sensitivity.registry import EXPERIMENTS
from engine.experiments.sensitivity.summaries import (
    facts_format,
    facts_kcurve,
    facts_label_words,
    facts_labels,
    facts_order,
    facts_selection,
)
from engine.model.protocol import ModelRunner
from engine.prompting.prompts import PromptFormat

if TYPE_CHECKING:
    from engine.data.datasets import Example

# What every planner is (the registry stores it as `registry.PlanFn`).
Planner = Callable[[ModelRunner, Sequence["Example"], Sequence["Example"], SensitivityConfig], Planned]


@EXPERIMENTS.register(
    "order",
    title="Order variance",
    description="The same k demonstrations in N random orders: how much does the order alone move accuracy?",
    facts=facts_order,
    max_evaluations=lambda cfg: min(cfg.n, math.factorial(cfg.k)),
    aggregated=False,
    min_k=2,
)
def plan_order(
    runner: ModelRunner, pool: Sequence[Example], queries: Sequence[Example], cfg: SensitivityConfig
) -> Planned:
    """One draw of k demonstrations, N distinct permutations of it (Lu et al. 2022)."""
    demos = draw_fixed_demos(pool, cfg.k, cfg.draw, draw_seed(cfg.seed, 0), cfg.words)
    perms = permutations(cfg.k, cfg.n, rng_for(cfg.seed, 1))
    notes = []
    if len(perms) < cfg.n:
        notes.append(Fact("note.orders", {"k": cfg.k, "n": len(perms)}))
    specs: list[RowSpec] = []
    jobs: list[Job] = []
    for i, perm in enumerate(perms):
        order = tuple(demos[p] for p in perm)
        positions = tuple(p + 1 for p in perm)  # 1-based, as people count (and as the setting names them)
        specs.append(
            RowSpec(
                Fact("setting.order", {"i": i + 1, "positions": "-".join(map(str, positions))}),
                {"order": i + 1, "positions": positions, **demo_fields(pool, order)},
            )
        )
        jobs.append(Job(i, eval_config(cfg, order), pool))
    return specs, jobs, notes


@EXPERIMENTS.register(
    "selection",
    title="Selection variance",
    description="N random draws of k demonstrations: how much does the choice of demonstrations move accuracy?",
    facts=facts_selection,
    max_evaluations=lambda cfg: cfg.n,
    aggregated=False,
    min_k=1,
)
def plan_selection(
    runner: ModelRunner, pool: Sequence[Example], queries: Sequence[Example], cfg: SensitivityConfig
) -> Planned:
    """N independent draws of k demonstrations (Liu et al. 2021, Zhang et al. 2022)."""
    specs: list[RowSpec] = []
    jobs: list[Job] = []
    for j in range(cfg.n):
        s = draw_seed(cfg.seed, j)
        demos = draw_fixed_demos(pool, cfg.k, cfg.draw, s, cfg.words)
        fields = {"draw": j + 1, "draw_seed": s, **demo_fields(pool, demos)}
        specs.append(RowSpec(Fact("setting.draw", {"i": j + 1}), fields))
        jobs.append(Job(j, eval_config(cfg, demos), pool))
    return specs, jobs, []


def _kcurve_count(cfg: SensitivityConfig) -> int:
    ks = set(cfg.ks)
    return len(cfg.kcurve_scorers) * ((0 in ks) + len(ks - {0}) * cfg.n)


@EXPERIMENTS.register(
    "kcurve",
    title="k-curve",
    description="Accuracy for k = 0, 1, 2, 4, 8, 16, 32 per scoring function, mean and spread over N seeds.",
    facts=facts_kcurve,
    max_evaluations=_kcurve_count,
    aggregated=True,
)
def plan_kcurve(
    runner: ModelRunner, pool: Sequence[Example], queries: Sequence[Example], cfg: SensitivityConfig
) -> Planned:
    """Per scorer and k: N seeded draws (one for k = 0, which has nothing to draw)."""
    ks, left = fitting_ks(runner, pool, queries, cfg)
    notes = []
    if left:
        notes.append(Fact("note.ks", {"ks": ", ".join(map(str, left)), "n_ctx": runner.info.n_ctx}))
    if not ks:
        raise ConfigError(
            "None of the k values fits: the pool is too small or the prompt too long for the context."
        )
    draws = {
        k: [draw_fixed_demos(pool, k, cfg.draw, draw_seed(cfg.seed, j), cfg.words) for j in range(cfg.n)]
        for k in ks
    }
    specs: list[RowSpec] = []
    jobs: list[Job] = []
    for scorer in cfg.kcurve_scorers:
        scoring = replace(cfg.scoring, scorer=scorer)
        for k in ks:
            row = len(specs)
            seeds = draws[k][:1] if k == 0 else draws[k]
            specs.append(
                RowSpec(Fact("setting.kcurve", {"scorer": scorer, "k": k}), {"scorer": scorer, "k": k})
            )
            jobs += [Job(row, eval_config(cfg, d, scoring=scoring), pool) for d in seeds]
    return specs, jobs, notes


@EXPERIMENTS.register(
    "labels",
    title="Labels matter?",
    description="Demonstrations with gold, uniformly random, flipped or no labels (Min et al. 2022).",
    facts=facts_labels,
    max_evaluations=lambda cfg: len(LABEL_CONDITIONS) * cfg.n,
    aggregated=True,
    min_k=1,
)
def plan_labels(
    runner: ModelRunner, pool: Sequence[Example], queries: Sequence[Example], cfg: SensitivityConfig
) -> Planned:
    """Gold / random / flipped / no labels on the same N draws of k demonstrations."""
    labels = cfg.labels
    specs = [RowSpec(Fact(f"condition.{c}"), {"condition": c}) for c in LABEL_CONDITIONS]
    jobs: list[Job] = []
    for j in range(cfg.n):
        demos = draw_fixed_demos(pool, cfg.k, cfg.draw, draw_seed(cfg.seed, j), cfg.words)
        gold = [pool[i].label for i in demos]
        rng = rng_for(cfg.seed, 2, j)
        shown = {
            "gold": gold,
            "random": [labels[int(x)] for x in rng.integers(0, len(labels), size=len(demos))],
        }
        flip = derangement(labels, rng_for(cfg.seed, 3, j))
        shown["flipped"] = [flip[g] for g in gold]
        for row, cond in enumerate(LABEL_CONDITIONS):
            if cond == "none":
                fmt = no_label_format(cfg.fmt, [pool[i].text for i in demos])
                jobs.append(Job(row, eval_config(cfg, (), fmt=fmt), pool, j))
            else:
                new_pool = relabel(pool, dict(zip(demos, shown[cond], strict=True)))
                jobs.append(Job(row, eval_config(cfg, demos), new_pool, j))
            if j == 0:
                f = dict(specs[row].fields) | demo_fields(pool, demos)
                f["shown_labels"] = tuple(shown[cond]) if cond != "none" else ()
                if cond == "flipped":
                    f["mapping"] = flip
                specs[row] = RowSpec(specs[row].title, f)
    return specs, jobs, []


@EXPERIMENTS.register(
    "label_words",
    title="Label words",
    description="Default label words vs yours vs unrelated words (foo/bar): mapping or priors?",
    facts=facts_label_words,
    max_evaluations=lambda cfg: (2 + len(cfg.alt_label_words)) * cfg.n,
    aggregated=True,
)
def plan_label_words(
    runner: ModelRunner, pool: Sequence[Example], queries: Sequence[Example], cfg: SensitivityConfig
) -> Planned:
    """Default words vs the user's word sets vs unrelated words, same demonstrations (Wei et al. 2023)."""
    labels = cfg.labels
    sets: list[tuple[str, tuple[str, ...]]] = [("default", tuple(w for _, w in cfg.label_words))]
    sets += [("yours", ws) for ws in cfg.alt_label_words]
    sets.append(("unrelated", cfg.unrelated_words or unrelated_words(len(labels))))
    specs = [
        RowSpec(
            Fact(f"setting.words.{kind}", {"words": "/".join(ws)}),
            {"kind": kind, "words": dict(zip(labels, ws, strict=True))},
        )
        for kind, ws in sets
    ]
    jobs = []
    for j in range(cfg.n):
        demos = draw_fixed_demos(pool, cfg.k, cfg.draw, draw_seed(cfg.seed, j), cfg.words)
        for row, (_, ws) in enumerate(sets):
            pairs = tuple(zip(labels, ws, strict=True))
            jobs.append(Job(row, eval_config(cfg, demos, label_words=pairs), pool, j))
        if j == 0:
            specs = [RowSpec(s.title, dict(s.fields) | demo_fields(pool, demos)) for s in specs]
    return specs, jobs, []


@EXPERIMENTS.register(
    "format",
    title="Format",
    description="The prompt with and without its instruction, and with the templates you type.",
    facts=facts_format,
    max_evaluations=lambda cfg: (1 + bool(cfg.fmt.instruction.strip()) + len(cfg.templates)) * cfg.n,
    aggregated=True,
)
def plan_format(
    runner: ModelRunner, pool: Sequence[Example], queries: Sequence[Example], cfg: SensitivityConfig
) -> Planned:
    """The base prompt, without its instruction, and with each of the user's templates (Sclar et al. 2024)."""
    base = cfg.fmt
    with_instruction = bool(base.instruction.strip())
    named = "setting.format.instruction" if with_instruction else "setting.format.plain"
    fmts: list[tuple[Fact, str, PromptFormat]] = [(Fact(named, {"i": 1}), "base", base)]
    if with_instruction:
        no_instruction = replace(base, instruction="")
        fmts.append((Fact("setting.format.no_instruction", {"i": 1}), "no instruction", no_instruction))
    for i, t in enumerate(cfg.templates):
        fmts.append((Fact(named, {"i": i + 2}), "yours", replace(base, template=t)))
    specs = [
        RowSpec(title, {"kind": kind, "template": f.template, "instruction": f.instruction})
        for title, kind, f in fmts
    ]
    jobs = []
    for j in range(cfg.n):
        demos = draw_fixed_demos(pool, cfg.k, cfg.draw, draw_seed(cfg.seed, j), cfg.words)
        for row, (_, _, f) in enumerate(fmts):
            jobs.append(Job(row, eval_config(cfg, demos, fmt=f), pool, j))
        if j == 0:
            specs = [RowSpec(s.title, dict(s.fields) | demo_fields(pool, demos)) for s in specs]
    return specs, jobs, []
