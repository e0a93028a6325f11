"""Calibrations: correct a prompt's bias towards some labels by dividing by a label prior.

Every calibration acts on the label log-probs normalised over the labels,
``log q(y|x) = log_softmax_y(score)`` (for ppl the score entering the softmax is minus the mean
NLL, a heuristic that makes ppl results comparable; for channel, the softmax is P(y|x) by Bayes
with a uniform prior), and returns ``log q - log prior``, renormalised (W = diag(prior)^-1, b = 0).
A spec in `CALIBRATIONS` says which content-free inputs it scores and where its prior comes from:

* ``none``: raw scores.
* ``contextual`` (Zhao et al. 2021): p_cf = mean of q(y | content-free input) over the inputs
  "N/A", "" and "[MASK]" placed in the query slot of the same prompt. Direct scoring only.
* ``domain`` (Fei et al. 2023, domain-context calibration): the same with ~20 random strings of
  in-domain words (sampled from the task's texts, of their average length in words) as the
  content-free inputs. Direct scoring only.
* ``batch`` (Zhou et al. 2023): the prior is estimated from the evaluated batch itself:
  ``p_b(y) = mean_i q(y | x_i)`` (the paper's definition: the mean *probability*, not the mean
  log-prob). Any scorer.

References:
    Zhao et al. 2021, "Calibrate Before Use: Improving Few-Shot Performance of Language Models" (ICML).
    Fei et al. 2023, "Mitigating Label Biases for In-context Learning" (ACL).
    Zhou et al. 2023, "Batch Calibration: Rethinking Calibration for In-Context Learning" (ICLR 2024).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from engine.core.errors import ConfigError
from engine.core.registry import Registry
from engine.scoring.types import CONTENT_FREE, CalibrationSpec

CALIBRATIONS = Registry[CalibrationSpec]("calibration", make=CalibrationSpec.of)
CALIBRATIONS.add("none", CalibrationSpec("none", "None", "Raw label scores."))


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


@CALIBRATIONS.register(
    "contextual",
    title="Contextual",
    description='Divide by label probabilities of content-free inputs "N/A", "", "[MASK]" (Zhao et al. 2021).',
    prior="content_free",
)
def contextual_inputs(texts: Sequence[str], n: int, rng: np.random.Generator) -> tuple[str, ...]:
    """The fixed content-free inputs of Zhao et al. 2021 (`texts`, `n` and `rng` unused)."""
    return CONTENT_FREE


@CALIBRATIONS.register(
    "domain",
    title="Domain-context",
    description="Divide by label probabilities of random in-domain word strings (Fei et al. 2023).",
    prior="content_free",
)
def domain_inputs(texts: Sequence[str], n: int, rng: np.random.Generator) -> tuple[str, ...]:
    """`n` random strings of in-domain words (`domain_strings`)."""
    return tuple(domain_strings(texts, n, rng))


CALIBRATIONS.add(
    "batch",
    CalibrationSpec(
        "batch",
        "Batch",
        "Divide by the mean label probability over the evaluated batch (Zhou et al. 2023).",
        prior="batch",
    ),
)


class CalibrationSettings(Protocol):
    """What the calibration reads of the scoring config (`ScoringConfig` is one)."""

    @property
    def calibration(self) -> str: ...

    @property
    def n_domain(self) -> int: ...


def content_free_inputs(
    cfg: CalibrationSettings, domain_texts: Sequence[str], rng: np.random.Generator
) -> tuple[str, ...]:
    """The content-free query texts of the configured calibration (empty for none / batch)."""
    make = CALIBRATIONS.lookup(cfg.calibration).content_free
    return () if make is None else make(domain_texts, cfg.n_domain, rng)


# ----------------------------------------------------------------------------------- maths
def log_normalize(logits: np.ndarray) -> np.ndarray:
    """log-softmax over the last axis (labels), float64."""
    x = np.asarray(logits, dtype=np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def mean_label_probs(logits: np.ndarray) -> np.ndarray:
    """Label probabilities of each row of `logits` `[row, label]`, normalised, then averaged `[label]`."""
    p = np.exp(log_normalize(logits)).mean(axis=0)
    return p / p.sum()


def contextual_prior(cf_logits: np.ndarray) -> np.ndarray:
    """p_cf: label probabilities of content-free inputs `[n_cf, label]`, normalised, then averaged."""
    return mean_label_probs(cf_logits)


def batch_prior(logits: np.ndarray) -> np.ndarray:
    """Batch calibration prior: mean over queries of the normalised label probabilities `[label]`."""
    return mean_label_probs(logits)


def apply_prior(logits: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Calibrated log-probs `[..., label]`: log q - log prior, renormalised (W = diag(prior)^-1)."""
    return log_normalize(log_normalize(logits) - np.log(np.maximum(prior, 1e-300)))
