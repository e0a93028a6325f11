"""Scoring functions and calibrations: turn a model's log-probs into one answer per label.

Three scorers (registry `SCORERS`), all reduced to token-level `SpanRequest`s so that one fast
path (`engine.model.prefix_cache`) serves them all and per-token log-probs are always kept:

* ``direct``: log P(label word | prompt), summed over the label's tokens (``normalize="mean"``:
  mean per token). Highest wins.
* ``ppl``: perplexity of the whole sequence S = {instruction, demonstrations, query, label}: the
  mean token negative log-likelihood of the prompt with that label filled in. Lowest wins. The
  value is exactly OpenICL's ``PPLInferencer`` one: ``sum_{i>=1} -log p(t_i | t_<i) / n`` where
  ``n`` counts *every* token of the sequence, the first one (or BOS) included although nothing
  predicts it (OpenICL divides the summed loss of the n-1 predicted tokens by the number of
  non-pad tokens, ``(input_ids != pad_token_id).sum(-1)``). Each text is scored unpadded and
  ``n = len(ids)``, so a real EOS inside the text counts (and is scored), where OpenICL (pad = eos)
  would drop it; on texts without such a token the values are identical, so are the predictions.
* ``channel`` (Min et al. 2022, noisy channel): log P(query text | demonstrations, label), the
  demonstrations also in channel form (label first, then text). Highest wins. The channel
  template is derived from the user's template ``A{text}B{label}C``: B is cut at its last
  newline into ``B1 + "\\n" + B2`` (no newline: B1 = "", B2 = B without leading whitespace) and
  the channel template is ``B2{label}C + "\\n" + A{text}B1``. So "Review: {text}\\nSentiment:
  {label}" becomes "Sentiment: {label}\\nReview: {text}". The query is rendered up to ``{text}``
  with each label filled in, and the query's text is the scored continuation.

Calibrations (registry `CALIBRATIONS`) act on the label log-probs normalised over the labels,
``log q(y|x) = log_softmax_y(score)`` (for ppl the score entering the softmax is minus the mean
NLL, a heuristic that makes ppl results comparable; for channel, the softmax is P(y|x) by Bayes
with a uniform prior):

* ``none``.
* ``contextual`` (Zhao et al. 2021): p_cf = mean of q(y | content-free input) over the inputs
  "N/A", "" and "[MASK]" placed in the query slot of the same prompt; W = diag(p_cf)^-1, b = 0,
  so the calibrated log-prob is ``log q - log p_cf`` (renormalised). Direct scoring only.
* ``domain`` (Fei et al. 2023, domain-context calibration): the same with ~20 random strings of
  in-domain words (sampled from the task's texts, of their average length in words) as the
  content-free inputs. Direct scoring only.
* ``batch`` (Zhou et al. 2023): the contextual prior is estimated from the evaluated batch
  itself: ``p_b(y) = mean_i q(y | x_i)`` and the calibrated log-prob is ``log q - log p_b``
  (the paper's definition: the mean *probability*, not the mean log-prob). Any scorer.

References:
    Min et al. 2022, "Noisy Channel Language Model Prompting for Few-Shot Text Classification" (ACL).
    Zhao et al. 2021, "Calibrate Before Use: Improving Few-Shot Performance of Language Models" (ICML).
    Fei et al. 2023, "Mitigating Label Biases for In-context Learning" (ACL).
    Zhou et al. 2023, "Batch Calibration: Rethinking Calibration for In-Context Learning" (ICLR 2024).
    Wu et al. 2023, "OpenICL: An Open-Source Framework for In-context Learning" (PPLInferencer).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from engine.core.errors import ConfigError, lookup
from engine.model.hf_runner import (
    ModelRunner,
    ProgressFn,
    SpanRequest,
    SpanResult,
    SpanScorer,
    move_trailing_space,
)
from engine.prompting.prompts import (
    MAX_QUERY_CHARS,
    Demo,
    Prompt,
    PromptError,
    PromptFormat,
    build_prompt,
    check_demo_count,
    check_prompt_size,
    clean_label_words,
    fewest_dropped,
    label_continuation,
    render_query,
    split_template,
    validate_demos,
)

ScorerName = Literal["direct", "ppl", "channel"]
CalibrationName = Literal["none", "contextual", "domain", "batch"]
Normalize = Literal["sum", "mean"]

CONTENT_FREE: tuple[str, ...] = ("N/A", "", "[MASK]")
N_DOMAIN_STRINGS = 20
TOP_NEXT = 10


# ----------------------------------------------------------------------------------- types
@dataclass(frozen=True, slots=True)
class LabelText:
    """One label's text to score, tokenized, before the model runs.

    Attributes:
        label: label name.
        word: label word.
        text: the exact full text scored.
        ids: its tokens (the full text's own tokenization; BOS included when the model adds one).
        start: index of the first scored token (direct: the label; ppl: 1; channel: the query text).
    """

    label: str
    word: str
    text: str
    ids: tuple[int, ...]
    start: int


@dataclass(frozen=True, slots=True)
class QueryPlan:
    """Everything scored for one query, before the model runs.

    Attributes:
        query: the query text.
        texts: one `LabelText` per label, in label order.
        prompt: the direct prompt (ends where the label goes); channel texts are in `texts`.
        n_dropped: demonstrations dropped from the far end to fit the context.
    """

    query: str
    texts: tuple[LabelText, ...]
    prompt: Prompt
    n_dropped: int = 0


@dataclass(frozen=True, slots=True)
class LabelScore:
    """One label's score with its per-token detail.

    Attributes:
        label, word, text: as in `LabelText`.
        score: the scorer's value (direct/channel: log-prob, sum or mean; ppl: mean NLL, lower wins).
        token_ids: all tokens of `text`; `start` is the first scored one.
        tokens: string form of the scored tokens.
        token_logprobs: log p of each scored token given everything before it.
    """

    label: str
    word: str
    text: str
    score: float
    token_ids: tuple[int, ...]
    start: int
    tokens: tuple[str, ...]
    token_logprobs: tuple[float, ...]

    @property
    def logprob(self) -> float:
        """Sum of the scored tokens' log-probs."""
        return float(sum(self.token_logprobs))

    @property
    def n_tokens(self) -> int:
        return len(self.token_logprobs)


@dataclass(frozen=True, slots=True)
class NextToken:
    """One of the most likely tokens after the prompt."""

    token: str
    token_id: int
    logprob: float

    @property
    def prob(self) -> float:
        return float(np.exp(self.logprob))


@dataclass(frozen=True, slots=True)
class PromptScores:
    """The scores of one fixed prompt (what the Prompt Lab shows).

    Attributes:
        prompt: the direct prompt (ends where the label goes).
        labels: label names, in order.
        label_scores: one `LabelScore` per label, same order.
        scores: label -> scorer value (see `LabelScore.score`).
        probs: label -> probability, normalised over the labels, after calibration.
        pred: the predicted label name.
        top_next: the most likely next tokens after the prompt (from the direct prompt).
        prior: label -> content-free / batch prior used by the calibration (None for "none").
        scorer, calibration: what produced it.
    """

    prompt: Prompt
    labels: tuple[str, ...]
    label_scores: tuple[LabelScore, ...]
    scores: dict[str, float]
    probs: dict[str, float]
    pred: str
    top_next: tuple[NextToken, ...]
    prior: dict[str, float] | None
    scorer: str
    calibration: str


@dataclass(frozen=True, slots=True)
class ScoringConfig:
    """How labels are scored and calibrated. Validated on construction.

    Attributes:
        scorer: a key of `SCORERS`.
        calibration: a key of `CALIBRATIONS`.
        normalize: "sum" or "mean" of the scored tokens' log-probs (direct and channel; ppl is
            always OpenICL's mean NLL).
        channel_template: the channel template (``{label}`` before ``{text}``); None derives it.
        n_domain: number of random in-domain strings for domain-context calibration.
    """

    scorer: str = "direct"
    calibration: str = "none"
    normalize: Normalize = "sum"
    channel_template: str | None = None
    n_domain: int = N_DOMAIN_STRINGS

    def __post_init__(self) -> None:
        lookup(SCORERS, self.scorer, "scorer")
        cal = lookup(CALIBRATIONS, self.calibration, "calibration")
        if self.normalize not in get_args(Normalize):
            raise ConfigError(f"normalize must be 'sum' or 'mean', got {self.normalize!r}.")
        if cal.needs_content_free and self.scorer != "direct":
            raise ConfigError(
                f"{cal.title} calibration applies to direct scores only; pick the direct scorer or "
                "another calibration (none, batch)."
            )
        if self.n_domain < 1:
            raise ConfigError(f"n_domain must be at least 1, got {self.n_domain}.")
        if self.channel_template is not None:
            parse_channel_template(self.channel_template)


# ----------------------------------------------------------------------------------- channel
def _split_field(template: str, name: str) -> tuple[str, str]:
    """Raw (escaped) parts of `template` before and after its real ``{name}`` field."""
    pos = 0
    needle = "{" + name + "}"
    while True:
        idx = template.find(needle, pos)
        if idx < 0:
            raise PromptError(f"The template must contain {needle}.")
        n_braces = len(template[:idx]) - len(template[:idx].rstrip("{"))
        if n_braces % 2 == 0:
            return template[:idx], template[idx + len(needle) :]
        pos = idx + 1


def channel_template(template: str) -> str:
    """Derives the channel template from a direct one (see the module docstring).

    >>> channel_template("Review: {text}\\nSentiment: {label}")
    'Sentiment: {label}\\nReview: {text}'
    """
    before, c_part = split_template(template)
    a_part, b_part = _split_field(before, "text")
    cut = b_part.rfind("\n")
    if cut >= 0:
        b1, b2 = b_part[:cut], b_part[cut + 1 :]
    else:
        b1, b2 = "", b_part.lstrip()
    return b2 + "{label}" + c_part + "\n" + a_part + "{text}" + b1


def parse_channel_template(template: str) -> tuple[str, str, str]:
    """Splits a channel template ``X{label}Y{text}Z`` into raw (X, Y, Z); raises `PromptError`."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise PromptError(f"The channel template is not valid: {exc}.") from exc
    if sorted(fields) != ["label", "text"]:
        raise PromptError("The channel template must contain {label} and {text} exactly once each.")
    x, rest = _split_field(template, "label")
    if len(_split_field(template, "text")[0]) < len(x):
        raise PromptError("In a channel template {label} must come before {text}.")
    y, z = _split_field(rest, "text")
    return x, y, z


def _render(part: str, **fields: str) -> str:
    return part.format(**fields)


def build_channel_texts(
    runner: ModelRunner,
    fmt: PromptFormat,
    demos: Sequence[Demo],
    query: str,
    words: Mapping[str, str],
    *,
    template: str | None = None,
) -> tuple[list[tuple[str, str]], int]:
    """Channel-form (context, continuation) per label and the number of demos dropped to fit.

    The layout mirrors `build_prompt`: instruction, demonstrations, query, joined by the
    separator; each demonstration renders the channel template with its own label word, and the
    query renders ``X{label}Y`` with each candidate label; its text is the continuation.
    """
    ct = template if template is not None else channel_template(fmt.template)
    x, y, _z = parse_channel_template(ct)
    check_demo_count(len(demos))
    check_prompt_size(query, "The query", MAX_QUERY_CHARS)
    head_parts = [fmt.instruction.strip()] if fmt.instruction.strip() else []
    rendered = [_render(ct, label=words[d.label], text=d.text) for d in demos]

    def texts(n_dropped: int) -> list[tuple[str, str]]:
        parts = [*head_parts, *rendered[n_dropped:]]
        head = fmt.separator.join(parts)
        return [
            ((head + fmt.separator if parts else "") + _render(x) + word + _render(y), query)
            for word in words.values()
        ]

    def longest(n_dropped: int) -> int:
        return max(len(runner.encode(c + q)) for c, q in texts(n_dropped))

    n_dropped, n_tokens = fewest_dropped(len(demos), longest, runner.info.n_ctx)
    if n_tokens > runner.info.n_ctx:
        raise PromptError(
            f"The channel prompt is too long ({n_tokens} tokens) for the model's context "
            f"({runner.info.n_ctx}) even without demonstrations. Shorten the query or instruction."
        )
    return texts(n_dropped), n_dropped


# ----------------------------------------------------------------------------------- scorers
Builder = Callable[
    [ModelRunner, PromptFormat, Sequence[Demo], str, Mapping[str, str], ScoringConfig], QueryPlan
]


def _direct_prompt(
    runner: ModelRunner, fmt: PromptFormat, demos: Sequence[Demo], query: str, words: Mapping[str, str]
) -> Prompt:
    reserve = max(len(runner.encode(" " + w, add_special_tokens=False)) for w in words.values())
    return build_prompt(
        fmt,
        demos,
        query,
        words,
        count_tokens=lambda s: len(runner.encode(s)),
        max_tokens=runner.info.n_ctx,
        reserve_tokens=reserve,
    )


def _direct_texts(runner: ModelRunner, prompt_text: str, words: Mapping[str, str]) -> tuple[LabelText, ...]:
    out = []
    for name, word in words.items():
        context, continuation = label_continuation(prompt_text, word)
        sp = runner.split(context, continuation)
        out.append(LabelText(name, word, context + continuation, sp.ids, sp.n_context))
    return tuple(out)


def _ppl_texts(runner: ModelRunner, prompt_text: str, words: Mapping[str, str]) -> tuple[LabelText, ...]:
    out = []
    for name, word in words.items():
        context, continuation = label_continuation(prompt_text, word)
        text = context + continuation
        ids = tuple(runner.encode(text))
        if len(ids) < 2:
            raise PromptError("Perplexity needs a text of at least two tokens.")
        out.append(LabelText(name, word, text, ids, 1))
    return tuple(out)


def plan_direct(
    runner: ModelRunner,
    fmt: PromptFormat,
    demos: Sequence[Demo],
    query: str,
    words: Mapping[str, str],
    cfg: ScoringConfig,
) -> QueryPlan:
    """Direct scoring: each label word as the continuation of the prompt."""
    prompt = _direct_prompt(runner, fmt, demos, query, words)
    return QueryPlan(query, _direct_texts(runner, prompt.text, words), prompt, prompt.n_dropped)


def plan_ppl(
    runner: ModelRunner,
    fmt: PromptFormat,
    demos: Sequence[Demo],
    query: str,
    words: Mapping[str, str],
    cfg: ScoringConfig,
) -> QueryPlan:
    """Perplexity: every token of the prompt with the label filled in (OpenICL PPLInferencer)."""
    prompt = _direct_prompt(runner, fmt, demos, query, words)
    return QueryPlan(query, _ppl_texts(runner, prompt.text, words), prompt, prompt.n_dropped)


def plan_channel(
    runner: ModelRunner,
    fmt: PromptFormat,
    demos: Sequence[Demo],
    query: str,
    words: Mapping[str, str],
    cfg: ScoringConfig,
) -> QueryPlan:
    """Noisy channel: the query text as the continuation of channel-form demos + label."""
    prompt = build_prompt(fmt, demos, query, words)
    pairs, n_dropped = build_channel_texts(runner, fmt, demos, query, words, template=cfg.channel_template)
    texts = []
    for (name, word), (context, continuation) in zip(words.items(), pairs, strict=True):
        sp = runner.split(context, continuation)
        texts.append(LabelText(name, word, context + continuation, sp.ids, sp.n_context))
    return QueryPlan(query, tuple(texts), prompt, n_dropped)


def value_logprob(lps: Sequence[float], n_ids: int, normalize: Normalize) -> float:
    """Direct / channel value: sum (or mean) of the scored tokens' log-probs."""
    total = float(sum(lps))
    return total / max(len(lps), 1) if normalize == "mean" else total


def value_ppl(lps: Sequence[float], n_ids: int, normalize: Normalize) -> float:
    """OpenICL's perplexity value: summed NLL of tokens 1..n-1 divided by n (all tokens)."""
    return -float(sum(lps)) / n_ids


@dataclass(frozen=True, slots=True)
class ScorerSpec:
    """A scoring function: how to build the texts of a query and turn log-probs into a value."""

    name: str
    title: str
    description: str
    plan: Builder
    value: Callable[[Sequence[float], int, Normalize], float]
    higher_is_better: bool = True


SCORERS: dict[str, ScorerSpec] = {
    "direct": ScorerSpec(
        "direct",
        "Direct",
        "log P(label word | prompt), summed (or mean) over the label's tokens; highest wins.",
        plan_direct,
        value_logprob,
    ),
    "ppl": ScorerSpec(
        "ppl",
        "Perplexity (PPL)",
        "Mean token NLL of the whole prompt with the label filled in (OpenICL PPLInferencer); lowest wins.",
        plan_ppl,
        value_ppl,
        higher_is_better=False,
    ),
    "channel": ScorerSpec(
        "channel",
        "Channel",
        "log P(query text | channel-form demos, label) (Min et al. 2022); highest wins.",
        plan_channel,
        value_logprob,
    ),
}


# ----------------------------------------------------------------------------------- calibration
@dataclass(frozen=True, slots=True)
class CalibrationSpec:
    name: str
    title: str
    description: str
    needs_content_free: bool = False


CALIBRATIONS: dict[str, CalibrationSpec] = {
    "none": CalibrationSpec("none", "None", "Raw label scores."),
    "contextual": CalibrationSpec(
        "contextual",
        "Contextual",
        'Divide by label probabilities of content-free inputs "N/A", "", "[MASK]" (Zhao et al. 2021).',
        needs_content_free=True,
    ),
    "domain": CalibrationSpec(
        "domain",
        "Domain-context",
        "Divide by label probabilities of random in-domain word strings (Fei et al. 2023).",
        needs_content_free=True,
    ),
    "batch": CalibrationSpec(
        "batch",
        "Batch",
        "Divide by the mean label probability over the evaluated batch (Zhou et al. 2023).",
    ),
}


def log_normalize(logits: np.ndarray) -> np.ndarray:
    """log-softmax over the last axis (labels), float64."""
    x = np.asarray(logits, dtype=np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def contextual_prior(cf_logits: np.ndarray) -> np.ndarray:
    """p_cf: label probabilities of content-free inputs `[n_cf, label]`, normalised, then averaged."""
    p = np.exp(log_normalize(cf_logits)).mean(axis=0)
    return p / p.sum()


def batch_prior(logits: np.ndarray) -> np.ndarray:
    """Batch calibration prior: mean over queries of the normalised label probabilities `[label]`."""
    p = np.exp(log_normalize(logits)).mean(axis=0)
    return p / p.sum()


def apply_prior(logits: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Calibrated log-probs `[..., label]`: log q - log prior, renormalised (W = diag(prior)^-1)."""
    return log_normalize(log_normalize(logits) - np.log(np.maximum(prior, 1e-300)))


def domain_strings(texts: Sequence[str], n: int, rng: np.random.Generator) -> list[str]:
    """`n` random strings of in-domain words, each of the texts' average length in words.

    Words are drawn uniformly from all word occurrences of `texts` (so in proportion to their
    frequency), as Fei et al. 2023 build their domain-context content-free inputs.
    """
    bags = [t.split() for t in texts if t.split()]
    if not bags:
        raise ConfigError("Domain-context calibration needs some in-domain text to sample words from.")
    words = [w for bag in bags for w in bag]
    length = max(1, round(float(np.mean([len(b) for b in bags]))))
    return [" ".join(words[int(i)] for i in rng.integers(0, len(words), size=length)) for _ in range(n)]


def content_free_inputs(
    cfg: ScoringConfig, domain_texts: Sequence[str], rng: np.random.Generator
) -> tuple[str, ...]:
    """The content-free query texts of the configured calibration (empty for none / batch)."""
    if cfg.calibration == "contextual":
        return CONTENT_FREE
    if cfg.calibration == "domain":
        return tuple(domain_strings(domain_texts, cfg.n_domain, rng))
    return ()


def content_free_texts(
    runner: ModelRunner, prompt: Prompt, fmt: PromptFormat, words: Mapping[str, str], cf: str
) -> tuple[LabelText, ...]:
    """Direct label texts of `prompt` with its query replaced by the content-free input `cf`.

    The query segment is re-rendered in place, so "" gives the template up to the label with an
    empty input (which `build_prompt` would refuse as a user query).
    """
    query_seg = [s for s in prompt.segments if s.kind == "query"]
    start = query_seg[-1].start if query_seg else 0
    text = prompt.text[:start] + render_query(fmt, cf)
    return _direct_texts(runner, text, words)


# ----------------------------------------------------------------------------------- running
def spans(
    runner: ModelRunner,
    requests: Sequence[SpanRequest],
    *,
    fast: bool = True,
    progress: ProgressFn | None = None,
) -> list[SpanResult]:
    """Answers span requests through the runner's fast path (or its plain path, ``fast=False``)."""
    if not isinstance(runner, SpanScorer):
        raise ConfigError(f"The runner {type(runner).__name__} cannot score token spans.")
    return runner.score_spans(requests, fast=fast, progress=progress)


def label_scores(
    runner: ModelRunner, texts: Sequence[LabelText], results: Sequence[SpanResult], cfg: ScoringConfig
) -> tuple[LabelScore, ...]:
    """Combines label texts with their span results into `LabelScore`s."""
    spec = SCORERS[cfg.scorer]
    out = []
    for t, r in zip(texts, results, strict=True):
        scored = t.ids[t.start :]
        out.append(
            LabelScore(
                label=t.label,
                word=t.word,
                text=t.text,
                score=spec.value(r.token_logprobs, len(t.ids), cfg.normalize),
                token_ids=t.ids,
                start=t.start,
                tokens=tuple(runner.token_strings(scored)),
                token_logprobs=r.token_logprobs,
            )
        )
    return tuple(out)


def to_logits(scores: Sequence[float], scorer: str) -> np.ndarray:
    """Higher-is-better form of scorer values `[label]` (minus the mean NLL for ppl)."""
    arr = np.asarray(scores, dtype=np.float64)
    return arr if SCORERS[scorer].higher_is_better else -arr


def check_labels(words: Mapping[str, str]) -> dict[str, str]:
    """Validated label words (name -> stripped word), at least two labels."""
    if len(words) < 2:
        raise PromptError("Give at least two labels to choose from.")
    return clean_label_words(words)


@dataclass(frozen=True, slots=True)
class _PromptWork:
    """What `score_prompt` will ask of the model, before it runs (also `prompt_requests`)."""

    cfg: ScoringConfig
    words: dict[str, str]
    plan: QueryPlan
    batch_plans: list[QueryPlan]
    cf_sets: list[tuple[LabelText, ...]]
    requests: list[SpanRequest]


def _prompt_work(
    runner: ModelRunner,
    fmt: PromptFormat,
    demos: Sequence[Demo],
    query: str,
    label_words: Mapping[str, str],
    scorer: str,
    calibration: str,
    normalize: Normalize,
    channel_template: str | None,
    domain_texts: Sequence[str] | None,
    batch_queries: Sequence[str],
    n_domain: int,
    seed: int,
) -> _PromptWork:
    cfg = ScoringConfig(scorer, calibration, normalize, channel_template, n_domain)
    words = check_labels(label_words)
    validate_demos(demos, list(words))
    spec = SCORERS[cfg.scorer]
    if cfg.calibration == "batch" and not [q for q in batch_queries if q.strip()]:
        raise ConfigError(
            "Batch calibration estimates the label prior from a batch of queries; give the other "
            "queries of the batch, or pick another calibration."
        )
    plan = spec.plan(runner, fmt, demos, query, words, cfg)
    batch_plans = [spec.plan(runner, fmt, demos, q, words, cfg) for q in batch_queries if q.strip()]
    rng = np.random.default_rng(seed)
    cf_inputs = content_free_inputs(cfg, domain_texts or [*(d.text for d in demos), query], rng)
    cf_sets = [content_free_texts(runner, plan.prompt, fmt, words, cf) for cf in cf_inputs]

    # one request list, one block: everything shares the demonstrations
    next_ids = tuple(runner.encode(move_trailing_space(plan.prompt.text, "")[0]))
    reqs = [SpanRequest(next_ids, len(next_ids), keep_last=True, block=0)]
    for texts in [plan.texts, *(p.texts for p in batch_plans), *cf_sets]:
        reqs += [SpanRequest(t.ids, t.start, block=0) for t in texts]
    return _PromptWork(cfg, words, plan, batch_plans, cf_sets, reqs)


def prompt_requests(
    runner: ModelRunner,
    fmt: PromptFormat,
    demos: Sequence[Demo],
    query: str,
    label_words: Mapping[str, str],
    scorer: str = "direct",
    calibration: str = "none",
    *,
    normalize: Normalize = "sum",
    channel_template: str | None = None,
    domain_texts: Sequence[str] | None = None,
    batch_queries: Sequence[str] = (),
    n_domain: int = N_DOMAIN_STRINGS,
    seed: int = 0,
) -> list[SpanRequest]:
    """The span requests `score_prompt` would send for these arguments, without running the
    model (tokenisation only): `engine.model.cost` turns them into an estimate of the time it takes.
    Raises what `score_prompt` raises for bad input."""
    return _prompt_work(
        runner,
        fmt,
        demos,
        query,
        label_words,
        scorer,
        calibration,
        normalize,
        channel_template,
        domain_texts,
        batch_queries,
        n_domain,
        seed,
    ).requests


def score_prompt(
    runner: ModelRunner,
    fmt: PromptFormat,
    demos: Sequence[Demo],
    query: str,
    label_words: Mapping[str, str],
    scorer: str = "direct",
    calibration: str = "none",
    *,
    normalize: Normalize = "sum",
    channel_template: str | None = None,
    domain_texts: Sequence[str] | None = None,
    batch_queries: Sequence[str] = (),
    n_domain: int = N_DOMAIN_STRINGS,
    seed: int = 0,
    top_k: int = TOP_NEXT,
    progress: ProgressFn | None = None,
) -> PromptScores:
    """Scores every label of one fixed prompt (the Prompt Lab's view; `--demos shared`).

    Args:
        runner: the model.
        fmt: template, instruction, separator.
        demos: demonstrations in prompt order.
        query: the input to classify.
        label_words: label name -> label word, in label order.
        scorer: a key of `SCORERS`.
        calibration: a key of `CALIBRATIONS`. "batch" needs `batch_queries` (the other inputs
            of the batch, scored with the same demonstrations).
        normalize: "sum" or "mean" over tokens (direct, channel).
        channel_template: explicit channel template; None derives it from `fmt.template`.
        domain_texts: in-domain texts for "domain" calibration (default: demos and query).
        batch_queries: the batch for "batch" calibration (the query itself is added).
        n_domain: number of domain strings.
        seed: seed of the domain strings.
        top_k: how many next tokens to return.
        progress: called with (fraction, message).

    Returns:
        Per-label scores, calibrated probabilities, per-token log-probs, prediction and the top
        next tokens after the prompt.

    Raises:
        PromptError: empty query, bad template or label words, prompt too long.
        ConfigError: unknown scorer / calibration, or an invalid combination.
    """
    work = _prompt_work(
        runner,
        fmt,
        demos,
        query,
        label_words,
        scorer,
        calibration,
        normalize,
        channel_template,
        domain_texts,
        batch_queries,
        n_domain,
        seed,
    )
    cfg, words, plan, batch_plans, cf_sets, reqs = (
        work.cfg,
        work.words,
        work.plan,
        work.batch_plans,
        work.cf_sets,
        work.requests,
    )
    res = spans(runner, reqs, progress=progress)
    n_lab = len(words)
    main = label_scores(runner, plan.texts, res[1 : 1 + n_lab], cfg)
    logits = to_logits([s.score for s in main], cfg.scorer)

    prior: np.ndarray | None = None
    if cfg.calibration == "batch":
        rows = [logits]
        for b in range(len(batch_plans)):
            lo = 1 + n_lab * (1 + b)
            chunk = label_scores(runner, batch_plans[b].texts, res[lo : lo + n_lab], cfg)
            rows.append(to_logits([s.score for s in chunk], cfg.scorer))
        prior = batch_prior(np.stack(rows))
    elif cf_sets:
        lo = 1 + n_lab * (1 + len(batch_plans))
        cf_rows = []
        for c in range(len(cf_sets)):
            chunk = label_scores(runner, cf_sets[c], res[lo + c * n_lab : lo + (c + 1) * n_lab], cfg)
            cf_rows.append(to_logits([s.score for s in chunk], cfg.scorer))
        prior = contextual_prior(np.stack(cf_rows))
    logp = apply_prior(logits, prior) if prior is not None else log_normalize(logits)
    probs = np.exp(logp)
    labels = tuple(words)
    last = res[0].last_logprobs
    top: tuple[NextToken, ...] = ()
    if last is not None and top_k > 0:
        order = np.argsort(-last)[:top_k]
        strings = runner.token_strings([int(i) for i in order])
        top = tuple(NextToken(s, int(i), float(last[i])) for s, i in zip(strings, order, strict=True))
    return PromptScores(
        prompt=plan.prompt,
        labels=labels,
        label_scores=main,
        scores={s.label: s.score for s in main},
        probs={lab: float(p) for lab, p in zip(labels, probs, strict=True)},
        pred=labels[int(np.argmax(logp))],
        top_next=top,
        prior=None if prior is None else {lab: float(p) for lab, p in zip(labels, prior, strict=True)},
        scorer=cfg.scorer,
        calibration=cfg.calibration,
    )
