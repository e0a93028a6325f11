"""engine.model.cost: the operation count of a forward pass, shared prefixes, and what score_prompt asks."""

from __future__ import annotations

import pytest

from engine.model import cost
from engine.model.cost import CostEstimate, estimate_seconds, forward_flops, spans_flops
from engine.model.fake import FakeRunner
from engine.model.hf_runner import ModelInfo, SpanRequest
from engine.prompting.prompts import Demo, PromptFormat
from engine.scoring import scorers as scoring

INFO = ModelInfo(
    "m",
    n_layers=30,
    n_heads=9,
    d_model=576,
    d_vocab=49152,
    n_ctx=8192,
    device="cpu",
    dtype="float32",
    source="m",
)


def test_forward_flops_counts_weights_logits_and_attention() -> None:
    # 100 new tokens after 300 cached ones: weights and logits per new token, attention to all 400 keys
    assert forward_flops(INFO, 100, 300) == pytest.approx(
        2.0 * (12 * 30 * 576**2 + 49152 * 576) * 100 + 4 * 30 * 576 * 100 * 400
    )
    per_token = 2.0 * (12 * 30 * 576**2 + 49152 * 576)
    assert forward_flops(INFO, 1) == pytest.approx(per_token + 4 * 30 * 576 * 1)


def test_attention_makes_long_prompts_superlinear() -> None:
    # measured on SmolLM2-135M (loaded 2-core machine): 1,134 tokens 47.6 s, 4,467 tokens 338 s
    ratio = forward_flops(INFO, 4467) / forward_flops(INFO, 1134)
    assert 6.0 < ratio < 7.5  # 4467 / 1134 = 3.9 for the linear part alone


def test_shared_prefix_is_paid_once() -> None:
    common = tuple(range(2, 1002))
    a = SpanRequest((*common, 5), 1000, block=0)
    b = SpanRequest((*common, 6), 1000, block=0)
    shared = spans_flops(INFO, [a, b])
    apart = spans_flops(INFO, [SpanRequest(a.ids, 1000), SpanRequest(b.ids, 1000)])
    assert shared == pytest.approx(forward_flops(INFO, 1000) + 2 * forward_flops(INFO, 1, 1000))
    assert apart == pytest.approx(2 * forward_flops(INFO, 1001))
    assert shared < 0.51 * apart


def test_estimate_divides_by_the_speed_and_asks_above_the_threshold() -> None:
    req = [SpanRequest(tuple(range(2, 5002)), 4999)]
    est = estimate_seconds(INFO, req, flops_per_s=1e10)
    assert est.n_tokens == 5000 and est.n_passes == 1
    assert est.seconds == pytest.approx(forward_flops(INFO, 5000) / 1e10)
    assert est.ask_first
    assert not CostEstimate(10, 1, 1.0, cost.ASK_ABOVE_S - 1).ask_first


def _runner() -> FakeRunner:
    return FakeRunner(
        ["good", "bad", "fine", "film", "Review", ":", "Sentiment", "positive", "negative", "\n"]
    )


def test_prompt_requests_are_what_score_prompt_sends(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = _runner()
    fmt = PromptFormat("Review: {text}\nSentiment: {label}", "")
    demos = [Demo("good film", "positive"), Demo("bad film", "negative")]
    words = {"positive": "positive", "negative": "negative"}
    sent: list[list[SpanRequest]] = []
    real = scoring.spans

    def spy(r, reqs, **kw):  # type: ignore[no-untyped-def]
        sent.append(list(reqs))
        return real(r, reqs, **kw)

    monkeypatch.setattr(scoring, "spans", spy)
    for scorer, calibration in [
        ("direct", "none"),
        ("ppl", "none"),
        ("channel", "none"),
        ("direct", "contextual"),
    ]:
        sent.clear()
        scoring.score_prompt(runner, fmt, demos, "fine film", words, scorer=scorer, calibration=calibration)
        planned = scoring.prompt_requests(runner, fmt, demos, "fine film", words, scorer, calibration)
        assert sent == [planned], (scorer, calibration)


def test_measured_speed_is_positive() -> None:
    assert cost.measure_flops_per_s(_runner(), n_tokens=16) > 0
