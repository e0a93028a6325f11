"""The paired statistics behind the ablation's drops (`engine.core.stats`): the exact interval of a
paired difference agrees with the exact McNemar test, and the bootstrap interval is seeded."""

from __future__ import annotations

import numpy as np
import pytest

from engine.core.stats import bootstrap_mean_ci, mcnemar_exact, paired_difference_ci


@pytest.mark.parametrize("n", [10, 40])
def test_the_exact_interval_excludes_zero_exactly_when_mcnemar_rejects(n: int) -> None:
    for lost in range(0, 9):
        for gained in range(0, 9 - lost):
            lo, hi = paired_difference_ci(lost, gained, n)
            assert lo <= (lost - gained) / n <= hi
            excludes_zero = lo > 0 or hi < 0
            assert excludes_zero == (mcnemar_exact(gained, lost) < 0.05), (lost, gained)


def test_no_discordant_query_gives_a_point_interval() -> None:
    assert paired_difference_ci(0, 0, 30) == (0.0, 0.0)
    # 3 lost, 0 gained of 3 discordant: at most 3 / 20 worse, never better than 3 / 20 * (2 * low - 1)
    lo, hi = paired_difference_ci(3, 0, 20)
    assert hi == pytest.approx(3 / 20) and 0 > lo > -3 / 20


def test_bootstrap_interval_is_seeded_and_holds_the_mean() -> None:
    x = np.linspace(-0.2, 0.4, 25)
    a = bootstrap_mean_ci(x, seed=3)
    assert a == bootstrap_mean_ci(x, seed=3)
    assert a != bootstrap_mean_ci(x, seed=4)
    assert a[0] < x.mean() < a[1]
    assert bootstrap_mean_ci(np.full(5, 0.25)) == (0.25, 0.25)
    lo, hi = bootstrap_mean_ci([])
    assert np.isnan(lo) and np.isnan(hi)
