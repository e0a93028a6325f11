"""Scoring functions: turn a model's log-probs into one score per label, and score one prompt.

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
  demonstrations also in channel form; see `engine.scoring.channel`. Highest wins.

Calibrations (registry `CALIBRATIONS`, `engine.scoring.calibration`) divide the label
probabilities by a prior from content-free inputs or from the batch. `score_prompt` scores every
label of one fixed prompt with its calibration in one request list (the Prompt Lab's view);
`engine.evaluation` does the same over a test set.

References:
    Min et al. 2022, "Noisy Channel Language Model Prompting for Few-Shot Text Classification" (ACL).
    Wu et al. 2023, "OpenICL: An Open-Source Framework for In-context Learning" (PPLInferencer).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import get_args

import numpy as np

from engine.core.errors import ConfigError
from engine.core.progress import ProgressFn
from engine.core.registry import Registry
from engine.model.protocol import ModelRunner, SpanRequest, SpanResult, SpanScorer, move_trailing_space
from engine.prompting.prompts import Demo, PromptError, PromptFormat, clean_label_words, validate_demos
from engine.scoring.calibration import CALIBRATIONS as CALIBRATIONS  # re-exported
from engine.scoring.calibration import apply_prior as apply_prior  # re-exported
from engine.scoring.calibration import batch_prior as batch_prior  # re-exported
from engine.scoring.calibration import content_free_inputs as content_free_inputs  # re-exported
from engine.scoring.calibration import contextual_prior as contextual_prior  # re-exported
from engine.scoring.calibration import domain_strings as domain_strings  # re-exported
from engine.scoring.calibration import log_normalize as log_normalize  # re-exported
from engine.scoring.channel import build_channel_texts as build_channel_texts  # re-exported
from engine.scoring.channel import channel_template as channel_template  # re-exported
from engine.scoring.channel import parse_channel_template as parse_channel_template  # re-exported
from engine.scoring.channel import plan_channel as plan_channel  # re-exported
from engine.scoring.direct import content_free_texts as content_free_texts  # re-exported
from engine.scoring.direct import plan_direct as plan_direct  # re-exported
from engine.scoring.direct import plan_ppl as plan_ppl  # re-exported
from engine.scoring.types import CONTENT_FREE as CONTENT_FREE  # re-exported
from engine.scoring.types import N_DOMAIN_STRINGS, TOP_NEXT, NextToken
from engine.scoring.types import Builder as Builder  # re-exported
from engine.scoring.types import CalibrationName as CalibrationName  # re-exported
from engine.scoring.types import CalibrationSpec as CalibrationSpec  # re-exported
from engine.scoring.types import LabelScore as LabelScore  # re-exported
from engine.scoring.types import LabelText as LabelText  # re-exported
from engine.scoring.types import Normalize as Normalize  # re-exported
from engine.scoring.types import PromptScores as PromptScores  # re-exported
from engine.scoring.types import QueryPlan as QueryPlan  # re-exported
from engine.scoring.types import ScorerName as ScorerName  # re-exported
from engine.scoring.types import ScorerSpec as ScorerSpec  # re-exported

SCORERS = Registry[ScorerSpec]("scorer", make=ScorerSpec.of)


# ----------------------------------------------------------------------------------- values
def value_logprob(lps: Sequence[float], n_ids: int, normalize: Normalize) -> float:
    """Direct / channel value: sum (or mean) of the scored tokens' log-probs."""
    total = float(sum(lps))
    return total / max(len(lps), 1) if normalize == "mean" else total


def value_ppl(lps: Sequence[float], n_ids: int, normalize: Normalize) -> float:
    """OpenICL's perplexity value: summed NLL of tokens 1..n-1 divided by n (all tokens)."""
    return -float(sum(lps)) / n_ids


# ----------------------------------------------------------------------------------- registry
# In the order the UI lists them; each plan function lives with its texts (direct.py, channel.py).
SCORERS.register(
    "direct",
    title="Direct",
    description="log P(label word | prompt), summed (or mean) over the label's tokens; highest wins.",
    value=value_logprob,
)(plan_direct)
SCORERS.register(
    "ppl",
    title="Perplexity (PPL)",
    description="Mean token NLL of the whole prompt with the label filled in (OpenICL PPLInferencer); "
    "lowest wins.",
    value=value_ppl,
    higher_is_better=False,
)(plan_ppl)
SCORERS.register(
    "channel",
    title="Channel",
    description="log P(query text | channel-form demos, label) (Min et al. 2022); highest wins.",
    value=value_logprob,
)(plan_channel)


# ----------------------------------------------------------------------------------- config
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
        SCORERS.lookup(self.scorer)
        cal = CALIBRATIONS.lookup(self.calibration)
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


# ----------------------------------------------------------------------------------- one prompt
@dataclass(frozen=True, slots=True)
class _PromptWork:
    """What `score_prompt` will ask of the model, before it runs (also `prompt_requests`).

    `requests` holds, in this order: the next-token request of the direct prompt, then
    ``len(words)`` label requests for the query, for each batch query, for each content-free set.
    """

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
    cfg: ScoringConfig,
    domain_texts: Sequence[str] | None,
    batch_queries: Sequence[str],
    seed: int,
) -> _PromptWork:
    words = check_labels(label_words)
    validate_demos(demos, list(words))
    spec = SCORERS[cfg.scorer]
    if CALIBRATIONS[cfg.calibration].prior == "batch" and not [q for q in batch_queries if q.strip()]:
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
    cfg = ScoringConfig(scorer, calibration, normalize, channel_template, n_domain)
    return _prompt_work(
        runner, fmt, demos, query, label_words, cfg, domain_texts, batch_queries, seed
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
    cfg = ScoringConfig(scorer, calibration, normalize, channel_template, n_domain)
    work = _prompt_work(runner, fmt, demos, query, label_words, cfg, domain_texts, batch_queries, seed)
    res = spans(runner, work.requests, progress=progress)
    n_lab = len(work.words)

    def group(g: int, texts: Sequence[LabelText]) -> tuple[LabelScore, ...]:
        """Label scores of the `g`-th group of label requests (after the next-token request)."""
        return label_scores(runner, texts, res[1 + g * n_lab : 1 + (g + 1) * n_lab], cfg)

    def logits_of(scores: Sequence[LabelScore]) -> np.ndarray:
        return to_logits([s.score for s in scores], cfg.scorer)

    main = group(0, work.plan.texts)
    logits = logits_of(main)
    prior: np.ndarray | None = None
    if CALIBRATIONS[cfg.calibration].prior == "batch":
        rows = [logits, *(logits_of(group(1 + b, p.texts)) for b, p in enumerate(work.batch_plans))]
        prior = batch_prior(np.stack(rows))
    elif work.cf_sets:
        first = 1 + len(work.batch_plans)
        prior = contextual_prior(
            np.stack([logits_of(group(first + c, t)) for c, t in enumerate(work.cf_sets)])
        )
    logp = apply_prior(logits, prior) if prior is not None else log_normalize(logits)
    probs = np.exp(logp)
    labels = tuple(work.words)
    last = res[0].last_logprobs
    top: tuple[NextToken, ...] = ()
    if last is not None and top_k > 0:
        order = np.argsort(-last)[:top_k]
        strings = runner.token_strings([int(i) for i in order])
        top = tuple(NextToken(s, int(i), float(last[i])) for s, i in zip(strings, order, strict=True))
    return PromptScores(
        prompt=work.plan.prompt,
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
