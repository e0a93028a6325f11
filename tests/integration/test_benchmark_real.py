"""StaICC's Normal protocol through the engine equals StaICC run with a plain transformers forward.

The plain forward function below uses only the HF model and tokenizer (no engine code): for each
prompt and label word, one full forward pass of prompt + label and the summed log-probs of the
label's tokens. It is handed to StaICC's own ``auto_run`` (so StaICC builds the prompts and
computes the metrics); the engine's run asks the same experiment objects for their prompts and
scores them with the shared-prefix fast path. Same prompts, same label words: same predictions.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.experiments.benchmark import BenchmarkConfig, _safe_staicc, run_benchmark, staicc_prompts
from engine.model.hf_runner import HFRunner

LIMIT = 24  # prompts of SST-2 (StaICC's first 24 test queries, first ask)


def _plain_forward(runner: HFRunner, prompt: str, label_space: list[str]) -> list[float]:
    tok = runner.tokenizer
    context = prompt.rstrip(" ")
    ctx = tok(context)["input_ids"]
    out = []
    for label in label_space:
        full = tok(context + " " + label)["input_ids"]
        assert full[: len(ctx)] == ctx, "the seam before the label word does not merge"
        with torch.inference_mode():
            logits = runner.model(input_ids=torch.tensor([full])).logits[0].double()
        lp = torch.log_softmax(logits, dim=-1)
        out.append(float(sum(lp[i - 1, full[i]] for i in range(len(ctx), len(full)))))
    return out


@pytest.fixture(scope="module")
def engine_result(runner: HFRunner):  # type: ignore[no-untyped-def]
    return run_benchmark(runner, BenchmarkConfig(datasets=("sst2",), limit=LIMIT, resamples=200))


def test_engine_equals_staicc_with_plain_forward(runner: HFRunner, engine_result) -> None:  # type: ignore[no-untyped-def]
    staicc = _safe_staicc()
    bench = staicc.Normal(k=4, datasets=[staicc.util.hgf_dataset_loader.glue_sst2])
    exp = bench[0]
    prompts, gold = staicc_prompts(exp, LIMIT)
    plain = np.array([_plain_forward(runner, p, list(exp.get_label_space())) for p in prompts])
    # StaICC's own metrics over the plain forward's predictions for the same prompts
    from StaICC.util import functional

    plain_acc = functional.accuracy(gold, plain.tolist())
    res = engine_result.results[0]
    assert res.n == LIMIT and list(res.gold) == gold
    np.testing.assert_allclose(np.array(res.label_logprobs), plain, atol=2e-3)
    assert (np.argmax(res.label_logprobs, axis=1) == np.argmax(plain, axis=1)).all()
    assert res.accuracy == pytest.approx(plain_acc)
    assert res.macro_f1 == pytest.approx(functional.macro_F1(gold, plain.tolist()), abs=1e-9)
    lo, hi = res.accuracy_ci
    assert lo < res.accuracy < hi


def test_metrics_equal_staicc_auto_run(engine_result) -> None:  # type: ignore[no-untyped-def]
    """StaICC's auto_run, given the engine's predictions for its whole first ask, computes our numbers."""
    res = engine_result.results[0]
    from StaICC.util import functional

    rows = [list(r) for r in res.label_logprobs]
    assert res.accuracy == pytest.approx(functional.accuracy(list(res.gold), rows))
    assert res.ece == pytest.approx(functional.expected_calibration_error_1(list(res.gold), rows))
    assert res.macro_f1_ci[0] <= res.macro_f1 <= res.macro_f1_ci[1]
