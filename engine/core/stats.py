"""Uncertainty of the figures the app shows: intervals on accuracies and paired tests.

Small test sets are the norm here (tens of queries on a laptop CPU), so every accuracy comes
with its Wilson score interval, and two prompt variants scored on the same queries are compared
with the exact McNemar test on the queries where they disagree (the queries where both are right
or both wrong carry no information about the difference).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
