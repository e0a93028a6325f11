"""Seeded draws and prompt variants of the sensitivity experiments (pure helpers of the planners).

Demonstrations are drawn by a registry retriever (``random`` or ``label_balanced``) with seeds
derived from the experiment's seed (`draw_seed`), and every other random choice (permutations,
random labels, derangements) has its own generator per (seed, tags) (`rng_for`), so that no draw
depends on the order of the calls.
"""

from __future__ import annotations

import itertools
import math
import string
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from engine.core.errors import ConfigError
from engine.experiments.sensitivity.config import UNRELATED_WORDS, SensitivityConfig
from engine.model.protocol import ModelRunner
from engine.prompting.prompts import Demo, PromptFormat, build_prompt
from engine.retrieval import retrievers as retrieval
from engine.scoring.scorers import check_labels

if TYPE_CHECKING:
    from engine.data.datasets import Example


def rng_for(seed: int, *tags: int) -> np.random.Generator:
    """An independent generator per (seed, tags): draws do not depend on call order."""
    return np.random.default_rng(np.random.SeedSequence([seed, *tags]))


def draw_seed(seed: int, j: int) -> int:
    """The seed of draw `j` of an experiment seeded with `seed`."""
    return int(np.random.SeedSequence([seed, j]).generate_state(1)[0])


def draw_fixed_demos(
    pool: Sequence[Example], k: int, draw: str, seed: int, label_words: Mapping[str, str]
) -> tuple[int, ...]:
    """k pool indices drawn by the `draw` retriever with `seed` (prompt order as drawn).

    Not `engine.evaluation.run.draw_demos`: that one draws each query's demonstrations inside an
    evaluation, from its `EvalConfig` and a built retrieval context; this one draws one set from
    the pool before any evaluation config exists, and the set becomes the configs' ``fixed``
    demonstrations (every setting of a draw shows the same ones). Both end in the same
    `retrievers.select_demos` call for a query-independent retriever.
    """
    if k == 0:
        return ()
    ctx = retrieval.build_context(pool, retrieval=draw, label_words=dict(label_words))
    return tuple(retrieval.select_demos("", k, ctx, retrieval=draw, seed=seed))


def permutations(k: int, n: int, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """`n` distinct permutations of range(k) (all k! in lexicographic order when k! <= n)."""
    if math.factorial(k) <= n:
        return list(itertools.permutations(range(k)))
    seen: dict[tuple[int, ...], None] = {}
    while len(seen) < n:
        seen.setdefault(tuple(int(i) for i in rng.permutation(k)), None)
    return list(seen)


def derangement(labels: Sequence[str], rng: np.random.Generator) -> dict[str, str]:
    """A random permutation of the labels in which every label goes to a different one."""
    if len(labels) < 2:
        raise ConfigError("Flipping labels needs at least two labels.")
    while True:
        perm = [labels[int(i)] for i in rng.permutation(len(labels))]
        if all(a != b for a, b in zip(labels, perm, strict=True)):
            return dict(zip(labels, perm, strict=True))


def relabel(pool: Sequence[Example], new_labels: Mapping[int, str]) -> list[Example]:
    """A copy of the pool with the given indices relabelled (the originals are untouched)."""
    from engine.data.datasets import Example

    out = list(pool)
    for i, lab in new_labels.items():
        out[i] = Example(pool[i].text, lab, pool[i].id)
    return out


def input_only(fmt: PromptFormat, text: str) -> str:
    """A demonstration without its label: the template rendered up to and including ``{text}``.

    ``"Review: {text}\\nSentiment: {label}"`` gives ``"Review: <text>"``.
    """
    out = []
    for literal, name, _spec, _conv in string.Formatter().parse(fmt.template):
        out.append(literal)
        if name == "text":
            out.append(text)
            break
        if name is not None:
            out.append("{" + name + "}")
    return "".join(out)


def no_label_format(fmt: PromptFormat, texts: Sequence[str]) -> PromptFormat:
    """The format whose zero-shot prompt shows `texts` as label-free demonstrations."""
    parts = [fmt.instruction.strip()] if fmt.instruction.strip() else []
    parts += [input_only(fmt, t) for t in texts]
    return PromptFormat(fmt.template, fmt.separator.join(parts), fmt.separator)


def unrelated_words(n_labels: int) -> tuple[str, ...]:
    """n semantically unrelated words ("foo", "bar", ...), in label order."""
    if n_labels <= len(UNRELATED_WORDS):
        return UNRELATED_WORDS[:n_labels]
    return tuple(f"foo{i + 1}" for i in range(n_labels))


def fitting_ks(
    runner: ModelRunner,
    pool: Sequence[Example],
    queries: Sequence[Example],
    cfg: SensitivityConfig,
) -> tuple[list[int], list[int]]:
    """(k values that fit the pool and the context, k values left out), ascending.

    A k fits when the first seed's draw with the longest query (in characters) needs no
    demonstration dropped; larger k values are left out once one does not fit.
    """
    ks = sorted(set(cfg.ks))
    ok: list[int] = []
    left: list[int] = []
    if not queries:
        return ks, []
    longest = max(queries, key=lambda q: len(q.text)).text
    words = check_labels(cfg.words)
    reserve = max(len(runner.encode(" " + w, add_special_tokens=False)) for w in words.values())
    for k in ks:
        if left or k > len(pool):
            left.append(k)
            continue
        idx = draw_fixed_demos(pool, k, cfg.draw, draw_seed(cfg.seed, 0), words)
        prompt = build_prompt(
            cfg.fmt,
            [Demo(pool[i].text, pool[i].label, i) for i in idx],
            longest,
            words,
            count_tokens=lambda s: len(runner.encode(s)),
            max_tokens=runner.info.n_ctx,
            reserve_tokens=reserve,
        )
        if prompt.n_dropped:
            left.append(k)
        else:
            ok.append(k)
    return ok, left
