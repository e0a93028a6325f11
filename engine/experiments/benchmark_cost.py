"""What a StaICC benchmark run will cost before it runs (issue 14, with issue 22's estimator).

A run scores every label word after every prompt (`engine.experiments.benchmark`); its cost is
that of the span requests `score_label_words` sends, counted by `engine.model.cost.spans_flops`
(the labels of one prompt share one pass over the prompt). Tokenising all 1,024 prompts of ten
data sets only to count them would itself take a while, so the requests of the first `sample`
prompts of each data set (in StaICC's order) are counted and scaled to the data set's number of
prompts. Nothing here changes a result.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.experiments.benchmark import STAICC_LOADERS, _quiet, _safe_staicc, staicc_prompts
from engine.model.cost import CostEstimate, spans_flops
from engine.model.protocol import ModelRunner, SpanRequest

SAMPLE = 16  # prompts per data set whose requests are counted


@dataclass(frozen=True, slots=True)
class DatasetCost:
    """The expected cost of one data set's run.

    Attributes:
        dataset: the engine's data set name.
        n_prompts: prompts the run scores.
        n_labels: label words scored after each prompt.
        n_tokens: the longest sampled prompt with its label, in tokens.
        flops: operations for all `n_prompts` (scaled from the sample).
    """

    dataset: str
    n_prompts: int
    n_labels: int
    n_tokens: int
    flops: float


def dataset_cost(
    runner: ModelRunner, dataset: str, k: int, limit: int | None, sample: int = SAMPLE
) -> DatasetCost:
    """The cost of running `dataset` with `k` demonstrations and at most `limit` prompts."""
    staicc = _safe_staicc()
    loader = getattr(staicc.util.hgf_dataset_loader, STAICC_LOADERS[dataset])
    with _quiet():
        experiment = staicc.Normal(k=k, datasets=[loader])[0]
    n_all = int(experiment.get_repeat_times()) * len(experiment.triplet_dataset.test)
    n_prompts = n_all if limit is None else min(limit, n_all)
    prompts, _ = staicc_prompts(experiment, min(sample, n_prompts))
    labels = list(experiment.get_label_space())
    reqs: list[SpanRequest] = []
    for p_i, prompt in enumerate(prompts):
        for label in labels:
            split = runner.split(prompt, label)
            reqs.append(SpanRequest(split.ids, split.n_context, block=p_i))
    sampled = spans_flops(runner.info, reqs)
    n_tokens = max((len(r.ids) for r in reqs), default=0)
    return DatasetCost(dataset, n_prompts, len(labels), n_tokens, sampled * n_prompts / max(len(prompts), 1))


def benchmark_estimate(costs: list[DatasetCost], flops_per_s: float) -> CostEstimate:
    """The whole run's estimate from its data sets' costs at the measured speed."""
    flops = sum(c.flops for c in costs)
    return CostEstimate(
        n_tokens=max((c.n_tokens for c in costs), default=0),
        n_passes=sum(c.n_prompts * c.n_labels for c in costs),
        flops=flops,
        seconds=flops / max(flops_per_s, 1.0),
    )
