"""Model probes shared by the model-based strategies (the `mdl` retriever, the entropy orderings).

* `label_probs`: the model's probabilities of each label word after each prompt, renormalised over
  the labels: the first token of each word when those differ (one forward pass per prompt), else
  the whole word's log-probability.
* `prompt_text`: the prompt for a query with given demonstrations, dropped from the far end to fit.
* `sample_text`, `probe_prompt_parts`: sample a new input after some demonstrations (Lu et al.'s
  probing set), seeded and without touching global random state.
* `entropy`: Shannon entropy in nats.

References:
    Lu et al., 2022, "Fantastically Ordered Prompts and Where to Find Them: Overcoming Few-Shot
        Prompt Order Sensitivity", ACL, arXiv:2104.08786.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from engine.model.hf_runner import ModelRunner, ScoreRequest, move_trailing_space
from engine.prompting.prompts import Demo, PromptFormat, build_prompt, label_continuation
from engine.retrieval.context import require_model

if TYPE_CHECKING:
    from engine.retrieval.context import RetrievalContext

_SENTINEL = "\x00QUERY\x00"


def entropy(p: np.ndarray, axis: int = -1) -> np.ndarray:
    """Shannon entropy in nats along `axis` (0 log 0 = 0)."""
    p = np.asarray(p, dtype=np.float64)
    logs = np.log(np.where(p > 0, p, 1.0))
    return np.asarray(-(p * logs).sum(axis=axis))


# ---------------------------------------------------------------------- model probes
def demos_for(ctx: RetrievalContext, indices: Sequence[int]) -> list[Demo]:
    """Pool items as prompt demonstrations (keeping their pool index)."""
    return [Demo(ctx.pool[i].text, ctx.pool[i].label, int(i)) for i in indices]


def prompt_text(ctx: RetrievalContext, indices: Sequence[int], query: str) -> str:
    """The prompt for `query` with the given demonstrations, dropped from the far end to fit."""
    runner, fmt, words = require_model(ctx, "Prompting")
    prompt = build_prompt(
        fmt,
        demos_for(ctx, indices),
        query,
        words,
        count_tokens=lambda s: len(runner.encode(s)),
        max_tokens=runner.info.n_ctx,
        reserve_tokens=8,
    )
    return prompt.text


def label_probs(runner: ModelRunner, prompts: Sequence[str], label_words: Mapping[str, str]) -> np.ndarray:
    """The model's distribution over the labels after each prompt.

    Returns:
        `[n_prompts, n_labels]` float64 probabilities (rows sum to 1), labels in `label_words` order.
    """
    if not prompts:
        return np.zeros((0, len(label_words)))
    words = list(label_words.values())
    first: list[int] = []
    for w in words:
        sp = runner.split(*label_continuation(prompts[0], w))
        first.append(sp.ids[sp.n_context] if len(sp.ids) > sp.n_context else -1)
    if len(set(first)) == len(first) and min(first) >= 0:
        lp = runner.next_token_logprobs(prompts).astype(np.float64)[:, first]  # [n_prompts, n_labels]
    else:  # two words share their first token: score whole words
        reqs = [ScoreRequest(*label_continuation(p, w)) for p in prompts for w in words]
        res = runner.score(reqs)
        lp = np.array([r.logprob for r in res], dtype=np.float64).reshape(len(prompts), len(words))
    lp -= lp.max(axis=1, keepdims=True)
    p = np.exp(lp)
    return np.asarray(p / p.sum(axis=1, keepdims=True))


def sample_text(
    runner: ModelRunner,
    prompt: str,
    *,
    max_new_tokens: int,
    temperature: float,
    stops: Sequence[str],
    seed: int,
) -> str:
    """Samples a continuation of `prompt` until a stop string, EOS or `max_new_tokens`.

    Uses a KV-cache loop over the HF model when the runner has one (seeded `torch.Generator`,
    under `runner.lock`), else asks `next_token_logprobs` token by token (seeded numpy
    generator). Never touches global random state. Returns the text before the first stop.
    """
    model = getattr(runner, "model", None)
    tokenizer = getattr(runner, "tokenizer", None)
    context = move_trailing_space(prompt, "")[0]
    if model is not None and tokenizer is not None and hasattr(runner, "lock"):
        text = _sample_hf(runner, model, tokenizer, context, max_new_tokens, temperature, stops, seed)
    else:
        text = _sample_generic(runner, context, max_new_tokens, temperature, stops, seed)
    return _cut(prompt[len(context) :] + text, stops)


def _cut(text: str, stops: Sequence[str]) -> str:
    ends = [text.find(s) for s in stops if s and s in text]
    return text[: min(ends)] if ends else text


def _sample_hf(
    runner: ModelRunner,
    model: object,
    tokenizer: object,
    context: str,
    max_new_tokens: int,
    temperature: float,
    stops: Sequence[str],
    seed: int,
) -> str:
    import torch

    device = str(getattr(runner, "device", "cpu"))
    gen = torch.Generator(device="cpu").manual_seed(seed)
    ids = runner.encode(context) or [int(getattr(tokenizer, "bos_token_id", 0) or 0)]
    eos = getattr(tokenizer, "eos_token_id", None)
    out_ids: list[int] = []
    lock = getattr(runner, "lock")  # noqa: B009 - present on HFRunner, checked by the caller
    with lock, torch.inference_mode():
        out = model(input_ids=torch.tensor([ids], device=device), use_cache=True)  # type: ignore[operator]
        for _ in range(max_new_tokens):
            logits = out.logits[0, -1].float().cpu()  # [d_vocab]
            probs = torch.softmax(logits / max(temperature, 1e-6), dim=-1)
            tok = int(torch.multinomial(probs, 1, generator=gen).item())
            if eos is not None and tok == eos:
                break
            out_ids.append(tok)
            text = runner.decode(out_ids)
            if any(s and s in text for s in stops):
                break
            out = model(  # type: ignore[operator]
                input_ids=torch.tensor([[tok]], device=device),
                past_key_values=out.past_key_values,
                use_cache=True,
            )
    runner.work.add(len(ids) + len(out_ids), len(out_ids) + 1)
    return runner.decode(out_ids)


def _sample_generic(
    runner: ModelRunner,
    context: str,
    max_new_tokens: int,
    temperature: float,
    stops: Sequence[str],
    seed: int,
) -> str:
    rng = np.random.default_rng(seed)
    ids: list[int] = []
    text = ""
    for _ in range(max_new_tokens):
        lp = runner.next_token_logprobs([context + text])[0].astype(np.float64) / max(temperature, 1e-6)
        p = np.exp(lp - lp.max())
        tok = int(rng.choice(p.size, p=p / p.sum()))
        ids.append(tok)
        text = runner.decode(ids)
        if any(s and s in text for s in stops):
            break
    return text


def probe_prompt_parts(
    fmt: PromptFormat, demos: Sequence[Demo], label_words: Mapping[str, str]
) -> tuple[str, list[str]]:
    """(generation prompt, stop strings): the demos then a new demo opened up to its text field."""
    full = build_prompt(fmt, demos, _SENTINEL, label_words).text
    cut = full.index(_SENTINEL)
    after = full[cut + len(_SENTINEL) :]  # e.g. "\nSentiment:"
    stops = [
        s for s in (after.strip().split("\n")[0].strip(), "\n" if "\n" in after + fmt.separator else "") if s
    ]
    return full[:cut], stops
