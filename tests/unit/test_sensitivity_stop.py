"""Stopping a sensitivity experiment between evaluations (issue 22, long work): the partial result
holds the rows of the evaluations done (equal to a full run's), says it is partial and on how many
evaluations it rests, keeps paired experiments on whole draws, and its summary counts the draws
it has; the summaries say whether their differences are beyond the noise of the test queries."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from engine.experiments.sensitivity import (
    SensitivityResult,
    count_evaluations,
    noise_word,
    run_experiment,
    wilson_interval,
    within_noise,
)
from tests.unit.test_sensitivity import POOL, QUERIES, cfg_of, copy_last_label_runner

CONFIGS: dict[str, dict[str, object]] = {
    "order": {"k": 3, "n": 4},
    "selection": {"k": 2, "n": 4},
    "kcurve": {"ks": (0, 1, 2), "n": 2},
    "labels": {"k": 3, "n": 2},
    "label_words": {"k": 2, "n": 2, "alt_label_words": (("bad", "good"),)},
    "format": {"k": 2, "n": 2, "templates": ("Input: {text}\nLabel: {label}",)},
}


def stop_after(n: int) -> Callable[[], bool]:
    """A stop check that says stop once `n` evaluations are done (it is asked before every
    evaluation but the first)."""
    asked = [0]

    def stop() -> bool:
        asked[0] += 1
        return asked[0] >= n

    return stop


def accs(res: SensitivityResult) -> dict[str, tuple[float, ...]]:
    return {r.setting: r.accuracies for r in res.rows}


@pytest.mark.parametrize("experiment", list(CONFIGS))
def test_stop_after_the_first_evaluation_keeps_a_full_runs_first_row(experiment: str) -> None:
    cfg = cfg_of(experiment, **CONFIGS[experiment])
    full = run_experiment(copy_last_label_runner(), POOL, QUERIES, cfg)
    assert not full.partial and full.n_total == full.n_evaluations
    assert count_evaluations(copy_last_label_runner(), POOL, QUERIES, cfg) == full.n_total
    part = run_experiment(copy_last_label_runner(), POOL, QUERIES, cfg, should_stop=lambda: True)
    assert part.partial and part.n_evaluations == 1 and part.n_total == full.n_total
    assert len(part.rows) == 1
    first = full.rows[0]
    assert part.rows[0].setting == first.setting
    assert part.rows[0].accuracies == first.accuracies[:1]
    assert part.rows[0].n == len(QUERIES)  # a whole evaluation: every query
    assert part.summary  # the summary handles the settings it has
    out = part.to_json()
    assert out["partial"] == 1 and out["n_total"] == full.n_total and len(out["rows"]) == 1
    assert "partial" not in full.to_json()


@pytest.mark.parametrize("experiment", list(CONFIGS))
def test_chunks_without_a_stop_give_the_full_result(experiment: str) -> None:
    cfg = cfg_of(experiment, **CONFIGS[experiment])
    full = run_experiment(copy_last_label_runner(), POOL, QUERIES, cfg)
    seen: list[SensitivityResult] = []
    res = run_experiment(
        copy_last_label_runner(), POOL, QUERIES, cfg, should_stop=lambda: False, on_chunk=seen.append
    )
    assert not res.partial and accs(res) == accs(full) and res.summary == full.summary
    # a partial result after every evaluation but the last, counting up
    assert [p.n_evaluations for p in seen] == list(range(1, full.n_total))
    assert all(p.partial and p.n_total == full.n_total for p in seen)


def test_order_stopped_after_two_of_four_orders() -> None:
    cfg = cfg_of("order", k=3, n=4)
    full = run_experiment(copy_last_label_runner(), POOL, QUERIES, cfg)
    part = run_experiment(copy_last_label_runner(), POOL, QUERIES, cfg, should_stop=stop_after(2))
    assert part.n_evaluations == 2 and part.n_total == 4
    assert [r.setting for r in part.rows] == [r.setting for r in full.rows[:2]]
    assert accs(part) == {r.setting: r.accuracies for r in full.rows[:2]}
    assert "over 2 orders of the same 3 demonstrations" in part.summary


def test_labels_keep_whole_draws_so_settings_stay_paired() -> None:
    cfg = cfg_of("labels", k=3, n=2)
    full = run_experiment(copy_last_label_runner(), POOL, QUERIES, cfg)
    # draw 1 (4 evaluations) done, and draw 2's gold labels: that one is left out (with draw 2's
    # random labels when they equal its gold ones and were reused)
    part = run_experiment(copy_last_label_runner(), POOL, QUERIES, cfg, should_stop=stop_after(5))
    assert part.partial and part.n_evaluations == 5 and part.n_total == full.n_total
    assert [r.setting for r in part.rows] == [r.setting for r in full.rows]
    assert all(r.runs == 1 for r in part.rows)
    assert accs(part) == {r.setting: r.accuracies[:1] for r in full.rows}
    left_out = [re.match(r"(\d+) evaluations of the unfinished draw left out", n) for n in part.notes]
    assert any(m is not None and int(m.group(1)) in (1, 2) for m in left_out), part.notes
    assert "(one draw; chance" in part.summary and "mean over 2 draws" in full.summary
    # stopped inside the first draw: the conditions reached, on that draw
    early = run_experiment(copy_last_label_runner(), POOL, QUERIES, cfg, should_stop=stop_after(2))
    reached = [r.fields["condition"] for r in early.rows]
    assert 2 <= len(reached) < 4 and reached == ["gold", "random", "flipped"][: len(reached)]
    assert "no labels" not in early.summary and "random labels" in early.summary
    assert not early.notes


def test_kcurve_stopped_counts_the_draws_it_has() -> None:
    cfg = cfg_of("kcurve", ks=(0, 1, 2), n=2)
    full = run_experiment(copy_last_label_runner(), POOL, QUERIES, cfg)
    assert full.n_total == 5  # k = 0 once, k = 1 and 2 twice
    part = run_experiment(copy_last_label_runner(), POOL, QUERIES, cfg, should_stop=stop_after(2))
    assert [r.setting for r in part.rows] == ["direct k=0", "direct k=1"]
    assert part.rows[1].runs == 1 and part.rows[1].accuracies == full.rows[1].accuracies[:1]
    assert "one draw per k" in part.summary and "mean over 2 seeded draws" in full.summary


def test_labels_summary_says_whether_each_difference_is_beyond_noise() -> None:
    res = run_experiment(copy_last_label_runner(), POOL, QUERIES, cfg_of("labels", k=3, n=2))
    acc = {str(r.fields["condition"]): r.accuracy for r in res.rows}
    n = len(QUERIES)
    lo, hi = wilson_interval(acc["gold"], n)
    assert f"95% Wilson interval over {n} queries: {100 * lo:.1f}%–{100 * hi:.1f}%" in res.summary
    for cond in ("random", "flipped", "none"):
        word = "within noise" if within_noise(acc[cond], acc["gold"], n) else "beyond noise"
        assert f"{100 * (acc[cond] - acc['gold']):+.1f} points, {word})" in res.summary, cond


def test_noise_word() -> None:
    assert noise_word(0.55, 0.45, 20) == "within noise"  # 2 of 20 queries
    assert noise_word(0.95, 0.45, 100) == "beyond noise"
    assert noise_word(0.5, 0.5, 1) == "within noise"
