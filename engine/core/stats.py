"""Uncertainty of the figures the app shows: intervals on accuracies and paired tests.

Small test sets are the norm here (tens of queries on a laptop CPU), so every accuracy comes
with its Wilson score interval, and two prompt variants scored on the same queries are compared
with the exact McNemar test on the queries where they disagree (the queries where both are right
or both wrong carry no information about the difference).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
ALPHA = 0.05


def wilson(successes: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval of a proportion `successes / n` ((0, 1) when n is 0)."""
    if n <= 0:
        return 0.0, 1.0
    from scipy.stats import binomtest

    ci = binomtest(int(successes), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts (1.0 when there are none)."""
    m = int(only_a) + int(only_b)
    if m == 0:
        return 1.0
    from scipy.stats import binomtest

    return float(binomtest(int(only_b), m, 0.5).pvalue)


@dataclass(frozen=True, slots=True)
class PairedComparison:
    """Two variants scored right/wrong on the same queries.

    Attributes:
        n: queries.
        correct_a, correct_b: queries each variant got right.
        only_a, only_b: queries only that variant got right (the discordant pairs).
        ci_a, ci_b: Wilson intervals of the two accuracies.
        p_value: exact McNemar test of "the two variants are equally accurate".
    """

    n: int
    correct_a: int
    correct_b: int
    only_a: int
    only_b: int
    ci_a: tuple[float, float]
    ci_b: tuple[float, float]
    p_value: float

    @property
    def accuracy_a(self) -> float:
        return self.correct_a / self.n if self.n else 0.0

    @property
    def accuracy_b(self) -> float:
        return self.correct_b / self.n if self.n else 0.0

    @property
    def significant(self) -> bool:
        """Whether the difference is beyond noise at the 5 % level."""
        return self.p_value < ALPHA


def compare_paired(right_a: Sequence[bool], right_b: Sequence[bool]) -> PairedComparison:
    """Compares two variants from their per-query right/wrong, in the same query order."""
    if len(right_a) != len(right_b):
        raise ValueError("Both variants must be scored on the same queries.")
    n = len(right_a)
    ca, cb = sum(map(bool, right_a)), sum(map(bool, right_b))
    only_a = sum(1 for a, b in zip(right_a, right_b, strict=True) if a and not b)
    only_b = sum(1 for a, b in zip(right_a, right_b, strict=True) if b and not a)
    return PairedComparison(
        n, ca, cb, only_a, only_b, wilson(ca, n), wilson(cb, n), mcnemar_exact(only_a, only_b)
    )


def paired_difference_ci(only_a: int, only_b: int, n: int, alpha: float = ALPHA) -> tuple[float, float]:
    """Exact ``1 - alpha`` interval of the paired accuracy difference ``(only_a - only_b) / n``.

    Only the ``m = only_a + only_b`` discordant queries carry information about the difference:
    the Clopper-Pearson interval of ``only_a / m`` is mapped onto the difference, scaled by
    ``m / n``. It excludes 0 exactly when the exact McNemar test rejects at level `alpha`.
    (0, 0) when no query is discordant.
    """
    m = int(only_a) + int(only_b)
    if m == 0 or n <= 0:
        return 0.0, 0.0
    from scipy.stats import binomtest

    ci = binomtest(int(only_a), m, 0.5).proportion_ci(confidence_level=1.0 - alpha, method="exact")
    return m / n * (2.0 * ci.low - 1.0), m / n * (2.0 * ci.high - 1.0)


def bootstrap_mean_ci(
    values: Sequence[float] | np.ndarray, alpha: float = ALPHA, *, n_boot: int = 4000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap ``1 - alpha`` interval of the mean of `values` (resampled with
    replacement, `n_boot` times, seeded by `seed`); (nan, nan) when there are no values."""
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    if n == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    boot = x[rng.integers(0, n, size=(n_boot, n))].mean(axis=1)
    lo, hi = np.quantile(boot, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(lo), float(hi)


_EPS = 1e-9  # accuracies are means of fractions: compare them with a tolerance


def wilson_interval(p: float, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval of a proportion `p` observed over `n` trials.

    `p * n` need not be a whole number (a mean accuracy over seeded draws of the same `n`
    queries), which is why this is the closed form and not `wilson` (counts only); for whole
    numbers it is scipy's ``binomtest(...).proportion_ci(method="wilson")`` (statsmodels'
    ``proportion_confint(method="wilson")``) up to rounding.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}.")
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + confidence / 2))
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(max(p * (1 - p), 0.0) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def within_noise(a: float, b: float, n: int, confidence: float = CONFIDENCE) -> bool:
    """Whether accuracies `a` and `b` over `n` queries each are within noise of each other:
    Newcombe's (1998) interval of the difference, built from the two Wilson intervals
    (`wilson_interval`), holds 0. Unpaired: for two settings scored on the same queries whose
    per-query results are not at hand (means over seeded draws); with them, use `compare_paired`."""
    a_lo, a_hi = wilson_interval(a, n, confidence)
    b_lo, b_hi = wilson_interval(b, n, confidence)
    d = a - b
    lo = d - math.hypot(a - a_lo, b_hi - b)
    hi = d + math.hypot(a_hi - a, b - b_lo)
    return lo - _EPS <= 0.0 <= hi + _EPS
