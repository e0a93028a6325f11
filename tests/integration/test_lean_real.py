"""The default model starts on the lean path, and its scores equal a plain `transformers` computation.

`load_runner` runs SmolLM2 through `engine.model.lean_llama` until a feature needs the full
transformers model (see `HFRunner.model`). This loads a fresh runner (not the shared fixture,
which other tests switch to the full model), scores real prompts on the lean path, and checks
them against `AutoModelForCausalLM` loaded here from the same weights, one full forward per text.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.model.hf_runner import HFRunner, ScoreRequest, SpanRequest

PROMPT = (
    "Classify the sentiment of each review.\n\nReview: a gorgeous, witty, seductive movie.\n"
    "Sentiment: positive\n\nReview: the plot is nothing but boilerplate clichés\nSentiment: negative"
    "\n\nReview: it's a charming and often affecting journey.\nSentiment:"
)


def test_lean_start_scores_equal_transformers() -> None:
    from transformers import AutoModelForCausalLM

    from engine.model.registry import load_runner, resolve, weight_cache_path

    runner = load_runner("smollm2-135m", device="cpu")
    assert not runner.model_loaded, "the default model should start on the lean path"
    got = runner.score([ScoreRequest(PROMPT, " positive"), ScoreRequest(PROMPT, " negative")])
    nxt = runner.next_token_logprobs([PROMPT])[0]
    assert not runner.model_loaded

    ref = AutoModelForCausalLM.from_pretrained(
        str(weight_cache_path(resolve("smollm2-135m").path)), attn_implementation="eager", dtype="float32"
    ).eval()
    tok = runner.tokenizer
    ctx = tok(PROMPT)["input_ids"]
    for res, word in zip(got, (" positive", " negative"), strict=True):
        full = tok(PROMPT + word)["input_ids"]
        assert full[: len(ctx)] == ctx
        with torch.inference_mode():
            lp = torch.log_softmax(ref(input_ids=torch.tensor([full])).logits[0].double(), dim=-1)
        want = float(sum(lp[i - 1, full[i]] for i in range(len(ctx), len(full))))
        assert res.logprob == pytest.approx(want, abs=1e-4)
    with torch.inference_mode():
        last = torch.log_softmax(ref(input_ids=torch.tensor([ctx])).logits[0, -1].double(), dim=-1).numpy()
    np.testing.assert_allclose(nxt, last[: len(nxt)], atol=1e-4)

    # the first feature that needs the full model loads it; scores stay the same
    assert runner.model is not None and runner.model_loaded
    again = runner.score_spans(_spans(runner), fast=False)
    assert [round(sum(s.token_logprobs), 4) for s in again] == pytest.approx(
        [r.logprob for r in got], abs=1e-4
    )


def _spans(runner: HFRunner) -> list[SpanRequest]:
    out = []
    for word in (" positive", " negative"):
        sp = runner.split(PROMPT, word)
        out.append(SpanRequest(sp.ids, sp.n_context))
    return out
