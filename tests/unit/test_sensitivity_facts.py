"""Sensitivity summaries, notes and settings as facts (issue 13): one English template per code,
a Chinese template of every code with the same fields, the registry against its Literal, and
the statistics in engine.core.stats."""

from __future__ import annotations

import math
import string

import numpy as np
import pytest
from scipy.stats import binomtest

import engine.experiments.sensitivity as sensitivity
from components.i18n_zh_sensitivity import ZH_SENSITIVITY_FACTS
from engine.core import stats
from engine.core.errors import ConfigError
from engine.experiments.sensitivity import (
    ENGLISH,
    EXPERIMENTS,
    ExperimentName,
    Fact,
    Joined,
    SensitivityConfig,
    english,
    max_evaluations,
    pct,
    render,
)
from engine.prompting.prompts import PromptFormat


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_the_registry_matches_its_literal_and_lists_known_names() -> None:
    EXPERIMENTS.check_literal(ExperimentName)
    with pytest.raises(ConfigError, match=r"Unknown experiment 'nope'\. Known: order, selection, kcurve"):
        SensitivityConfig("nope", PromptFormat("{text} {label}"), (("a", "x"), ("b", "y")))


def test_every_code_has_a_chinese_template_with_the_same_fields() -> None:
    assert set(ZH_SENSITIVITY_FACTS) == set(ENGLISH)
    # the one difference: a scorer is named by its title in English, by its id (as in the menus) in Chinese
    renamed = {"kcurve.scorer": {"scorer_title": "scorer"}}
    for code, template in ENGLISH.items():
        english_fields = {renamed.get(code, {}).get(f, f) for f in _fields(template)}
        assert _fields(ZH_SENSITIVITY_FACTS[code]) == english_fields, code


@pytest.mark.parametrize("x", [0.0, 1.0, 0.125, 0.675, 1 / 3, 2 / 3, 0.0005, 0.9995, 0.1 + 0.2])
def test_percent_format_is_the_summaries_pct(x: float) -> None:
    """The templates format proportions with ``{x:.1%}``; the sentences said ``pct(x)`` before."""
    assert f"{x:.1%}" == pct(x)


def test_percent_format_is_pct_for_every_mean_accuracy() -> None:
    for n in (7, 10, 40, 100):
        for runs in (1, 2, 3):
            for c in range(n * runs + 1):
                x = c / (n * runs)
                assert f"{x:.1%}" == pct(x), (c, n, runs)


def test_render_nested_facts_lists_and_left_out_clauses() -> None:
    fact = Fact(
        "summary.label_words",
        {
            "parts": Joined((Fact("label_words.part", {"words": "bad/good", "acc": 0.8}), "x")),
            "change": None,
            "seeds": Fact("seeds.many", {"n": 2}),
            "chance": 0.5,
        },
    )
    assert english(fact) == "Label words bad/good 80.0%, x (mean over 2 draws; chance 50.0%)."
    zh = render(fact, ZH_SENSITIVITY_FACTS)
    assert zh.startswith("标签词 bad/good 80.0%,x(") and "50.0%" in zh


@pytest.mark.parametrize(
    ("experiment", "changes", "expected"),
    [
        ("order", {"k": 3, "n": 10}, 6),
        ("order", {"k": 4, "n": 10}, 10),
        ("selection", {"n": 7}, 7),
        ("kcurve", {"n": 3, "ks": (0, 1, 2), "scorers": ("direct", "ppl")}, 2 * (1 + 2 * 3)),
        ("labels", {"n": 2}, 8),
        ("label_words", {"n": 2, "alt_label_words": (("p", "q"),)}, 6),
        ("format", {"n": 2, "templates": ("Q: {text} A: {label}",)}, 6),
    ],
)
def test_the_spec_counts_the_evaluations(experiment: str, changes: dict[str, object], expected: int) -> None:
    fmt = PromptFormat("Review: {text}\nSentiment: {label}", instruction="Classify.")
    cfg = SensitivityConfig(experiment, fmt, (("negative", "bad"), ("positive", "good")), **changes)  # type: ignore[arg-type]
    assert max_evaluations(cfg) == EXPERIMENTS[experiment].max_evaluations(cfg) == expected


def test_the_statistics_live_in_core_stats() -> None:
    assert sensitivity.wilson_interval is stats.wilson_interval
    assert sensitivity.within_noise is stats.within_noise
    # whole counts: the same interval as scipy's Wilson (and as stats.wilson)
    for c, n in ((0, 10), (3, 10), (31, 40), (40, 40)):
        ci = binomtest(c, n).proportion_ci(method="wilson")
        assert stats.wilson_interval(c / n, n) == pytest.approx((ci.low, ci.high), abs=1e-9)
        assert stats.wilson_interval(c / n, n) == pytest.approx(stats.wilson(c, n), abs=1e-9)
    # Newcombe's interval of a difference: 0.5 vs 0.8 over 40 queries is beyond noise, over 10 within
    assert not stats.within_noise(0.5, 0.8, 40) and stats.within_noise(0.5, 0.8, 10)
    lo, hi = stats.wilson_interval(0.5, 40)
    assert math.isclose(lo + hi, 1.0) and np.isclose(hi - 0.5, 0.5 - lo)
