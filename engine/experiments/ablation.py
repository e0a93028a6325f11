"""The head-ablation experiment: evaluate intact and with head sets ablated, paired query by query.

Olsson et al. (2022) argue that induction heads carry much of in-context learning; the direct
test is to knock them out and rerun the evaluation. `ablation_experiment` runs one evaluation
without ablation and one per head set (e.g. the top-n induction heads and n random heads as a
control) over the same queries and prompts, chunk by chunk so that it can stop between chunks (a
partial result keeps every condition on the same queries), and reports accuracy and label
probabilities side by side. The heads are knocked out by `engine.interp.ablation.ablate_heads`
(hooks on the attention output projections; the model itself is never changed).

`paired_drop` gives each drop with its uncertainty: the runs are paired query by query, so
McNemar's exact test and an exact interval for the accuracy drop, and a bootstrap interval for
the drop in P(gold label) (the statistics live in `engine.core.stats`).

This module sits in `engine.experiments` because it drives `engine.evaluation`; the hooks it
uses stay in `engine.interp`, which never imports the evaluation.

References:
    Olsson et al. 2022, "In-context Learning and Induction Heads", arXiv:2209.11895.
    Wang et al. 2022, "Interpretability in the Wild: a Circuit for Indirect Object
    Identification in GPT-2 small" (mean ablation).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.core.errors import ConfigError
from engine.core.stats import bootstrap_mean_ci, mcnemar_exact, paired_difference_ci, wilson
from engine.interp.ablation import (
    ABLATION_MODES,
    AblationMode,
    HeadSet,
    ablate_heads,
    mean_head_outputs,
    normalize_heads,
)

if TYPE_CHECKING:
    from engine.core.progress import ProgressFn, StopFn
    from engine.data.datasets import Example
    from engine.evaluation.run import EvalConfig, EvalResult
    from engine.model.hf_runner import HFRunner


# --------------------------------------------------------------------------- configuration and results
@dataclass(frozen=True, slots=True)
class AblationConfig:
    """What to ablate and how.

    Attributes:
        head_sets: one ablated evaluation per set (the baseline runs once, without ablation).
        mode: "zero" or "mean".
        n_reference: prompts of the baseline run whose head outputs are averaged for mean ablation.
    """

    head_sets: tuple[HeadSet, ...]
    mode: AblationMode = "zero"
    n_reference: int = 32

    def __post_init__(self) -> None:
        if self.mode not in ABLATION_MODES:
            raise ConfigError(f"Unknown ablation mode {self.mode!r}. Known: {', '.join(ABLATION_MODES)}.")
        if not self.head_sets:
            raise ConfigError("Choose at least one set of heads to ablate.")
        empty = [h.name for h in self.head_sets if not h.heads]
        if empty:
            raise ConfigError(f"Head set(s) {', '.join(empty)} are empty.")
        if self.n_reference < 1:
            raise ConfigError("n_reference must be at least 1.")


@dataclass(frozen=True, slots=True)
class AblationRun:
    """One evaluation with a head set ablated."""

    head_set: HeadSet
    result: EvalResult


@dataclass(frozen=True, slots=True)
class AblationResult:
    """The baseline evaluation and one per ablated head set, on the same queries and prompts."""

    config: AblationConfig
    baseline: EvalResult
    runs: tuple[AblationRun, ...]

    def summary(self) -> list[dict[str, Any]]:
        """One row per condition: accuracy, macro-F1, mean gold-label probability, drops.

        The ablated rows carry the paired uncertainty of their drops (`paired_drop`): the exact
        95 % interval of the accuracy drop, the queries lost and gained, McNemar's p, and the
        bootstrap interval of the P(gold) drop; the baseline row has None there.
        """
        base = self.baseline.metrics
        rows: list[dict[str, Any]] = [
            {
                "condition": "no ablation",
                "heads": "",
                "n_heads": 0,
                "n_queries": self.n_done,
                "accuracy": base.accuracy,
                "macro_f1": base.macro_f1,
                "mean_true_prob": base.mean_true_prob,
                "accuracy_drop": 0.0,
                "accuracy_drop_lo": None,
                "accuracy_drop_hi": None,
                "lost": None,
                "gained": None,
                "mcnemar_p": None,
                "true_prob_drop": 0.0,
                "true_prob_drop_lo": None,
                "true_prob_drop_hi": None,
            }
        ]
        for run, pd in zip(self.runs, self.paired(), strict=True):
            m = run.result.metrics
            rows.append(
                {
                    "condition": run.head_set.name,
                    "heads": " ".join(run.head_set.labels),
                    "n_heads": len(run.head_set.heads),
                    "n_queries": run.result.n_done,
                    "accuracy": m.accuracy,
                    "macro_f1": m.macro_f1,
                    "mean_true_prob": m.mean_true_prob,
                    "accuracy_drop": base.accuracy - m.accuracy,
                    "accuracy_drop_lo": pd.accuracy_lo,
                    "accuracy_drop_hi": pd.accuracy_hi,
                    "lost": pd.lost,
                    "gained": pd.gained,
                    "mcnemar_p": pd.p_value,
                    "true_prob_drop": base.mean_true_prob - m.mean_true_prob,
                    "true_prob_drop_lo": pd.prob_lo,
                    "true_prob_drop_hi": pd.prob_hi,
                }
            )
        return rows

    def accuracy_intervals(self) -> list[tuple[float, float]]:
        """The Wilson 95 % interval of each condition's accuracy, in the order of `summary` rows.

        Each interval is of one condition alone (for the error bars of its accuracy); whether two
        conditions differ is the paired test of `paired`, which is much narrower.
        """
        results = [self.baseline, *(r.result for r in self.runs)]
        return [wilson(sum(q.pred == q.gold for q in res.queries), len(res.queries)) for res in results]

    def label_probs(self) -> list[dict[str, Any]]:
        """Long table: one row per (query, condition, label) with the label's probability."""
        rows: list[dict[str, Any]] = []
        conditions = [("no ablation", self.baseline), *((r.head_set.name, r.result) for r in self.runs)]
        for name, res in conditions:
            for i, q in enumerate(res.queries):
                for label, p in zip(res.labels, q.probs, strict=True):
                    rows.append(
                        {
                            "query": i,
                            "condition": name,
                            "label": label,
                            "prob": p,
                            "gold": q.gold,
                            "pred": q.pred,
                            "correct": q.pred == q.gold,
                        }
                    )
        return rows

    @property
    def partial(self) -> bool:
        """True when the run was stopped: every condition holds the same first `n_done` queries."""
        return self.baseline.partial

    @property
    def n_done(self) -> int:
        """Queries scored under every condition (the paired comparison rests on these)."""
        return self.baseline.n_done

    @property
    def n_total(self) -> int:
        """Queries asked for."""
        return self.baseline.n_total or self.baseline.n_done

    def paired(self, *, alpha: float = 0.05, n_boot: int = 4000, seed: int = 0) -> list[PairedDrop]:
        """`paired_drop` of each ablated run against the baseline, in the order of `runs`."""
        return [
            paired_drop(self.baseline, run.result, alpha=alpha, n_boot=n_boot, seed=seed) for run in self.runs
        ]


# --------------------------------------------------------------------------- paired statistics
@dataclass(frozen=True, slots=True)
class PairedDrop:
    """The drop from the baseline to one ablated run, over the same queries (a paired comparison).

    Both runs score the same queries with the same prompts, so each query is its own control:
    only the queries whose correctness changed (`lost`: right without ablation, wrong with it;
    `gained`: the reverse) carry information about the accuracy drop.

    Attributes:
        n: queries compared.
        accuracy_drop: accuracy without ablation minus with it, ``(lost - gained) / n``.
        lost, gained: the discordant queries.
        p_value: McNemar's exact test (two-sided binomial test of ``lost`` out of ``lost + gained``
            at 1/2): how often chance alone would give a split at least this uneven.
        accuracy_lo, accuracy_hi: exact 95 % interval of the drop given the ``lost + gained``
            discordant queries (Clopper-Pearson on ``lost / (lost + gained)``, scaled by
            ``(lost + gained) / n``); it excludes 0 exactly when ``p_value < alpha``.
        prob_drop: mean over queries of P(gold) without minus with ablation.
        prob_lo, prob_hi: percentile bootstrap 95 % interval of `prob_drop` (queries resampled
            with replacement, seeded).
        alpha: the level of the tests and intervals.
    """

    n: int
    accuracy_drop: float
    lost: int
    gained: int
    p_value: float
    accuracy_lo: float
    accuracy_hi: float
    prob_drop: float
    prob_lo: float
    prob_hi: float
    alpha: float = 0.05

    @property
    def accuracy_within_noise(self) -> bool:
        """The accuracy drop is not distinguishable from 0 at level `alpha` (McNemar exact)."""
        return self.p_value >= self.alpha

    @property
    def prob_within_noise(self) -> bool:
        """The bootstrap interval of the P(gold) drop contains 0."""
        return self.prob_lo <= 0.0 <= self.prob_hi


def _gold_probs(result: EvalResult) -> np.ndarray:
    labels = list(result.labels)
    return np.array([q.probs[labels.index(q.gold)] for q in result.queries], dtype=np.float64)


def paired_drop(
    baseline: EvalResult, ablated: EvalResult, *, alpha: float = 0.05, n_boot: int = 4000, seed: int = 0
) -> PairedDrop:
    """The accuracy and P(gold) drop from `baseline` to `ablated` with their uncertainty.

    Why paired: the two runs share queries and prompts, so the query-to-query spread (easy and
    hard queries) cancels; an unpaired comparison of two accuracies would be far wider.

    Raises:
        ConfigError: the two results are not over the same queries.
    """
    if [q.id for q in baseline.queries] != [q.id for q in ablated.queries]:
        raise ConfigError("A paired comparison needs both runs over the same queries.")
    n = len(baseline.queries)
    if n == 0:
        nan = float("nan")
        return PairedDrop(0, nan, 0, 0, 1.0, nan, nan, nan, nan, nan, alpha)
    before = np.array([q.pred == q.gold for q in baseline.queries])
    after = np.array([q.pred == q.gold for q in ablated.queries])
    lost = int((before & ~after).sum())
    gained = int((~before & after).sum())
    p_value = mcnemar_exact(gained, lost)  # the binomial test of `lost` of the discordant queries
    acc_lo, acc_hi = paired_difference_ci(lost, gained, n, alpha)
    diff = _gold_probs(baseline) - _gold_probs(ablated)
    prob_lo, prob_hi = bootstrap_mean_ci(diff, alpha, n_boot=n_boot, seed=seed)
    return PairedDrop(
        n=n,
        accuracy_drop=(lost - gained) / n,
        lost=lost,
        gained=gained,
        p_value=p_value,
        accuracy_lo=float(acc_lo),
        accuracy_hi=float(acc_hi),
        prob_drop=float(diff.mean()),
        prob_lo=float(prob_lo),
        prob_hi=float(prob_hi),
        alpha=alpha,
    )


# --------------------------------------------------------------------------- the experiment
AblationChunkFn = Callable[["AblationResult"], None]


def ablation_experiment(
    runner: HFRunner,
    pool: Sequence[Example],
    queries: Sequence[Example],
    eval_cfg: EvalConfig,
    config: AblationConfig,
    *,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    on_chunk: AblationChunkFn | None = None,
    chunk_size: int | None = None,
) -> AblationResult:
    """Evaluates without ablation and once per head set with those heads ablated, chunk by chunk.

    Every condition uses the same `eval_cfg` and the same prepared prompts (same seed, hence the
    same demonstrations per query), so the differences come from the ablation alone. The queries
    go in chunks; within a chunk the baseline scores it first, then each head set with its heads
    ablated (the hooks are on only while that chunk is scored, so other sessions wait at most one
    chunk for the runner's lock). `should_stop` is checked between chunks only, so a stopped run
    returns every condition over the same first queries, marked `partial`: a partial result
    still compares like with like. For mean ablation the heads' mean outputs are taken over the
    first `config.n_reference` baseline prompts (the model's own activations on this task).

    Args:
        should_stop: checked between chunks; True ends the run with what is done.
        on_chunk: called with the (partial) result after each chunk but the last.
        chunk_size: queries per chunk; default one chunk, or `chunk_size_for` when `should_stop`
            or `on_chunk` is given.

    Raises:
        ConfigError, PromptError, DataError: with a message for the user.
    """
    import time
    from dataclasses import replace

    from engine.evaluation.run import _check_gold, _chunks, _prepare, _result, _score_chunk, chunk_size_for
    from engine.retrieval import retrievers as retrieval

    info = runner.info
    sets = tuple(
        HeadSet(h.name, normalize_heads(h.heads, info.n_layers, info.n_heads)) for h in config.head_sets
    )
    _check_gold(queries, eval_cfg.labels)
    if progress is not None:
        progress(0.0, "building prompts")
    ctx = retrieval.build_context(
        pool,
        retrieval=eval_cfg.retrieval,
        ordering=eval_cfg.ordering,
        runner=runner,
        fmt=eval_cfg.fmt,
        label_words=eval_cfg.words,
        fixed=eval_cfg.fixed,
        options=dict(eval_cfg.options),
    )
    first = _prepare(runner, pool, queries, eval_cfg, ctx, None)
    # one pass per condition over the same draws and prompts, each with its own scores
    passes = [first, *(replace(first, scored=[], cf_by_draw={}) for _ in sets)]
    names = ["no ablation", *(hs.name for hs in sets)]
    means = None
    if config.mode == "mean":
        if progress is not None:
            progress(0.01, "mean head outputs")
        means = mean_head_outputs(runner, [plan.texts[0].text for plan in first.plans[: config.n_reference]])
    n, n_cond = len(queries), len(passes)
    seconds = [0.0] * n_cond
    tokens = [0] * n_cond

    def result() -> AblationResult:
        results = [_result(p, s, tk) for p, s, tk in zip(passes, seconds, tokens, strict=True)]
        runs = tuple(AblationRun(hs, r) for hs, r in zip(sets, results[1:], strict=True))
        return AblationResult(config, results[0], runs)

    if chunk_size is None and (should_stop is not None or on_chunk is not None):
        chunk_size = chunk_size_for(n)
    for lo, hi in _chunks(n, chunk_size):
        if lo > 0 and should_stop is not None and should_stop():
            break
        for c, (name, p) in enumerate(zip(names, passes, strict=True)):
            a = 0.02 + 0.97 * (lo * n_cond + c * (hi - lo)) / max(n * n_cond, 1)
            b = 0.02 + 0.97 * (lo * n_cond + (c + 1) * (hi - lo)) / max(n * n_cond, 1)
            sub = (
                None
                if progress is None
                else (lambda f, msg, a=a, b=b, name=name: progress(a + (b - a) * f, f"{name}: {msg}"))
            )
            t0, tokens0 = time.perf_counter(), runner.work.snapshot()[0]
            if c == 0:
                _score_chunk(runner, p, lo, hi, True, sub)
            else:
                with ablate_heads(runner, sets[c - 1].heads, config.mode, means=means):
                    _score_chunk(runner, p, lo, hi, True, sub)
            seconds[c] += time.perf_counter() - t0
            tokens[c] += runner.work.snapshot()[0] - tokens0
        if on_chunk is not None and hi < n:
            on_chunk(result())
    if progress is not None:
        progress(1.0, "done")
    return result()
