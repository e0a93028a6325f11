"""Response ranking: score candidate responses to an instruction by log P(response | instruction).

For an instruction I and candidate responses R_1..R_n (each marked good or bad by the user):

    s(I, R) = log P(R | I) = sum_t log p(r_t | I, r_<t)      ("sum")
    s_mean(I, R) = s(I, R) / |R|                            ("mean", per token)

The context I is either a plain template (``Instruction: ...\\nResponse:``) or the model's chat
template (a user turn, then the assistant turn opened with ``add_generation_prompt``), with
optional few-shot (instruction, response) pairs before it: rendered one after the other in
the plain layout, as earlier user/assistant turns in the chat layout. Responses are scored
with `runner.score`, so the context/continuation token split is the runner's (see
`engine.model.hf_runner`), and the per-token log-probs come back for the view.

The contrastive (InfoNCE-style) loss treats the scores as logits over the candidates:

    L = -1/N+ * sum_{i in good} log( exp(s_i / tau) / sum_{j in all} exp(s_j / tau) )

It is 0 only in the limit where every good response takes all the probability mass (with one
good response); a large L says the model prefers the responses marked bad. Changing tau
needs no new forward pass (`contrastive_loss` is a pure function of the scores).

References:
    Oord et al. 2018, "Representation Learning with Contrastive Predictive Coding" (InfoNCE).
    Khosla et al. 2020, "Supervised Contrastive Learning" (the mean over positives).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np

from engine.core.errors import ConfigError
from engine.model.hf_runner import ModelRunner, ProgressFn, ScoreRequest
from engine.prompting.prompts import DEFAULT_SEPARATOR, PromptError

ScoreKind = Literal["sum", "mean"]
SCORE_KINDS: tuple[ScoreKind, ...] = get_args(ScoreKind)
DEFAULT_RANK_TEMPLATE = "Instruction: {instruction}\nResponse: {response}"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A candidate response and the user's mark."""

    text: str
    good: bool


@dataclass(frozen=True, slots=True)
class RankConfig:
    """What to score. Validated on construction.

    Attributes:
        instruction: the instruction I.
        candidates: responses with good/bad marks (at least two, at least one good, distinct).
        demos: few-shot (instruction, response) pairs put before I.
        use_chat_template: render with the model's chat template (it must have one).
        template: plain layout with ``{instruction}`` then ``{response}`` (when not chat).
        separator: between plain few-shot pairs and the instruction.
        system: system message for the chat layout ("" = the template's default).
    """

    instruction: str
    candidates: tuple[Candidate, ...]
    demos: tuple[tuple[str, str], ...] = ()
    use_chat_template: bool = False
    template: str = DEFAULT_RANK_TEMPLATE
    separator: str = DEFAULT_SEPARATOR
    system: str = ""

    def __post_init__(self) -> None:
        if not self.instruction.strip():
            raise PromptError("The instruction is empty; type the instruction the responses answer.")
        texts = [c.text.strip() for c in self.candidates]
        if len(texts) < 2:
            raise ConfigError("Add at least two candidate responses to rank.")
        empty = [i + 1 for i, t in enumerate(texts) if not t]
        if empty:
            raise PromptError(f"Candidate response(s) {empty} are empty; fill them in or delete the rows.")
        dups = sorted({t for t in texts if texts.count(t) > 1})
        if dups:
            raise ConfigError(f"Candidate responses must differ; repeated: {dups[0]!r}.")
        if not any(c.good for c in self.candidates):
            raise ConfigError("Mark at least one response as good (the contrastive loss needs a positive).")
        for i, (inst, resp) in enumerate(self.demos, start=1):
            if not inst.strip() or not resp.strip():
                raise PromptError(f"Few-shot example {i} needs both an instruction and a response.")
        if not self.use_chat_template:
            _split_rank_template(self.template)


@dataclass(frozen=True, slots=True)
class RankedResponse:
    """One scored response.

    Attributes:
        text: the response.
        good: the user's mark.
        logprob: s(I, R) = log P(R | I) (sum over tokens).
        mean_logprob: per-token mean.
        n_tokens: response tokens.
        tokens, token_logprobs: per-token detail.
        rank: 1 = the model's favourite under the result's score kind.
    """

    text: str
    good: bool
    logprob: float
    mean_logprob: float
    n_tokens: int
    tokens: tuple[str, ...]
    token_logprobs: tuple[float, ...]
    rank: int

    def score(self, kind: ScoreKind) -> float:
        return self.logprob if kind == "sum" else self.mean_logprob


@dataclass(frozen=True, slots=True)
class RankingResult:
    """Scores of every response (input order), the ranking and the contrastive loss.

    Attributes:
        responses: one per candidate, in the order given.
        order: candidate indices from the model's favourite down.
        score_kind: which score ranks and enters the loss.
        tau: temperature of `contrastive_loss`.
        contrastive_loss: L at `tau`.
        pairwise_accuracy: fraction of (good, bad) pairs the model orders right (nan without bad ones).
        context: the text the responses were scored after.
    """

    responses: tuple[RankedResponse, ...]
    order: tuple[int, ...]
    score_kind: ScoreKind
    tau: float
    contrastive_loss: float
    pairwise_accuracy: float
    context: str

    def scores(self, kind: ScoreKind | None = None) -> list[float]:
        return [r.score(kind or self.score_kind) for r in self.responses]

    def goods(self) -> list[bool]:
        return [r.good for r in self.responses]

    def loss_at(self, tau: float, kind: ScoreKind | None = None) -> float:
        """The contrastive loss at another temperature (no new forward pass)."""
        return contrastive_loss(self.scores(kind), self.goods(), tau)


def contrastive_loss(scores: Sequence[float], good: Sequence[bool], tau: float) -> float:
    """-1/N+ sum_{i good} log softmax(s / tau)_i over all candidates.

    Args:
        scores: s(I, R_j) for every candidate.
        good: the marks, aligned with `scores`.
        tau: temperature, > 0.

    Raises:
        ConfigError: tau <= 0, no good response, or misaligned inputs.
    """
    if not (math.isfinite(tau) and tau > 0):
        raise ConfigError(f"The temperature tau must be > 0, got {tau}.")
    if len(scores) != len(good):
        raise ConfigError("Scores and marks must have the same length.")
    if not any(good):
        raise ConfigError("Mark at least one response as good (the contrastive loss needs a positive).")
    z = np.asarray(scores, dtype=np.float64) / tau
    m = float(np.max(z))
    log_norm = m + math.log(float(np.sum(np.exp(z - m))))
    pos = np.asarray(good, dtype=bool)
    return float(-np.mean(z[pos] - log_norm))


def pairwise_accuracy(scores: Sequence[float], good: Sequence[bool]) -> float:
    """Fraction of (good, bad) pairs with the good one scored higher (ties count half)."""
    pos = [s for s, g in zip(scores, good, strict=True) if g]
    neg = [s for s, g in zip(scores, good, strict=True) if not g]
    if not pos or not neg:
        return float("nan")
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def _split_rank_template(template: str) -> tuple[str, str]:
    i, r = template.find("{instruction}"), template.find("{response}")
    if i < 0 or r < 0:
        raise PromptError("The ranking template needs {instruction} and {response}.")
    if template.count("{instruction}") > 1 or template.count("{response}") > 1:
        raise PromptError("The ranking template must contain {instruction} and {response} once each.")
    if r < i:
        raise PromptError("{response} must come after {instruction} in the ranking template.")
    return template[:r], template[r + len("{response}") :]


def _plain_context(cfg: RankConfig) -> str:
    head, tail = _split_rank_template(cfg.template)
    parts = [head.replace("{instruction}", inst.strip()) + resp.strip() + tail for inst, resp in cfg.demos]
    parts.append(head.replace("{instruction}", cfg.instruction.strip()))
    return cfg.separator.join(parts)


def chat_context(tokenizer: Any, cfg: RankConfig) -> str:
    """The chat-template text up to the opened assistant turn (BOS text removed when the
    tokenizer adds BOS itself, so it is not doubled)."""
    if not getattr(tokenizer, "chat_template", None):
        raise ConfigError("This model has no chat template; untick 'use the chat template'.")
    messages: list[dict[str, str]] = []
    if cfg.system.strip():
        messages.append({"role": "system", "content": cfg.system.strip()})
    for inst, resp in cfg.demos:
        messages += [
            {"role": "user", "content": inst.strip()},
            {"role": "assistant", "content": resp.strip()},
        ]
    messages.append({"role": "user", "content": cfg.instruction.strip()})
    text = str(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
    bos = getattr(tokenizer, "bos_token", None)
    if bos and text.startswith(bos):
        ids = tokenizer("x", add_special_tokens=True)["input_ids"]
        if ids and ids[0] == tokenizer.bos_token_id:
            text = text[len(bos) :]
    return text


def ranking_context(runner: ModelRunner, cfg: RankConfig) -> str:
    """The text each response is scored after (plain layout or chat template)."""
    if cfg.use_chat_template:
        tokenizer = getattr(runner, "tokenizer", None)
        if tokenizer is None:
            raise ConfigError(
                "This model has no tokenizer with a chat template; untick 'use the chat template'."
            )
        return chat_context(tokenizer, cfg)
    return _plain_context(cfg)


def rank_responses(
    runner: ModelRunner,
    cfg: RankConfig,
    *,
    score_kind: ScoreKind = "sum",
    tau: float = 1.0,
    progress: ProgressFn | None = None,
) -> RankingResult:
    """Scores every candidate with `runner.score` and ranks them.

    Args:
        runner: the model.
        cfg: instruction, candidates, few-shot pairs and layout.
        score_kind: ``"sum"`` (log P(R|I)) or ``"mean"`` (per token) for the ranking and loss.
        tau: temperature of the contrastive loss.
        progress: callback (fraction, message).
    """
    if score_kind not in SCORE_KINDS:
        raise ConfigError(f"Unknown score kind {score_kind!r}. Known: {', '.join(SCORE_KINDS)}.")
    context = ranking_context(runner, cfg)
    # plain layout: the template's spacing ("Response: ") moves into the continuation
    requests = [ScoreRequest(context, c.text.strip()) for c in cfg.candidates]
    results = runner.score(requests, progress=progress)
    scores = [r.logprob if score_kind == "sum" else r.mean_logprob for r in results]
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    rank_of = {i: n + 1 for n, i in enumerate(order)}
    goods = [c.good for c in cfg.candidates]
    responses = tuple(
        RankedResponse(
            text=c.text.strip(),
            good=c.good,
            logprob=r.logprob,
            mean_logprob=r.mean_logprob,
            n_tokens=r.n_tokens,
            tokens=r.tokens,
            token_logprobs=r.token_logprobs,
            rank=rank_of[i],
        )
        for i, (c, r) in enumerate(zip(cfg.candidates, results, strict=True))
    )
    return RankingResult(
        responses=responses,
        order=tuple(order),
        score_kind=score_kind,
        tau=tau,
        contrastive_loss=contrastive_loss(scores, goods, tau),
        pairwise_accuracy=pairwise_accuracy(scores, goods),
        context=context,
    )
