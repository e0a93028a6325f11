"""Head ablation on a tiny random-init Llama: equals editing a copy of the weights, never mutates."""

from __future__ import annotations

import copy
import threading
from typing import Any

import numpy as np
import pytest
import torch

from engine.core.errors import ConfigError
from engine.interp.ablation import (
    ablate_heads,
    head_dim,
    mean_head_outputs,
    normalize_heads,
    random_heads,
    top_n_heads,
)
from engine.model.hf_runner import HFRunner
from tests.unit.test_heads_model import tiny_llama

TEXTS = ["the movie was great fun", "a dull and tedious film", "hello there"]


@pytest.fixture(scope="module")
def tiny() -> HFRunner:
    return tiny_llama(seed=2)


def _logits(model: torch.nn.Module, runner: HFRunner, text: str) -> torch.Tensor:
    ids = torch.tensor([runner.encode(text)])
    with torch.no_grad():
        return model(input_ids=ids).logits[0]


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_zero_ablation_equals_zeroing_the_heads_columns_of_o_proj(tiny: HFRunner) -> None:
    heads = [(0, 1), (1, 3), (1, 0)]
    d_head = head_dim(tiny)
    edited = copy.deepcopy(tiny.model)
    with torch.no_grad():
        for layer, head in heads:
            edited.model.layers[layer].self_attn.o_proj.weight[:, head * d_head : (head + 1) * d_head] = 0
    for text in TEXTS:
        with ablate_heads(tiny, heads, "zero") as chosen:
            got = _logits(tiny.model, tiny, text)
        assert chosen == ((0, 1), (1, 0), (1, 3))
        torch.testing.assert_close(got, _logits(edited, tiny, text), atol=1e-5, rtol=1e-5)
        # and it does change the output
        assert not torch.allclose(got, _logits(tiny.model, tiny, text), atol=1e-4)


def test_mean_ablation_equals_a_constant_bias_in_place_of_the_head(tiny: HFRunner) -> None:
    means = mean_head_outputs(tiny, TEXTS)
    d_head = head_dim(tiny)
    heads = [(0, 2), (1, 1)]
    edited = copy.deepcopy(tiny.model)
    with torch.no_grad():
        for layer, head in heads:
            attn = edited.model.layers[layer].self_attn
            old = attn.o_proj
            cols = slice(head * d_head, (head + 1) * d_head)
            new = torch.nn.Linear(old.in_features, old.out_features, bias=True)
            new.weight.copy_(old.weight)
            new.bias.copy_(old.weight[:, cols] @ torch.as_tensor(means[layer, head]))
            new.weight[:, cols] = 0
            attn.o_proj = new
    with ablate_heads(tiny, ["L0H2", "L1H1"], "mean", means=means):
        got = _logits(tiny.model, tiny, TEXTS[0])
    torch.testing.assert_close(got, _logits(edited, tiny, TEXTS[0]), atol=1e-5, rtol=1e-5)
    # mean ablation with all-zero means is zero ablation
    with ablate_heads(tiny, heads, "mean", means=np.zeros_like(means)):
        a = _logits(tiny.model, tiny, TEXTS[1])
    with ablate_heads(tiny, heads, "zero"):
        b = _logits(tiny.model, tiny, TEXTS[1])
    torch.testing.assert_close(a, b)


def test_mean_head_outputs_match_a_plain_capture_and_ignore_padding(tiny: HFRunner) -> None:
    captured: list[torch.Tensor] = [[] for _ in range(2)]  # type: ignore[misc]
    handles = [
        tiny.model.model.layers[i].self_attn.o_proj.register_forward_hook(
            lambda m, args, out, i=i: captured[i].append(args[0][0].detach())  # type: ignore[attr-defined]
        )
        for i in range(2)
    ]
    try:
        for text in TEXTS:
            _logits(tiny.model, tiny, text)
    finally:
        for h in handles:
            h.remove()
    d_head = head_dim(tiny)
    expected = np.stack([torch.cat(c).mean(0).reshape(4, d_head).numpy() for c in captured])  # type: ignore[arg-type]
    np.testing.assert_allclose(mean_head_outputs(tiny, TEXTS, batch_size=3), expected, atol=1e-5)
    np.testing.assert_allclose(mean_head_outputs(tiny, TEXTS, batch_size=1), expected, atol=1e-5)
    with pytest.raises(ConfigError, match="non-empty"):
        mean_head_outputs(tiny, ["", ""])


def test_hooks_are_removed_and_weights_untouched_even_when_the_block_raises(tiny: HFRunner) -> None:
    before = _state(tiny.model)
    ref = _logits(tiny.model, tiny, TEXTS[0])
    with pytest.raises(RuntimeError, match="boom"), ablate_heads(tiny, [(0, 0), (1, 2)]):
        _logits(tiny.model, tiny, TEXTS[0])
        raise RuntimeError("boom")
    for layer in tiny.model.model.layers:
        assert len(layer.self_attn.o_proj._forward_pre_hooks) == 0
    after = _state(tiny.model)
    assert all(torch.equal(before[k], after[k]) for k in before)
    torch.testing.assert_close(_logits(tiny.model, tiny, TEXTS[0]), ref, atol=0, rtol=0)


def test_runner_scores_through_the_hooks_and_the_lock_is_held(tiny: HFRunner) -> None:
    from engine.model.hf_runner import ScoreRequest

    req = [ScoreRequest("the movie was", " great")]
    plain = tiny.score(req)[0].logprob
    acquired: list[bool] = []

    def other_thread() -> None:
        ok = tiny.lock.acquire(blocking=False)
        acquired.append(ok)
        if ok:
            tiny.lock.release()

    with ablate_heads(tiny, [(0, 0), (0, 1), (0, 2), (0, 3)]):
        ablated = tiny.score(req)[0].logprob  # the same thread re-enters the RLock
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
    assert acquired == [False]
    assert ablated != pytest.approx(plain, abs=1e-6)
    assert tiny.score(req)[0].logprob == pytest.approx(plain, abs=1e-6)


def test_bad_arguments_raise_config_errors(tiny: HFRunner) -> None:
    with pytest.raises(ConfigError, match="Known: zero, mean"), ablate_heads(tiny, [(0, 0)], "half"):  # type: ignore[arg-type]
        pass
    with pytest.raises(ConfigError, match="mean_head_outputs"), ablate_heads(tiny, [(0, 0)], "mean"):
        pass
    with (
        pytest.raises(ConfigError, match="expected"),
        ablate_heads(tiny, [(0, 0)], "mean", means=np.zeros((2, 4, 3))),
    ):
        pass
    with pytest.raises(ConfigError, match="does not exist"), ablate_heads(tiny, [(2, 0)]):
        pass
    with pytest.raises(ConfigError, match="L<layer>H<head>"), ablate_heads(tiny, ["layer 0 head 0"]):
        pass


def test_head_set_helpers() -> None:
    assert normalize_heads(["L1H0", (0, 3), "l1h0"], 2, 4) == ((0, 3), (1, 0))
    scores = np.array([[0.1, 0.7, 0.2], [0.9, 0.0, 0.3]])
    assert top_n_heads(scores, 2) == ((1, 0), (0, 1))
    a = random_heads(2, 3, 3, np.random.default_rng(0), exclude=[(1, 0), (0, 1)])
    b = random_heads(2, 3, 3, np.random.default_rng(0), exclude=[(1, 0), (0, 1)])
    assert a == b and len(set(a)) == 3
    assert not {(1, 0), (0, 1)} & set(a)
    with pytest.raises(ConfigError, match="only 4 heads"):
        random_heads(2, 3, 5, np.random.default_rng(0), exclude=[(1, 0), (0, 1)])
    with pytest.raises(ConfigError):
        top_n_heads(scores, -1)


def test_span_cache_and_head_score_cache_are_bypassed_under_ablation(tiny: HFRunner) -> None:
    from engine.interp.heads import ProbeConfig, is_ablated, score_heads
    from engine.model.hf_runner import SpanRequest

    req = [SpanRequest(tuple(tiny.encode("the movie was great fun")), 3)]
    intact = tiny.score_spans(req)[0].token_logprobs  # now in the runner's span cache
    shared_cache = tiny.span_cache
    n_cached = len(shared_cache)
    cfg = ProbeConfig(seq_len=6, n_seqs=1, prefix_seq_len=3, seed=11)
    intact_ind = score_heads(tiny, ["induction"], cfg).scores["induction"]
    with ablate_heads(tiny, [(0, 0), (0, 1), (1, 2)]):
        assert is_ablated(tiny.model)
        ablated = tiny.score_spans(req)[0].token_logprobs
        again = tiny.score_spans(req)[0].token_logprobs
        ablated_ind = score_heads(tiny, ["induction"], cfg).scores["induction"]
    assert not is_ablated(tiny.model)
    assert ablated == pytest.approx(again)
    assert ablated != pytest.approx(intact, abs=1e-6)
    assert tiny.span_cache is shared_cache and len(shared_cache) == n_cached
    assert tiny.score_spans(req)[0].token_logprobs == pytest.approx(intact, abs=1e-6)
    # layer 1 attention changes when a layer-0 head is ablated; the cache still has the intact scores
    assert not np.allclose(ablated_ind[1], intact_ind[1])
    np.testing.assert_allclose(score_heads(tiny, ["induction"], cfg).scores["induction"], intact_ind)


def _toy_task() -> tuple[list[Any], list[Any], Any]:
    from engine.data.datasets import Example
    from engine.evaluation.run import EvalConfig
    from engine.prompting.prompts import PromptFormat

    texts = ["a great movie", "a bad movie", "great fun", "bad and dull", "really great", "very bad"]
    pool = [Example(t, "pos" if "great" in t else "neg", i) for i, t in enumerate(texts)]
    queries = [Example("great acting", "pos", 10), Example("bad plot", "neg", 11), Example("fun", "pos", 12)]
    cfg = EvalConfig(
        fmt=PromptFormat("Review: {text}\nSentiment: {label}"),
        label_words=(("pos", "good"), ("neg", "terrible")),
        k=2,
        seed=0,
    )
    return pool, queries, cfg


def test_ablation_experiment_matches_manual_runs_and_leaves_the_model_intact(tiny: HFRunner) -> None:
    from engine.evaluation.run import evaluate
    from engine.experiments.ablation import AblationConfig, ablation_experiment
    from engine.interp.ablation import HeadSet

    pool, queries, cfg = _toy_task()
    layer0 = HeadSet("layer 0", ((0, 0), (0, 1), (0, 2), (0, 3)))
    single = HeadSet("L1H2", ((1, 2),))
    seen: list[float] = []
    res = ablation_experiment(
        tiny, pool, queries, cfg, AblationConfig((layer0, single)), progress=lambda f, m: seen.append(f)
    )
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)
    plain = evaluate(tiny, pool, queries, cfg)
    with ablate_heads(tiny, layer0.heads):
        manual = evaluate(tiny, pool, queries, cfg)
    for a, b in zip(res.baseline.queries, plain.queries, strict=True):
        assert a.probs == pytest.approx(b.probs, abs=1e-5)
        assert a.demo_ids == b.demo_ids
    for a, b in zip(res.runs[0].result.queries, manual.queries, strict=True):
        assert a.probs == pytest.approx(b.probs, abs=1e-5)
    assert any(
        a.probs != pytest.approx(b.probs, abs=1e-4)
        for a, b in zip(res.runs[0].result.queries, plain.queries, strict=True)
    )
    rows = res.summary()
    assert [r["condition"] for r in rows] == ["no ablation", "layer 0", "L1H2"]
    assert rows[1]["heads"] == "L0H0 L0H1 L0H2 L0H3" and rows[1]["n_heads"] == 4
    assert rows[1]["accuracy_drop"] == pytest.approx(rows[0]["accuracy"] - rows[1]["accuracy"])
    probs = res.label_probs()
    assert len(probs) == 3 * 3 * 2
    for cond in ("no ablation", "layer 0", "L1H2"):
        for q in range(3):
            total = sum(r["prob"] for r in probs if r["condition"] == cond and r["query"] == q)
            assert total == pytest.approx(1.0, abs=1e-5)


def test_ablation_experiment_mean_mode_and_config_validation(tiny: HFRunner) -> None:
    from engine.experiments.ablation import AblationConfig, ablation_experiment
    from engine.interp.ablation import HeadSet

    pool, queries, cfg = _toy_task()
    res = ablation_experiment(tiny, pool, queries, cfg, AblationConfig((HeadSet("h", ((0, 1),)),), "mean", 2))
    assert len(res.runs) == 1 and res.runs[0].result.metrics.n == 3
    with pytest.raises(ConfigError, match="at least one set"):
        AblationConfig(())
    with pytest.raises(ConfigError, match="empty"):
        AblationConfig((HeadSet("none", ()),))
    with pytest.raises(ConfigError, match="Known: zero, mean"):
        AblationConfig((HeadSet("h", ((0, 1),)),), "half")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="does not exist"):
        ablation_experiment(tiny, pool, queries, cfg, AblationConfig((HeadSet("bad", ((9, 0),)),)))
