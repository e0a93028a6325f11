"""Orderings of the chosen demonstrations, and the model probes they (and `mdl`) share.

An ordering is a pure permutation of the retrieved pool indices (first = farthest from the
query, last = next to it); randomness comes only from the `rng` argument:

    ordering(query, indices, ctx, rng) -> list[int]

* ``as_retrieved`` keeps the retriever's order; ``random`` shuffles.
* ``similar_last`` puts the demonstration most similar to the query next to the query
  (ascending cosine); ``similar_first`` the reverse. OpenICL's TopkRetriever lists neighbours
  most similar first, i.e. it puts the nearest one *farthest* from the query, which is what
  ``as_retrieved`` reproduces after ``topk``.
* ``label_interleaved`` round-robins over labels (A B C A B C ...) so no label forms a run at the
  end of the prompt, where recency bias would favour it (Zhao et al., 2021).
* ``global_e`` / ``local_e`` (Lu et al., 2022): the model writes a *probing set* of new inputs by
  sampling after each candidate permutation of the demonstrations (no labelled dev set needed);
  every candidate permutation then labels every probe. GlobalE is the entropy of the histogram of
  predicted labels over the probing set (high = the order does not push one label); LocalE is the
  mean entropy of each probe's label distribution (high = not over-confident). The candidate with
  the highest score wins; ties go to the other score, then to the earlier candidate.

Label distributions (`label_probs`) are the model's probabilities of each label word after the
prompt, renormalised over the labels: the first token of each word when those differ (one
forward pass per prompt), else the whole word's log-probability.

References:
    Lu et al., 2022, "Fantastically Ordered Prompts and Where to Find Them: Overcoming Few-Shot
        Prompt Order Sensitivity", ACL, arXiv:2104.08786.
    Zhao et al., 2021, "Calibrate Before Use: Improving Few-Shot Performance of Language Models",
        arXiv:2102.09690.
    Liu et al., 2021, "What Makes Good In-Context Examples for GPT-3?", arXiv:2101.06804.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from engine.core.errors import ConfigError
from engine.model.hf_runner import ModelRunner, ScoreRequest, move_trailing_space
from engine.prompting.prompts import Demo, PromptFormat, build_prompt, label_continuation

if TYPE_CHECKING:
    from engine.retrieval.retrievers import RetrievalContext

EntropyMetric = Literal["global_e", "local_e"]
ProgressFn = Callable[[float, str], None]
_SENTINEL = "\x00QUERY\x00"


# ---------------------------------------------------------------------- option helpers
def opt_int(ctx: RetrievalContext, name: str, default: int, *, minimum: int = 0) -> int:
    """Integer option from `ctx.options`, validated (ConfigError on a bad value)."""
    raw = ctx.options.get(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"Option {name} must be an integer, got {raw!r}.") from None
    if value < minimum or float(raw) != value:
        raise ConfigError(f"Option {name} must be an integer of at least {minimum}, got {raw!r}.")
    return value


def opt_float(
    ctx: RetrievalContext, name: str, default: float, *, low: float = -math.inf, high: float = math.inf
) -> float:
    """Float option from `ctx.options`, checked to lie in [low, high]."""
    raw = ctx.options.get(name, default)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"Option {name} must be a number, got {raw!r}.") from None
    if not (low <= value <= high) or math.isnan(value):
        raise ConfigError(f"Option {name} must be between {low} and {high}, got {raw!r}.")
    return value


def entropy(p: np.ndarray, axis: int = -1) -> np.ndarray:
    """Shannon entropy in nats along `axis` (0 log 0 = 0)."""
    p = np.asarray(p, dtype=np.float64)
    logs = np.log(np.where(p > 0, p, 1.0))
    return np.asarray(-(p * logs).sum(axis=axis))


# ---------------------------------------------------------------------- model probes
def demos_for(ctx: RetrievalContext, indices: Sequence[int]) -> list[Demo]:
    """Pool items as prompt demonstrations (keeping their pool index)."""
    return [Demo(ctx.pool[i].text, ctx.pool[i].label, int(i)) for i in indices]


def require_model(ctx: RetrievalContext, what: str) -> tuple[ModelRunner, PromptFormat, dict[str, str]]:
    if ctx.runner is None or ctx.fmt is None or not ctx.label_words:
        raise ConfigError(f"{what} needs the model, the prompt format and the label words (none given).")
    return ctx.runner, ctx.fmt, dict(ctx.label_words)


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


# ---------------------------------------------------------------------- simple orderings
def order_as_retrieved(
    query: str, indices: list[int], ctx: RetrievalContext, rng: np.random.Generator
) -> list[int]:
    """The retriever's own order."""
    return list(indices)


def order_random(
    query: str, indices: list[int], ctx: RetrievalContext, rng: np.random.Generator
) -> list[int]:
    """A uniformly random permutation (seeded)."""
    return [indices[i] for i in rng.permutation(len(indices))]


def _query_sims(query: str, indices: Sequence[int], ctx: RetrievalContext, what: str) -> np.ndarray:
    if ctx.index is None:
        raise ConfigError(f"The {what} ordering needs the demo index (sentence embeddings of the pool).")
    if not indices:
        return np.zeros(0, dtype=np.float32)
    return np.asarray(ctx.index.similarities(query, indices), dtype=np.float32)


def order_similar_last(
    query: str, indices: list[int], ctx: RetrievalContext, rng: np.random.Generator
) -> list[int]:
    """Ascending cosine to the query: the most similar demonstration sits next to the query."""
    sims = _query_sims(query, indices, ctx, "similar_last")
    return [indices[i] for i in np.argsort(sims, kind="stable")]


def order_similar_first(
    query: str, indices: list[int], ctx: RetrievalContext, rng: np.random.Generator
) -> list[int]:
    """Descending cosine to the query: the most similar demonstration comes first (farthest)."""
    sims = _query_sims(query, indices, ctx, "similar_first")
    return [indices[i] for i in np.argsort(-sims, kind="stable")]


def order_label_interleaved(
    query: str, indices: list[int], ctx: RetrievalContext, rng: np.random.Generator
) -> list[int]:
    """Round-robin over labels in order of first appearance, keeping the order within a label."""
    groups: dict[str, list[int]] = {}
    for i in indices:
        groups.setdefault(ctx.pool[i].label, []).append(i)
    out: list[int] = []
    queues = list(groups.values())
    while any(queues):
        for q in queues:
            if q:
                out.append(q.pop(0))
    return out


# ---------------------------------------------------------------------- entropy orderings
@dataclass(frozen=True, slots=True)
class PermutationScore:
    """One candidate order and how the model labelled the probing set under it.

    Attributes:
        order: positions into the retrieved list (a permutation of range(k)).
        global_e: entropy (nats) of the histogram of predicted labels over the probes.
        local_e: mean entropy (nats) of each probe's label distribution.
        predicted: predicted label name per probe.
    """

    order: tuple[int, ...]
    global_e: float
    local_e: float
    predicted: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PermutationRanking:
    """Result of the Lu et al. (2022) search over orders.

    Attributes:
        indices: the retrieved pool indices the positions refer to.
        candidates: every candidate scored, in the order they were drawn.
        probes: the generated probing inputs.
        metric: the score that chose `best`.
        best: the winning pool indices, in prompt order.
    """

    indices: tuple[int, ...]
    candidates: tuple[PermutationScore, ...]
    probes: tuple[str, ...]
    metric: EntropyMetric
    best: tuple[int, ...]


def candidate_orders(k: int, n: int, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """Up to `n` distinct permutations of range(k): all of them when k! <= n, else the
    identity and then random draws (seeded)."""
    if k <= 1:
        return [tuple(range(k))]
    if math.factorial(k) <= n:
        return list(itertools.permutations(range(k)))
    seen: dict[tuple[int, ...], None] = {tuple(range(k)): None}
    while len(seen) < n:
        seen.setdefault(tuple(int(x) for x in rng.permutation(k)), None)
    return list(seen)


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


def rank_permutations(
    indices: Sequence[int],
    ctx: RetrievalContext,
    rng: np.random.Generator,
    *,
    metric: EntropyMetric = "global_e",
    progress: ProgressFn | None = None,
) -> PermutationRanking:
    """Lu et al. (2022): probe each candidate order with model-generated inputs; keep the best.

    Options (in `ctx.options`): ``n_permutations`` (8), ``n_probe`` probing-set size (8),
    ``probe_tokens`` max tokens per probe (32), ``probe_temperature`` (1.0; the paper uses 2).

    The probing set is generated round-robin: probe j is sampled after candidate j mod n. Every
    candidate then labels every probe, so the cost is n_probe generations plus
    n_permutations x n_probe prompt forward passes.
    """
    runner, fmt, words = require_model(ctx, "Entropy-based ordering")
    n_perm = opt_int(ctx, "n_permutations", 8, minimum=1)
    n_probe = opt_int(ctx, "n_probe", 8, minimum=1)
    max_tokens = opt_int(ctx, "probe_tokens", 32, minimum=1)
    temperature = opt_float(ctx, "probe_temperature", 1.0, low=1e-3, high=10.0)
    idx = tuple(int(i) for i in indices)
    names = list(words)
    orders = candidate_orders(len(idx), n_perm, rng)
    seed = int(rng.integers(0, 2**62))
    if len(idx) <= 1:
        return PermutationRanking(idx, (PermutationScore(orders[0], 0.0, 0.0, ()),), (), metric, idx)

    key = (
        id(runner),
        runner.info.name,
        fmt,
        tuple(words.items()),
        tuple((ctx.pool[i].text, ctx.pool[i].label) for i in idx),
        tuple(orders),
        n_probe,
        max_tokens,
        temperature,
        seed,
    )
    with _RANK_LOCK:
        cached = _RANK_CACHE.get(key)
    if cached is not None:
        scores_c, probes_c = cached
        return _pick(idx, scores_c, probes_c, metric)

    probes: list[str] = []
    for j in range(n_probe):
        order = orders[j % len(orders)]
        gen_prompt, stops = probe_prompt_parts(fmt, demos_for(ctx, [idx[p] for p in order]), words)
        text = sample_text(
            runner, gen_prompt, max_new_tokens=max_tokens, temperature=temperature, stops=stops, seed=seed + j
        ).strip()
        if text:
            probes.append(text)
        if progress is not None:
            progress(0.5 * (j + 1) / n_probe, f"Generating the probing set: {j + 1}/{n_probe}")
    if not probes:  # the model produced nothing usable: keep the retrieved order
        empty = tuple(PermutationScore(o, 0.0, 0.0, ()) for o in orders)
        return PermutationRanking(idx, empty, (), metric, idx)

    scores: list[PermutationScore] = []
    for c, order in enumerate(orders):
        chosen = [idx[p] for p in order]
        prompts = [prompt_text(ctx, chosen, probe) for probe in probes]
        p = label_probs(runner, prompts, words)  # [n_probe, n_labels]
        pred = p.argmax(axis=1)
        hist = np.bincount(pred, minlength=len(names)) / len(pred)
        scores.append(
            PermutationScore(
                order, float(entropy(hist)), float(entropy(p, axis=1).mean()), tuple(names[i] for i in pred)
            )
        )
        if progress is not None:
            progress(0.5 + 0.5 * (c + 1) / len(orders), f"Scoring candidate orders: {c + 1}/{len(orders)}")
    with _RANK_LOCK:
        _RANK_CACHE[key] = (tuple(scores), tuple(probes))
        while len(_RANK_CACHE) > 64:
            _RANK_CACHE.popitem(last=False)
    return _pick(idx, tuple(scores), tuple(probes), metric)


def _pick(
    idx: tuple[int, ...], scores: tuple[PermutationScore, ...], probes: tuple[str, ...], metric: EntropyMetric
) -> PermutationRanking:
    def key(c: int) -> tuple[float, float, int]:
        s = scores[c]
        main, other = (s.global_e, s.local_e) if metric == "global_e" else (s.local_e, s.global_e)
        return (round(main, 9), round(other, 9), -c)

    best = max(range(len(scores)), key=key)
    return PermutationRanking(idx, scores, probes, metric, tuple(idx[p] for p in scores[best].order))


_RANK_CACHE: OrderedDict[tuple[object, ...], tuple[tuple[PermutationScore, ...], tuple[str, ...]]] = (
    OrderedDict()
)
_RANK_LOCK = threading.Lock()


def order_global_e(
    query: str, indices: list[int], ctx: RetrievalContext, rng: np.random.Generator
) -> list[int]:
    """Lu et al. (2022) GlobalE: the order whose predicted-label histogram is most balanced."""
    return list(rank_permutations(indices, ctx, rng, metric="global_e", progress=ctx.progress).best)


def order_local_e(
    query: str, indices: list[int], ctx: RetrievalContext, rng: np.random.Generator
) -> list[int]:
    """Lu et al. (2022) LocalE: the order with the highest mean per-probe label entropy."""
    return list(rank_permutations(indices, ctx, rng, metric="local_e", progress=ctx.progress).best)
