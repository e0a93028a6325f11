"""Metrics of generated text against references, and a task evaluation loop.

* exact match and token F1 after SQuAD-style normalisation (Rajpurkar et al. 2016): lowercase,
  punctuation removed, whitespace collapsed; accents are kept ("ecole" is not "école").
* BLEU with `sacrebleu` (Post 2018): sentence BLEU with effective order per item, corpus BLEU
  for a set. BLEU counts up to 4-grams, so one-word outputs score 0 unless identical.
* ROUGE-1/2/L F-measure with `rouge-score` (Lin 2004), using a Unicode word tokenizer (the
  package's default one drops every non-ASCII letter). ROUGE-2 of a one-word output is 0.
* perplexity of the reference: ``exp(-mean log p)`` of the gold completion given the prompt,
  scored with `runner.score`, so it says how surprising the right answer is to the model
  whatever it generated.

References:
    Rajpurkar et al. 2016, "SQuAD: 100,000+ Questions for Machine Comprehension of Text".
    Post 2018, "A Call for Clarity in Reporting BLEU Scores" (sacrebleu).
    Lin 2004, "ROUGE: A Package for Automatic Evaluation of Summaries".
"""

from __future__ import annotations

import math
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from engine.core.progress import ProgressFn, StopFn
from engine.generation.config import DecodeConfig
from engine.generation.protocol import StepModel
from engine.generation.stream import GenerationStream
from engine.model.protocol import ScoreRequest
from engine.prompting.cot import GenDemo, GenFormat, build_gen_prompt, gold_completion, parse_answer

if TYPE_CHECKING:
    from engine.data.gen_tasks import GenItem
    from engine.model.protocol import ModelRunner

_WORD_RE = re.compile(r"\w+", re.UNICODE)


def normalize_answer(text: str) -> str:
    """Lowercase, drop punctuation (Unicode category P*), collapse whitespace."""
    text = "".join(" " if unicodedata.category(c).startswith("P") else c for c in text.lower())
    return " ".join(text.split())


def exact_match(prediction: str, reference: str) -> float:
    """1.0 when the normalised strings are equal, else 0.0."""
    return float(normalize_answer(prediction) == normalize_answer(reference))


def token_f1(prediction: str, reference: str) -> float:
    """F1 of the bags of normalised tokens (1.0 when both are empty, 0.0 when one is)."""
    pred = normalize_answer(prediction).split()
    ref = normalize_answer(reference).split()
    if not pred or not ref:
        return float(pred == ref)
    overlap = sum((Counter(pred) & Counter(ref)).values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(pred), overlap / len(ref)
    return 2 * precision * recall / (precision + recall)


def sentence_bleu(prediction: str, reference: str) -> float:
    """sacrebleu sentence BLEU (0-100, exponential smoothing, effective order)."""
    import sacrebleu

    return float(sacrebleu.sentence_bleu(prediction, [reference]).score)


def corpus_bleu(predictions: Sequence[str], references: Sequence[str]) -> float:
    """sacrebleu corpus BLEU (0-100) of aligned predictions and references."""
    import sacrebleu

    if len(predictions) != len(references):
        raise ValueError("predictions and references must have the same length")
    if not predictions:
        return float("nan")
    return float(sacrebleu.corpus_bleu(list(predictions), [list(references)]).score)


class _UnicodeTokenizer:
    """rouge-score tokenizer keeping non-ASCII letters (its default keeps only [a-z0-9])."""

    def tokenize(self, text: str) -> list[str]:
        return _WORD_RE.findall(text.lower())


def rouge(prediction: str, reference: str) -> dict[str, float]:
    """ROUGE-1, ROUGE-2 and ROUGE-L F-measures (0-1) from `rouge-score`."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=_UnicodeTokenizer())
    scores = scorer.score(reference, prediction)  # (target, prediction)
    return {k: float(v.fmeasure) for k, v in scores.items()}


def perplexity(token_logprobs: Sequence[float]) -> float:
    """exp of the negative mean log-prob (nan for no tokens)."""
    if not token_logprobs:
        return float("nan")
    return math.exp(-float(np.mean(token_logprobs)))


def reference_perplexities(
    runner: ModelRunner, prompts: Sequence[str], completions: Sequence[str]
) -> list[float]:
    """Perplexity of each gold completion given its prompt (one batched `runner.score` call)."""
    results = runner.score([ScoreRequest(p, c) for p, c in zip(prompts, completions, strict=True)])
    return [perplexity(r.token_logprobs) for r in results]


@dataclass(frozen=True, slots=True)
class GenScores:
    """Metrics of one prediction (or their aggregate over a set; BLEU is then corpus BLEU).

    Attributes:
        exact_match, token_f1: 0-1.
        bleu: 0-100.
        rouge1, rouge2, rougeL: F-measures, 0-1.
        perplexity: of the reference completion, when computed.
    """

    exact_match: float
    token_f1: float
    bleu: float
    rouge1: float
    rouge2: float
    rougeL: float
    perplexity: float | None = None

    def as_dict(self) -> dict[str, float | None]:
        return {
            "exact_match": self.exact_match,
            "token_f1": self.token_f1,
            "bleu": self.bleu,
            "rouge1": self.rouge1,
            "rouge2": self.rouge2,
            "rougeL": self.rougeL,
            "perplexity": self.perplexity,
        }


def score_prediction(prediction: str, reference: str, *, perplexity: float | None = None) -> GenScores:
    """All text metrics of one prediction against one reference."""
    r = rouge(prediction, reference)
    return GenScores(
        exact_match=exact_match(prediction, reference),
        token_f1=token_f1(prediction, reference),
        bleu=sentence_bleu(prediction, reference),
        rouge1=r["rouge1"],
        rouge2=r["rouge2"],
        rougeL=r["rougeL"],
        perplexity=perplexity,
    )


@dataclass(frozen=True, slots=True)
class GenEvalRow:
    """One evaluated item: what was generated, the answer read from it, and its scores."""

    input: str
    reference: str
    generated: str
    answer: str
    matched: bool
    scores: GenScores
    n_tokens: int


@dataclass(frozen=True, slots=True)
class GenEvalResult:
    """Per-item rows and the aggregate (means; corpus BLEU; median reference perplexity).

    A stopped run is `partial`: `rows` holds the first items only (each generated to its end, the
    same rows a full run starts with), `overall` is over those, and `n_total` says how many items
    were asked for (0 in results made before runs could stop: read `n_done` then).
    """

    rows: tuple[GenEvalRow, ...]
    overall: GenScores
    seconds: float
    partial: bool = False
    n_total: int = 0
    tokens: int = 0  # tokens generated over the rows done

    @property
    def n_done(self) -> int:
        return len(self.rows)


def aggregate(rows: Sequence[GenEvalRow]) -> GenScores:
    """Means of the per-item metrics; BLEU is corpus BLEU; perplexity is the median (it is skewed)."""
    if not rows:
        nan = float("nan")
        return GenScores(nan, nan, nan, nan, nan, nan, None)
    ppl = [r.scores.perplexity for r in rows if r.scores.perplexity is not None]
    return GenScores(
        exact_match=float(np.mean([r.scores.exact_match for r in rows])),
        token_f1=float(np.mean([r.scores.token_f1 for r in rows])),
        bleu=corpus_bleu([r.answer for r in rows], [r.reference for r in rows]),
        rouge1=float(np.mean([r.scores.rouge1 for r in rows])),
        rouge2=float(np.mean([r.scores.rouge2 for r in rows])),
        rougeL=float(np.mean([r.scores.rougeL for r in rows])),
        perplexity=float(np.median(ppl)) if ppl else None,
    )


def evaluate_generation(
    model: StepModel,
    fmt: GenFormat,
    demos: Sequence[GenDemo],
    items: Sequence[GenItem],
    cfg: DecodeConfig,
    *,
    answer_pattern: str | None = None,
    runner: ModelRunner | None = None,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    on_item: Callable[[GenEvalResult], None] | None = None,
    on_step: Callable[[int, GenerationStream], None] | None = None,
) -> GenEvalResult:
    """Generates for each item with the same demonstrations and scores the parsed answers.

    Args:
        model: the model as a `StepModel`.
        fmt, demos: prompt layout and demonstrations (shared by every item).
        items: queries with references.
        cfg: decoding settings.
        answer_pattern: regex reading the answer (see `engine.prompting.cot.parse_answer`).
        runner: when given, the reference perplexity is computed with `runner.score`.
        progress: callback (fraction, message).
        should_stop: asked between items and at every decoding step; True ends the run with the
            items done so far, marked `partial` (an item stopped mid-generation is dropped: its
            text is not an answer).
        on_item: called with the (partial) result after each item but the last.
        on_step: called with (item index, its `GenerationStream`) at every decoding step, e.g.
            to show the tokens of the item under way.
    """
    t0 = time.perf_counter()
    prompts = [
        build_gen_prompt(
            fmt,
            demos,
            it.input,
            count_tokens=lambda s: len(model.encode_prompt(s)),
            max_tokens=model.n_ctx,
            reserve_tokens=cfg.max_new_tokens,
        )
        for it in items
    ]
    ppl: list[float | None] = [None] * len(items)
    if runner is not None:
        golds = [gold_completion(fmt, it.output, it.reasoning) for it in items]
        idx = [i for i, g in enumerate(golds) if g is not None]
        if idx:
            values = reference_perplexities(
                runner, [prompts[i].text for i in idx], [golds[i] or "" for i in idx]
            )
            for i, v in zip(idx, values, strict=True):
                ppl[i] = v
    rows: list[GenEvalRow] = []
    tokens = 0

    def so_far(partial: bool) -> GenEvalResult:
        return GenEvalResult(
            tuple(rows), aggregate(rows), time.perf_counter() - t0, partial, len(items), tokens
        )

    for n, (it, prompt) in enumerate(zip(items, prompts, strict=True)):
        if n and should_stop is not None and should_stop():
            return so_far(True)
        step_fn = None if on_step is None else (lambda stream, n=n: on_step(n, stream))
        result = GenerationStream(model, prompt.text, cfg, should_stop=should_stop, on_step=step_fn).result()
        if result.partial:
            return so_far(True)
        tokens += len(result.tokens)
        parsed = parse_answer(result.text, answer_pattern)
        rows.append(
            GenEvalRow(
                input=it.input,
                reference=it.output,
                generated=result.text,
                answer=parsed.answer,
                matched=parsed.matched,
                scores=score_prediction(parsed.answer, it.output, perplexity=ppl[n]),
                n_tokens=len(result.tokens),
            )
        )
        if progress is not None:
            progress((n + 1) / len(items), f"generated {n + 1}/{len(items)}")
        if on_item is not None and n + 1 < len(items):
            on_item(so_far(True))
    return so_far(False)
