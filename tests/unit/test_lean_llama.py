"""The lean Llama (fast start) computes what transformers' LlamaForCausalLM computes, on a tiny random model."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import pytest
import torch

from engine.model.hf_runner import HFRunner, SpanRequest
from engine.model.lean_llama import lean_supported, load_lean_llama
from tests.unit.test_prefix_cache import _llama


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[HFRunner, Path]:
    hf = _llama(4096)
    folder = tmp_path_factory.mktemp("tiny-llama")
    hf.model.save_pretrained(str(folder))
    return hf, folder


def test_forward_with_padding_and_cache_equals_transformers(pair: tuple[HFRunner, Path]) -> None:
    from transformers import DynamicCache

    hf_runner, folder = pair
    hf, lean = hf_runner.model, load_lean_llama(folder)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 500, (3, 12), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0
    mask[2, 4:] = 0  # right padding, as the runner pads
    with torch.inference_mode():
        want = hf(input_ids=ids, attention_mask=mask, use_cache=False).logits
        got = lean(ids, mask).logits
        for row, n in enumerate((12, 9, 4)):
            torch.testing.assert_close(got[row, :n], want[row, :n], atol=1e-5, rtol=0)
        # a prefix pass, then rows of different lengths on copies of its cache
        c_hf, c_lean = DynamicCache(config=hf.config), lean.new_cache()
        hf.get_decoder()(input_ids=ids[:1, :7], past_key_values=c_hf, use_cache=True)
        lean.get_decoder()(input_ids=ids[:1, :7], past_key_values=c_lean, use_cache=True)
        assert c_lean.get_seq_length() == 7
        c_hf, c_lean = copy.deepcopy(c_hf), copy.deepcopy(c_lean)
        c_hf.batch_repeat_interleave(2)
        c_lean.batch_repeat_interleave(2)
        rows = ids[1:, :5]
        rmask = torch.ones((2, 12), dtype=torch.long)
        rmask[1, 10:] = 0
        want_h = hf.get_decoder()(
            input_ids=rows, attention_mask=rmask, past_key_values=c_hf, use_cache=True
        ).last_hidden_state
        got_h = lean.get_decoder()(
            input_ids=rows, attention_mask=rmask, past_key_values=c_lean, use_cache=True
        ).last_hidden_state
    torch.testing.assert_close(got_h[0], want_h[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(got_h[1, :3], want_h[1, :3], atol=1e-5, rtol=0)


def test_runner_starts_lean_and_switches_to_transformers_on_first_need(pair: tuple[HFRunner, Path]) -> None:
    hf_runner, folder = pair
    loads: list[int] = []

    def load() -> object:
        loads.append(1)
        return hf_runner.model

    runner = HFRunner(
        None,
        hf_runner.tokenizer,
        name="lean",
        source="test",
        device="cpu",
        lean=load_lean_llama(folder),
        load_model=load,
    )
    assert runner.info == dataclasses.replace(hf_runner.info, name="lean")
    reqs = [SpanRequest(tuple(range(10, 30)), 12), SpanRequest((*range(10, 26), 7, 8), 16)]
    got = runner.score_spans(reqs)
    plain = runner.score_spans(reqs, fast=False)
    assert not runner.model_loaded and loads == []
    want = hf_runner.score_spans(reqs, fast=False)
    for a, b, c in zip(got, plain, want, strict=True):
        assert a.token_logprobs == pytest.approx(c.token_logprobs, abs=1e-5)
        assert b.token_logprobs == pytest.approx(c.token_logprobs, abs=1e-5)
    assert runner.model is hf_runner.model and loads == [1] and runner.model_loaded
    assert runner.scoring_model is hf_runner.model
    runner.model  # noqa: B018 - loaded once
    assert loads == [1]


def test_lean_supported_only_for_plain_llama_checkpoints(pair: tuple[HFRunner, Path], tmp_path: Path) -> None:
    _, folder = pair
    assert lean_supported(folder)
    assert not lean_supported(tmp_path)  # no files
    cfg = json.loads((folder / "config.json").read_text())
    for change in (
        {"model_type": "gemma3_text"},
        {"attention_bias": True},
        {"rope_parameters": {"rope_type": "llama3"}},
    ):
        other = tmp_path / "other"
        other.mkdir(exist_ok=True)
        (other / "model.safetensors").write_bytes((folder / "model.safetensors").read_bytes())
        (other / "config.json").write_text(json.dumps({**cfg, **change}))
        assert not lean_supported(other), change
    with pytest.raises(ValueError, match="lean Llama"):
        load_lean_llama(tmp_path)


def test_shared_prefix_rows_equal_rows_on_copied_caches(pair: tuple[HFRunner, Path]) -> None:
    """Rows attending to one uncopied prefix cache equal the same rows on per-row cache copies."""
    _, folder = pair
    lean = load_lean_llama(folder)
    g = torch.Generator().manual_seed(3)
    prefix = torch.randint(5, 500, (1, 9), generator=g)
    rows = torch.randint(5, 500, (3, 4), generator=g)
    mask = torch.ones((3, 13), dtype=torch.long)
    mask[1, 11:] = 0
    mask[2, 10:] = 0
    dec = lean.get_decoder()
    with torch.inference_mode():
        cache = lean.new_cache()
        dec(input_ids=prefix, past_key_values=cache, use_cache=True)
        copied = copy.deepcopy(cache)
        copied.batch_repeat_interleave(3)
        want = dec(
            input_ids=rows, attention_mask=mask, past_key_values=copied, use_cache=True
        ).last_hidden_state
        got = dec(input_ids=rows, attention_mask=mask, shared_prefix=cache).last_hidden_state
        assert cache.get_seq_length() == 9  # the shared prefix is not modified
    for row, n in enumerate((4, 2, 1)):
        torch.testing.assert_close(got[row, :n], want[row, :n], atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="shared_prefix"):
        dec(input_ids=rows, past_key_values=copied, shared_prefix=cache)
