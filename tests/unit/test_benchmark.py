"""The StaICC benchmark wrapper: safe loading, StaICC's prompt order, stop, intervals, config checks.

Runs StaICC's real experiment objects (its bundled SST-2 table) with a fake model whose label
scores are chosen here, so the metrics can be checked against hand counts.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from engine.core.errors import ConfigError
from engine.experiments.benchmark import (
    BenchmarkConfig,
    _safe_staicc,
    dataset_result,
    run_benchmark,
    staicc_prompts,
)
from engine.model.fake import FakeRunner


def test_staicc_loaders_use_the_restricted_unpickler() -> None:
    staicc = _safe_staicc()
    evil = pickle.dumps(pickle.loads)  # a global: a function reference
    with pytest.raises(pickle.UnpicklingError, match="refusing to load global"):
        staicc.util.hgf_dataset_loader.pickle.loads(evil)


@pytest.fixture(scope="module")
def sst2_experiment():  # type: ignore[no-untyped-def]
    staicc = _safe_staicc()
    return staicc.Normal(k=4, datasets=[staicc.util.hgf_dataset_loader.glue_sst2])[0]


def test_prompts_in_staiccs_own_order(sst2_experiment) -> None:  # type: ignore[no-untyped-def]
    seen: list[str] = []

    def forward(prompt: list[str], label_space: list[str]) -> list[list[float]]:
        seen.extend(prompt)
        return [[0.0, 1.0] for _ in prompt]

    sst2_experiment.auto_run(forward_inference=forward, batched_inference=True)
    prompts, gold = staicc_prompts(sst2_experiment, None)
    assert prompts == seen and len(prompts) == 1024 and set(gold) == {0, 1}
    assert staicc_prompts(sst2_experiment, 10) == (prompts[:10], gold[:10])


def test_metrics_and_intervals_by_hand() -> None:
    gold = [0, 1] * 50
    logits = np.array(
        [[0.0, -1.0] if i < 80 else [-1.0, 0.0] for i in range(100)]
    )  # predicts 0 for the first 80
    res = dataset_result("sst2", "GLUE-SST2-test", ["negative", "positive"], gold, logits,
                         seconds=1.0, resamples=200, seed=0)  # fmt: skip
    # first 80: 40 right (gold 0); last 20: 10 right (gold 1)
    assert res.accuracy == pytest.approx(0.5) and res.n == 100
    lo, hi = res.accuracy_ci
    assert lo == pytest.approx(0.4038, abs=1e-3) and hi == pytest.approx(0.5962, abs=1e-3)  # Wilson, 50 / 100
    assert res.macro_f1_ci[0] < res.macro_f1 < res.macro_f1_ci[1]
    again = dataset_result("sst2", "x", ["n", "p"], gold, logits, seconds=1.0, resamples=200, seed=0)
    assert again.macro_f1_ci == res.macro_f1_ci  # seeded


def _label_runner() -> FakeRunner:
    """Scores ' positive' above ' negative' everywhere (a fake model that always says positive)."""
    vocab = ["sentiment:", " positive", " negative", "positive", "negative"]
    runner = FakeRunner(vocab)
    pos = runner.id_of(" positive")

    def logits(ids: object) -> np.ndarray:
        out = np.zeros(len(runner.vocab))
        out[pos] = 2.0
        return out

    runner.logits_fn = logits
    return runner


def test_run_with_fake_model_and_stop() -> None:
    runner = _label_runner()
    res = run_benchmark(runner, BenchmarkConfig(datasets=("sst2",), limit=40, resamples=100))
    r = res.results[0]
    assert r.n == 40 and not r.stopped
    assert r.accuracy == pytest.approx(sum(r.gold) / 40)  # always "positive": right exactly on the positives
    calls = iter([False, True])
    stopped = run_benchmark(runner, BenchmarkConfig(datasets=("sst2", "mr"), limit=40, resamples=100),
                            should_stop=lambda: next(calls))  # fmt: skip
    assert len(stopped.results) == 1 and stopped.results[0].stopped and stopped.results[0].n == 32


def test_config_checks() -> None:
    with pytest.raises(ConfigError, match="Known: sst2"):
        BenchmarkConfig(datasets=("imdb",))
    with pytest.raises(ConfigError):
        BenchmarkConfig(limit=0)
    assert BenchmarkConfig().standard and not BenchmarkConfig(k=2).standard
