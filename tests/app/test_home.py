"""Home page: live example on the real model and the guided tour's first steps."""

from __future__ import annotations

import re

import pytest

from tests.app.conftest import new_app


def test_home_live_example_and_tour_zero_shot() -> None:
    at = new_app()
    assert not at.exception, at.exception
    assert at.title[0].value == "ICL Explorer"
    table = next(d.value for d in at.dataframe if "prompt" in d.value.columns)
    assert list(table["prompt"]) == ["zero-shot", "4-shot"]
    probs = table[[c for c in table.columns if c.startswith("P(")]]
    assert ((probs.sum(axis=1) - 1).abs() < 0.01).all()
    # issue 22: the example shows what the page explains (the demonstrations turn a wrong answer
    # right), and the aggregate beside it says, with intervals and a paired test, how typical it is
    assert table["prediction"][0] != table["gold"][0] and table["prediction"][1] == table["gold"][1]
    summary = next(str(m.value) for m in at.markdown if "Over the first 64 test queries" in str(m.value))
    m = re.search(
        r"zero-shot (\d+) % right \(95 % interval (\d+) %-(\d+) %\), 4-shot (\d+) % \(95 % interval (\d+) %-(\d+) %\)",
        summary,
    )
    assert m is not None, summary
    zero, zero_lo, zero_hi, few, few_lo, few_hi = (int(x) for x in m.groups())
    assert zero_lo <= zero <= zero_hi and few_lo <= few <= few_hi
    assert "McNemar" in summary
    fixed, broke = (int(x) for x in re.search(r"fixed (\d+) answers and broke (\d+)", summary).groups())  # type: ignore[union-attr]
    assert fixed >= 1  # the example shown is one of them
    assert few - zero == pytest.approx(100 * (fixed - broke) / 64, abs=2)  # rounding of the two figures
    # the tour's first step opens the Prompt Lab on that same query
    example_query = at.session_state["home_example_query"]
    at.button(key="tour_zero").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Prompt Lab"
    assert at.session_state["pl_demos"] == []
    assert at.text_area(key="w_pl_query").value == example_query
    assert any("Predicted label" in str(m.value) for m in at.markdown)


def test_tour_few_shot_opens_prompt_lab_with_four_demos() -> None:
    at = new_app()
    at.button(key="tour_few").click().run()
    assert not at.exception, at.exception
    assert len(at.session_state["pl_demos"]) == 4
    assert any("Predicted label" in str(m.value) for m in at.markdown)
