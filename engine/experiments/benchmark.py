"""StaICC's standard ``Normal`` protocol, run through this engine's scorer (issue 14).

StaICC (Cho et al., "StaICC: standardized evaluation for classification task in in-context
learning", package ``StaICC==0.1.1``) fixes, for ten classification data sets, the demonstration
pool, the test set (512 queries, each asked twice with other demonstrations), the sampled
demonstrations of every query (k = 4), the template and the metrics. This module builds StaICC's
own experiment objects (``StaICC.Normal``), asks them for their prompts, scores every label word
with the engine (`ModelRunner.score_spans`: one request per prompt and label, the prompt's
demonstrations shared between its labels by the prefix cache) and computes the metrics with
StaICC's own functions. So the protocol and the metrics are StaICC's; only the forward function is
ours, and it is the direct scorer: the sum of the label word's token log-probs after the prompt.

Safety: StaICC's loaders call ``pickle.loads`` on their cached tables. Before any StaICC object is
built, its loader module is pointed at `engine.data.datasets.restricted_loads` (an unpickler that
refuses every global), once and for good; the tables are plain lists, so nothing else changes.

Uncertainty: accuracy carries a Wilson 95 % interval over the evaluated prompts; macro-F1 and ECE a
seeded percentile bootstrap over the same prompts (``scipy.stats.bootstrap``, paired resampling).
The two asks of one query are counted as two prompts, as StaICC counts them.
"""

from __future__ import annotations

import math
import threading
import time
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.core.errors import ConfigError
from engine.core.progress import ProgressFn
from engine.core.stats import wilson
from engine.model.protocol import ModelRunner, SpanRequest, SpanScorer

# engine data set name -> StaICC loader class name (StaICC's Normal runs these ten)
STAICC_LOADERS: dict[str, str] = {
    "sst2": "glue_sst2",
    "mr": "rotten_tomatoes",
    "financial_phrasebank": "financial_phrasebank",
    "sst5": "sst5",
    "trec": "trec",
    "agnews": "agnews",
    "subj": "subjective",
    "tweet_emotion": "tweet_eval_emotion",
    "tweet_hate": "tweet_eval_hate",
    "hate_speech18": "hate_speech_18",
}
DEFAULT_K = 4  # StaICC's standard k
DEFAULT_RESAMPLES = 1000
CHUNK = 32  # prompts scored per call (the stop and progress granularity)

_patch_lock = threading.Lock()


def _safe_staicc() -> Any:
    """The StaICC module, its loaders reading tables with the restricted unpickler."""
    from engine.data.datasets import restricted_loads

    with _patch_lock:
        from StaICC.util import hgf_dataset_loader

        hgf_dataset_loader.pickle = types.SimpleNamespace(loads=restricted_loads)  # type: ignore[attr-defined]
        import StaICC

        return StaICC


@dataclass(frozen=True, slots=True)
class BenchmarkConfig:
    """What determines a benchmark run.

    Attributes:
        datasets: engine data set names (keys of `STAICC_LOADERS`), run in this order.
        k: demonstrations per prompt (StaICC's standard is 4; another k is not the standard protocol).
        limit: score only the first `limit` prompts of each data set in StaICC's order (first ask of
            every query, then the second); None runs them all (1,024 per data set).
        resamples: bootstrap resamples for the macro-F1 and ECE intervals.
        seed: bootstrap seed.
    """

    datasets: tuple[str, ...] = ("sst2",)
    k: int = DEFAULT_K
    limit: int | None = None
    resamples: int = DEFAULT_RESAMPLES
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.datasets:
            raise ConfigError("Choose at least one data set.")
        unknown = [d for d in self.datasets if d not in STAICC_LOADERS]
        if unknown:
            raise ConfigError(f"Unknown StaICC data set {unknown[0]!r}. Known: {', '.join(STAICC_LOADERS)}.")
        if self.k < 0 or self.k > 32:
            raise ConfigError(f"k must be from 0 to 32, got {self.k}.")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"limit must be at least 1, got {self.limit}.")
        if self.resamples < 100:
            raise ConfigError(f"resamples must be at least 100, got {self.resamples}.")

    @property
    def standard(self) -> bool:
        """Whether this is StaICC's standard protocol (k = 4, every prompt)."""
        return self.k == DEFAULT_K and self.limit is None


@dataclass(frozen=True, slots=True)
class DatasetResult:
    """One data set's scores; per-prompt detail kept so views can show it."""

    dataset: str
    staicc_name: str
    label_space: tuple[str, ...]
    gold: tuple[int, ...]
    label_logprobs: tuple[tuple[float, ...], ...]  # [prompt, label]: sum of the label word's log-probs
    accuracy: float
    accuracy_ci: tuple[float, float]
    macro_f1: float
    macro_f1_ci: tuple[float, float]
    ece: float
    ece_ci: tuple[float, float]
    seconds: float
    stopped: bool = False

    @property
    def n(self) -> int:
        return len(self.gold)

    def as_json(self) -> dict[str, Any]:
        """The CLI's per-data-set record."""
        return {
            "dataset": self.dataset,
            "staicc_name": self.staicc_name,
            "n": self.n,
            "accuracy": self.accuracy,
            "accuracy_ci": list(self.accuracy_ci),
            "macro_f1": self.macro_f1,
            "macro_f1_ci": list(self.macro_f1_ci),
            "ece": self.ece,
            "ece_ci": list(self.ece_ci),
            "seconds": round(self.seconds, 3),
            "stopped": self.stopped,
        }


@dataclass(frozen=True, slots=True)
class BenchmarkResult:
    config: BenchmarkConfig
    model: str
    results: tuple[DatasetResult, ...]

    @property
    def stopped(self) -> bool:
        return any(r.stopped for r in self.results)


def staicc_prompts(experiment: Any, limit: int | None) -> tuple[list[str], list[int]]:
    """The prompts and gold label indices of one StaICC experiment, in StaICC's own order.

    StaICC's ``auto_run`` loops over the asks (outer) and the test queries (inner); so does this.
    """
    prompts: list[str] = []
    gold: list[int] = []
    n_test = len(experiment.triplet_dataset.test)
    for time_i in range(experiment.get_repeat_times()):
        for index in range(n_test):
            if limit is not None and len(prompts) >= limit:
                return prompts, gold
            prompts.append(experiment._get_prompts_for_test_sample(index, time_i))
            gold.append(int(experiment.triplet_dataset.get_default_ground_truth_label_index(index)))
    return prompts, gold


def score_label_words(
    runner: ModelRunner, prompts: Sequence[str], label_space: Sequence[str], *, fast: bool = True
) -> np.ndarray:
    """``[prompt, label]`` sums of log P(label word tokens | prompt), the direct scorer's raw score.

    One span request per prompt and label; the labels of one prompt form one prefix-sharing block.
    """
    reqs: list[SpanRequest] = []
    for p_i, prompt in enumerate(prompts):
        for label in label_space:
            split = runner.split(prompt, label)
            reqs.append(SpanRequest(split.ids, split.n_context, block=p_i))
    if not isinstance(runner, SpanScorer):
        raise ConfigError("This model runner cannot score token spans; the benchmark needs one that can.")
    out = runner.score_spans(reqs, fast=fast)
    sums = [math.fsum(r.token_logprobs) for r in out]
    return np.asarray(sums, dtype=np.float64).reshape(len(prompts), len(label_space))


def _bootstrap_ci(
    metric: Callable[[list[int], list[list[float]]], float],
    gold: Sequence[int],
    logits: np.ndarray,
    resamples: int,
    seed: int,
) -> tuple[float, float]:
    """Percentile bootstrap 95 % interval of a StaICC metric over prompts (paired resampling)."""
    from scipy.stats import bootstrap

    if len(gold) < 2:
        return (float("nan"), float("nan"))
    idx = np.arange(len(gold))
    gold_l = list(gold)
    rows = logits.tolist()

    def stat(sample: np.ndarray) -> float:
        return float(metric([gold_l[i] for i in sample], [rows[i] for i in sample]))

    res = bootstrap(
        (idx,),
        stat,
        n_resamples=resamples,
        vectorized=False,
        method="percentile",
        confidence_level=0.95,
        random_state=np.random.default_rng(seed),
    )
    lo, hi = res.confidence_interval
    return (float(lo), float(hi))


def dataset_result(
    dataset: str,
    staicc_name: str,
    label_space: Sequence[str],
    gold: Sequence[int],
    logits: np.ndarray,
    *,
    seconds: float,
    resamples: int,
    seed: int,
    stopped: bool = False,
) -> DatasetResult:
    """Metrics by StaICC's own functions, with their intervals."""
    from StaICC.util import functional

    rows = logits.tolist()
    gold_l = [int(g) for g in gold]
    acc = float(functional.accuracy(gold_l, rows))
    correct = int(
        (np.argmax(logits, axis=1) == np.asarray(gold_l)).sum()
    )  # argmax picks the first tie, as StaICC
    return DatasetResult(
        dataset=dataset,
        staicc_name=staicc_name,
        label_space=tuple(label_space),
        gold=tuple(gold_l),
        label_logprobs=tuple(tuple(float(x) for x in r) for r in rows),
        accuracy=acc,
        accuracy_ci=wilson(correct, len(gold_l)),
        macro_f1=float(functional.macro_F1(gold_l, rows)),
        macro_f1_ci=_bootstrap_ci(functional.macro_F1, gold_l, logits, resamples, seed),
        ece=float(functional.expected_calibration_error_1(gold_l, rows)),
        ece_ci=_bootstrap_ci(functional.expected_calibration_error_1, gold_l, logits, resamples, seed),
        seconds=seconds,
        stopped=stopped,
    )


def run_benchmark(
    runner: ModelRunner,
    config: BenchmarkConfig,
    *,
    progress: ProgressFn | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> BenchmarkResult:
    """Runs StaICC's Normal protocol on `config.datasets` with the direct scorer.

    Stopping (``should_stop`` true between chunks of `CHUNK` prompts) keeps the prompts scored so
    far, marked ``stopped``; the data sets not reached are left out.
    """
    staicc = _safe_staicc()
    loaders = staicc.util.hgf_dataset_loader
    results: list[DatasetResult] = []
    for d_i, name in enumerate(config.datasets):
        loader = getattr(loaders, STAICC_LOADERS[name])
        if progress is not None:
            progress(d_i / len(config.datasets), f"{name}: building StaICC's experiment")
        with _quiet():
            bench = staicc.Normal(k=config.k, datasets=[loader])
        experiment = bench[0]
        prompts, gold = staicc_prompts(experiment, config.limit)
        labels = list(experiment.get_label_space())
        t0 = time.perf_counter()
        parts: list[np.ndarray] = []
        stopped = False
        for start in range(0, len(prompts), CHUNK):
            if should_stop is not None and should_stop():
                stopped = True
                break
            parts.append(score_label_words(runner, prompts[start : start + CHUNK], labels))
            if progress is not None:
                done = (d_i + min(start + CHUNK, len(prompts)) / len(prompts)) / len(config.datasets)
                progress(done, f"{name}: {min(start + CHUNK, len(prompts))} / {len(prompts)} prompts")
        seconds = time.perf_counter() - t0
        if parts:
            logits = np.concatenate(parts)
            results.append(
                dataset_result(
                    name,
                    str(experiment.triplet_dataset.test.dataset_name),
                    labels,
                    gold[: len(logits)],
                    logits,
                    seconds=seconds,
                    resamples=config.resamples,
                    seed=config.seed,
                    stopped=stopped,
                )
            )
        if stopped:
            break
    if progress is not None:
        progress(1.0, "done")
    return BenchmarkResult(config=config, model=runner.info.name, results=tuple(results))


class _quiet:
    """Silences StaICC's progress prints (it writes to stdout, where the CLI's JSON goes)."""

    def __enter__(self) -> None:
        import contextlib
        import io
        import sys

        self._ctx = contextlib.redirect_stdout(io.StringIO()) if sys.stdout is not None else None
        if self._ctx is not None:
            self._ctx.__enter__()

    def __exit__(self, *exc: object) -> None:
        if self._ctx is not None:
            self._ctx.__exit__(None, None, None)
