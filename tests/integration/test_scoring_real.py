"""Real-model scores equal a plain, independent `transformers` computation written here.

The reference below uses only the HF model and tokenizer (no engine code): one full forward
pass per text, log-softmax, and for perplexity OpenICL's PPLInferencer formula verbatim in
spirit (summed token cross-entropy of tokens 1..n-1 divided by the number of tokens n).
The engine's numbers come from its shared-prefix fast path, so this also checks that cached
prefixes give the same scores as no cache at all.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.data.datasets import load_dataset, split_dataset
from engine.evaluation.run import DemoMode, EvalConfig, evaluate
from engine.model.hf_runner import HFRunner
from engine.prompting.prompts import Demo, PromptFormat
from engine.scoring.scorers import ScoringConfig, score_prompt

FMT = PromptFormat("Review: {text}\nSentiment: {label}", "Classify the sentiment of each review.", "\n\n")
WORDS = {"negative": "negative", "positive": "positive"}
DEMOS = [
    Demo("a gorgeous, witty, seductive movie.", "positive"),
    Demo("the plot is nothing but boilerplate clichés", "negative"),
    Demo("an exhilarating experience", "positive"),
]
QUERIES = ["it's a charming and often affecting journey.", "unflinchingly bleak and desperate", "meh"]
ATOL = 1e-4


def _logprobs(runner: HFRunner, ids: list[int]) -> torch.Tensor:
    """`[pos, d_vocab]` log-probs of one unpadded full forward pass.

    The log-softmax runs in float64: fp32 `log_softmax` over a 49k vocabulary is off by up to
    3e-5 per token, which summed over a channel score's text exceeds the 1e-4 tolerance; the
    engine's fp32 logit-minus-logsumexp is within 4e-6 of this float64 value.
    """
    with torch.inference_mode():
        logits = runner.model(input_ids=torch.tensor([ids])).logits[0].double()
    return torch.log_softmax(logits, dim=-1)


def _continuation_logprob(runner: HFRunner, context: str, continuation: str) -> float:
    """log P(continuation | context): context tokens must be a prefix of the full text's tokens."""
    tok = runner.tokenizer
    full = tok(context + continuation)["input_ids"]
    ctx = tok(context)["input_ids"]
    assert full[: len(ctx)] == ctx, "test prompts are chosen so the seam does not merge"
    lp = _logprobs(runner, full)
    return float(sum(lp[i - 1, full[i]] for i in range(len(ctx), len(full))))


def _openicl_ppl(runner: HFRunner, text: str) -> float:
    """OpenICL PPLInferencer: CE over shifted labels, summed, / number of non-pad tokens."""
    tok = runner.tokenizer
    ids = torch.tensor([tok(text)["input_ids"]])
    with torch.inference_mode():
        logits = runner.model(input_ids=ids).logits.double()
    shift_logits = logits[..., :-1, :]
    shift_labels = ids[..., 1:]
    loss = torch.nn.functional.cross_entropy(
        shift_logits.reshape(-1, shift_logits.size(-1)), shift_labels.reshape(-1), reduction="none"
    )
    return float(loss.sum() / ids.shape[1])


@pytest.mark.parametrize("query", QUERIES)
def test_direct_equals_plain_transformers(runner: HFRunner, query: str) -> None:
    res = score_prompt(runner, FMT, DEMOS, query, WORDS, "direct")
    prompt = res.prompt.text
    assert prompt.endswith(f"Review: {query}\nSentiment: ")
    for s in res.label_scores:
        expected = _continuation_logprob(runner, prompt.rstrip(" "), " " + s.word)
        assert s.score == pytest.approx(expected, abs=ATOL)
        assert s.text == prompt + s.word
    expected_top = _logprobs(runner, runner.tokenizer(prompt.rstrip(" "))["input_ids"])[-1]
    assert res.top_next[0].token_id == int(expected_top.argmax())
    assert res.top_next[0].logprob == pytest.approx(float(expected_top.max()), abs=ATOL)


@pytest.mark.parametrize("query", QUERIES[:2])
def test_ppl_equals_openicl_formula(runner: HFRunner, query: str) -> None:
    res = score_prompt(runner, FMT, DEMOS, query, WORDS, "ppl")
    expected = {s.label: _openicl_ppl(runner, res.prompt.text + s.word) for s in res.label_scores}
    for s in res.label_scores:
        assert s.score == pytest.approx(expected[s.label], abs=ATOL)
    assert res.pred == min(expected, key=lambda k: expected[k])  # lowest perplexity wins


@pytest.mark.parametrize("query", QUERIES[:2])
def test_channel_equals_plain_transformers(runner: HFRunner, query: str) -> None:
    res = score_prompt(runner, FMT, DEMOS, query, WORDS, "channel")
    for s in res.label_scores:
        head = (
            "Classify the sentiment of each review.\n\n"
            "Sentiment: positive\nReview: a gorgeous, witty, seductive movie.\n\n"
            "Sentiment: negative\nReview: the plot is nothing but boilerplate clichés\n\n"
            "Sentiment: positive\nReview: an exhilarating experience\n\n"
            f"Sentiment: {s.word}\nReview:"
        )
        assert s.text == head + " " + query
        assert s.score == pytest.approx(_continuation_logprob(runner, head, " " + query), abs=ATOL)


def test_cached_prefix_equals_uncached_on_sst2(runner: HFRunner) -> None:
    ds = load_dataset("sst2")
    split = split_dataset(ds, n_test=3, seed=0)
    fmt = PromptFormat(ds.template, ds.instruction)
    runs: list[tuple[DemoMode, str]] = [
        ("shared", "direct"),
        ("shared", "ppl"),
        ("shared", "channel"),
        ("per-query", "direct"),
        ("per-query", "ppl"),
    ]
    for demos, scorer in runs:
        cfg = EvalConfig(
            fmt,
            tuple(ds.label_word_map().items()),
            k=2,
            scoring=ScoringConfig(scorer),
            demos=demos,
            seed=1,
        )
        runner.span_cache.clear()
        fast = evaluate(runner, split.pool, split.test, cfg)
        plain = evaluate(runner, split.pool, split.test, cfg, fast=False)
        assert fast.tokens_processed < plain.tokens_processed
        assert [q.pred for q in fast.queries] == [q.pred for q in plain.queries]
        for a, b in zip(fast.queries, plain.queries, strict=True):
            assert a.prompts == b.prompts
            for sa, sb in zip(a.label_scores, b.label_scores, strict=True):
                np.testing.assert_allclose(sa.token_logprobs, sb.token_logprobs, atol=ATOL)
