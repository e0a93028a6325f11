"""The one token strip (components.tokens.strip_html) as the Generation and Ranking views draw it."""

from __future__ import annotations

import math

import pytest

from components import generation_views as gv
from components import surprisal, tokens
from engine.generation import DECODERS


def test_generation_strip_shades_by_probability_and_lists_the_alternatives() -> None:
    out = tokens.generation_strip_html(
        [" Paris", "\n", "<b>"],
        [math.log(0.5), 0.0, -math.inf],
        [[(" Paris", math.log(0.5)), (" Rome", -2.0)]],
    )
    assert out.count("<span") == 3 and "↵<br>" in out and "&#60;b&#62;" in out and "<b>" not in out
    assert "p = 0.500  (log p = -0.693) — top: &#x27; Paris&#x27; 0.500; &#x27; Rome&#x27; 0.135" in out
    assert (
        tokens.prob_colour(0.5) in out and tokens.prob_colour(1.0) in out and tokens.prob_colour(0.0) in out
    )
    assert (
        tokens.prob_colour(0.0) == "rgba(230,90,90,0.35)"
        and tokens.prob_colour(1.0, alpha=0.9) == "rgba(80,220,90,0.9)"
    )
    assert gv.token_strip_html is tokens.generation_strip_html  # the old name in generation_views


def test_one_renderer_draws_all_three_views() -> None:
    lp = math.log(1 / 8)
    scoring = tokens.token_html(["a", " b"], [float("nan"), lp])
    attention = surprisal.token_html(["a", " b"], [float("nan"), lp])
    generation = tokens.generation_strip_html(["a", " b"], [lp, lp])
    box = '<div style="font-family:monospace;font-size:0.85rem;line-height:1.9;'
    for out in (scoring, attention, generation):
        assert out.startswith(box) and out.count("border-radius:3px;padding:1px 0;white-space:pre-wrap") == 2
    assert tokens.colour(lp) in scoring and tokens.colour(lp) in attention  # one surprisal scale
    assert tokens.UNSCORED_GREY in attention and "transparent" in scoring
    with pytest.raises(ValueError):
        tokens.strip_html(["a"], [], ["x"])


def test_each_strategy_title_has_its_chinese() -> None:
    """The UI titles are the specs' descriptions, translated by their text (not typed again)."""
    from components.generation_controls import STRATEGY_TITLES
    from components.i18n_zh import ZH

    assert {name: spec.description for name, spec in DECODERS.items()} == STRATEGY_TITLES
    assert all(ZH.get(spec.description) for spec in DECODERS.values())
