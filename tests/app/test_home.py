"""Home page: live example on the real model and the guided tour's first steps."""

from __future__ import annotations

from tests.app.conftest import new_app


def test_home_live_example_and_tour_zero_shot() -> None:
    at = new_app()
    assert not at.exception, at.exception
    assert at.title[0].value == "ICL Explorer"
    table = next(d.value for d in at.dataframe if "prompt" in d.value.columns)
    assert list(table["prompt"]) == ["zero-shot", "4-shot"]
    probs = table[[c for c in table.columns if c.startswith("P(")]]
    assert ((probs.sum(axis=1) - 1).abs() < 0.01).all()
    at.button(key="tour_zero").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Prompt Lab"
    assert at.session_state["pl_demos"] == []
    assert any("Predicted label" in str(m.value) for m in at.markdown)


def test_tour_few_shot_opens_prompt_lab_with_four_demos() -> None:
    at = new_app()
    at.button(key="tour_few").click().run()
    assert not at.exception, at.exception
    assert len(at.session_state["pl_demos"]) == 4
    assert any("Predicted label" in str(m.value) for m in at.markdown)
