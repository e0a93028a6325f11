"""Seeded, disjoint splits of a classification data set into a demonstration pool and a test set, and
per-label counts (what the sidebar and the CLI show about a split)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from engine.core.errors import DataError
from engine.data.types import Dataset, Example, Split


def split_dataset(
    ds: Dataset, *, n_test: int | None = None, seed: int = 0, test_fraction: float = 0.2
) -> Split:
    """Splits a data set into a demonstration pool and a test set, deterministically.

    The rows are shuffled with ``np.random.default_rng(seed).permutation``; the test set is the first
    ``n_test`` shuffled rows and the pool is the rest, each kept in shuffled order.

    Args:
        ds: The data set.
        n_test: Number of test examples (0..len); ``None`` uses ``test_fraction``.
        seed: Seed of the permutation.
        test_fraction: Fraction of rows used for testing when ``n_test`` is None, in (0, 1); the result is
            rounded and kept between 1 and len - 1.

    Returns:
        The disjoint pool and test examples.

    Raises:
        DataError: If ``n_test`` is negative or larger than the data set, or ``test_fraction`` is out of range.
    """
    n = len(ds.examples)
    if n_test is None:
        if not 0.0 < test_fraction < 1.0:
            raise DataError(f"The test fraction must be between 0 and 1 (exclusive), got {test_fraction}.")
        n_test = min(max(round(test_fraction * n), 1), max(n - 1, 1))
    elif n_test < 0:
        raise DataError(f"The number of test examples must be 0 or more, got {n_test}.")
    elif n_test > n:
        raise DataError(
            f"Asked for {n_test} test examples but {ds.title} has only {n} examples; use at most {n}."
        )
    order = np.random.default_rng(seed).permutation(n)
    shuffled = [ds.examples[int(i)] for i in order]
    return Split(pool=tuple(shuffled[n_test:]), test=tuple(shuffled[:n_test]))


def label_counts(examples: Iterable[Example], label_names: Sequence[str] | None = None) -> dict[str, int]:
    """Counts examples per label.

    Args:
        examples: The examples.
        label_names: If given, the result lists these labels first, in this order, zeros included.

    Returns:
        Label name -> count; labels not in ``label_names`` follow in order of first appearance.
    """
    counts: dict[str, int] = dict.fromkeys(label_names or (), 0)
    for ex in examples:
        counts[ex.label] = counts.get(ex.label, 0) + 1
    return counts
