"""Generation and ranking on the real SmolLM2-135M, checked against independent plain transformers code."""

from __future__ import annotations

import json
from typing import Any

import pytest
import torch

from engine.generation import DecodeConfig, HFStepModel, generate
from engine.ranking import Candidate, RankConfig, rank_responses

PROMPTS = [
    "The capital of France is",
    "English: cat\nFrench: chat\n\nEnglish: dog\nFrench:",
    "Question: What is 23 + 45?\nAnswer:",
]


@pytest.mark.parametrize("prompt", PROMPTS)
def test_greedy_equals_model_generate(runner: Any, prompt: str) -> None:
    n = 6
    res = generate(HFStepModel(runner), prompt, DecodeConfig(max_new_tokens=n, stop_at_eos=False))
    ids = runner.tokenizer(prompt, return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        out = runner.model.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            do_sample=False,
            num_beams=1,
            max_new_tokens=n,
            min_new_tokens=n,
            repetition_penalty=1.0,
            pad_token_id=runner.tokenizer.eos_token_id,
        )
    expected = out[0, ids.shape[1] :].tolist()
    assert [t.id for t in res.tokens] == expected
    assert res.text == runner.tokenizer.decode(expected)
    # the reported log-probs are the model's own: check them with one plain forward pass
    full = torch.cat([ids[0], torch.tensor(expected)])
    with torch.inference_mode():
        lp = torch.log_softmax(runner.model(full[None]).logits[0].double(), dim=-1)
    own = [float(lp[ids.shape[1] - 1 + i, t]) for i, t in enumerate(expected)]
    assert res.token_logprobs == pytest.approx(own, abs=1e-4)


def _plain_logprob(runner: Any, context: str, response: str) -> float:
    """log P(response | context) with an independent tokenization: context ids, then the rest."""
    tok = runner.tokenizer
    ctx_ids = tok(context)["input_ids"]
    full_ids = tok(context + response)["input_ids"]
    assert full_ids[: len(ctx_ids)] == ctx_ids  # no merge across the seam in these examples
    with torch.inference_mode():
        logits = runner.model(torch.tensor([full_ids])).logits[0].double()
    lp = torch.log_softmax(logits, dim=-1)
    return float(sum(lp[i - 1, full_ids[i]] for i in range(len(ctx_ids), len(full_ids))))


@pytest.mark.parametrize("chat", [True, False])
def test_ranking_scores_equal_a_plain_forward_pass(runner: Any, chat: bool) -> None:
    cfg = RankConfig(
        "What is the capital of France?",
        (
            Candidate("The capital of France is Paris.", True),
            Candidate("Paris.", True),
            Candidate("London.", False),
        ),
        demos=(("What is the capital of Italy?", "The capital of Italy is Rome."),) if chat else (),
        use_chat_template=chat,
    )
    res = rank_responses(runner, cfg, tau=1.0)
    if chat:
        assert res.context.startswith("<|im_start|>system") and res.context.endswith(
            "<|im_start|>assistant\n"
        )
        assert "The capital of Italy is Rome.<|im_end|>" in res.context
    for r in res.responses:
        sep = "" if chat else " "  # the plain layout's "Response: " puts a space before the response
        context = res.context if chat else res.context.rstrip(" ")
        assert r.logprob == pytest.approx(_plain_logprob(runner, context, sep + r.text), abs=1e-4)
    # the model should prefer the right answer to the wrong one at least
    by_text = {r.text: r for r in res.responses}
    assert by_text["The capital of France is Paris."].logprob > by_text["London."].logprob


def test_cli_contracts(capsys: pytest.CaptureFixture[str]) -> None:
    from engine.cli import main

    rc = main(
        ["generate", "--model", "smollm2-135m", "--prompt", "The capital of France is", "--strategy", "greedy",
         "--max-new-tokens", "4", "--seed", "0", "--json"]
    )  # fmt: skip
    assert rc == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(out) == {"text", "tokens", "token_logprobs", "seconds"}
    assert out["text"].startswith(" Paris") and len(out["tokens"]) == len(out["token_logprobs"]) == 4
    rc = main(
        ["rank", "--model", "smollm2-135m", "--instruction", "What is the capital of France?", "--good", "Paris.",
         "The capital is Paris.", "--bad", "London.", "--tau", "1.0", "--json"]
    )  # fmt: skip
    assert rc == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(out) == {"scores", "contrastive_loss"}
    assert set(out["scores"]) == {"Paris.", "The capital is Paris.", "London."}
    assert out["contrastive_loss"] > 0
