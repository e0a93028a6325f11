"""The StaICC benchmark's time estimate and its view's pure builders (fake model, StaICC's SST-2)."""

from __future__ import annotations

import numpy as np
import pytest

from components.benchmark_views import benchmark_csv, honesty_lines, interval_text, prompts_csv, protocol_text
from engine.experiments.benchmark import BenchmarkConfig, BenchmarkResult, dataset_result
from engine.experiments.benchmark_cost import benchmark_estimate, dataset_cost
from engine.model.fake import FakeRunner


def test_cost_counts_every_label_after_every_prompt_and_scales_with_the_prompts() -> None:
    runner = FakeRunner(["a", "b", " positive", " negative"])
    small = dataset_cost(runner, "sst2", 4, 16)
    full = dataset_cost(runner, "sst2", 4, None)
    assert (small.n_prompts, small.n_labels, full.n_prompts) == (16, 2, 1024)
    assert full.flops == pytest.approx(small.flops * 64)  # the same sampled prompts, scaled
    est = benchmark_estimate([small, full], flops_per_s=small.flops)
    assert est.n_passes == (16 + 1024) * 2 and est.seconds == pytest.approx(65.0)


def _result(acc_right: int, n: int, name: str = "sst2", limit: int | None = 16) -> BenchmarkResult:
    gold = [i % 2 for i in range(n)]
    logits = np.array(
        [[0.0, -1.0] if (g == 0) == (i < acc_right) else [-1.0, 0.0] for i, g in enumerate(gold)]
    )
    r = dataset_result(name, "x", ["negative", "positive"], gold, logits, seconds=1.0, resamples=100, seed=0)
    return BenchmarkResult(BenchmarkConfig(datasets=(name,), limit=limit, resamples=100), "fake", (r,))


def test_views_say_what_the_intervals_show() -> None:
    coin = _result(8, 16)  # 8 of 16 right: chance is inside the interval
    assert any("not distinguishable from guessing" in line for line in honesty_lines(coin.results))
    assert "cut-down" in protocol_text(coin) and "standard protocol:" in protocol_text(
        _result(8, 16, limit=None)
    )
    both = (coin.results[0], _result(8, 16, "mr").results[0])
    assert any("All the accuracy intervals overlap" in line for line in honesty_lines(both))
    assert interval_text(float("nan"), 1.0) == "–" and interval_text(0.25, 0.5) == "0.250 – 0.500"
    header = benchmark_csv(coin).decode().splitlines()[0]
    assert "accuracy_lo" in header and "ece_hi" in header and header.endswith("standard")
    assert len(prompts_csv(coin).decode().splitlines()) == 17
