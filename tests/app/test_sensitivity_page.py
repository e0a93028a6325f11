"""Sensitivity page in Streamlit's AppTest (small runs on the real default model)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import new_app

PAGE = "pages/sensitivity.py"


@pytest.fixture()
def at() -> AppTest:
    app = new_app(PAGE)
    assert not app.exception, app.exception
    return app


def _errors(app: AppTest) -> list[str]:
    return [str(e.value) for e in app.error]


def test_order_variance_runs_and_shows_everything(at: AppTest) -> None:
    at.selectbox(key="sens_experiment").set_value("order").run()
    at.number_input(key="sens_n_test").set_value(4).run()
    at.number_input(key="sens_k").set_value(2).run()
    at.number_input(key="sens_n_order").set_value(2).run()
    at.button(key="sens_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, _errors(at)
    summary = " ".join(str(s.value) for s in at.success)
    assert "over 2 orders of the same 2 demonstrations" in summary
    assert len(at.get("plotly_chart")) >= 1
    table = at.dataframe[0].value
    assert len(table) == 2 and {"setting", "accuracy", "macro_f1", "permutation"} <= set(table.columns)
    assert at.get("download_button")
    # best and worst prompts are shown
    assert any("Best" in str(m.value) for m in at.markdown) and any(
        "Worst" in str(m.value) for m in at.markdown
    )
    # the prompt comes from the shared Prompt Lab state (SST-2's template)
    assert any("Sentiment:" in str(c.value) for c in at.code)


def test_kcurve_runs(at: AppTest) -> None:
    at.selectbox(key="sens_experiment").set_value("kcurve").run()
    at.number_input(key="sens_n_test").set_value(3).run()
    at.multiselect(key="sens_ks").set_value([0, 1]).run()
    at.number_input(key="sens_n_kcurve").set_value(1).run()
    at.button(key="sens_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, _errors(at)
    table = at.dataframe[0].value
    assert list(table["setting"]) == ["direct k=0", "direct k=1"]
    assert "at k=0" in " ".join(str(s.value) for s in at.success)


def test_bad_inputs_are_explained(at: AppTest) -> None:
    at.selectbox(key="sens_experiment").set_value("order").run()
    at.number_input(key="sens_k").set_value(1).run()
    assert not at.exception
    assert any("k >= 2" in e for e in _errors(at))
    assert at.button(key="sens_run").disabled

    at.selectbox(key="sens_experiment").set_value("kcurve").run()
    at.multiselect(key="sens_scorers").set_value([]).run()
    assert any("at least one scoring function" in e for e in _errors(at))
    at.multiselect(key="sens_scorers").set_value(["ppl"]).run()
    at.selectbox(key="sens_calibration").set_value("contextual").run()
    assert any("direct scores only" in e for e in _errors(at))
    at.selectbox(key="sens_calibration").set_value("none").run()

    at.selectbox(key="sens_experiment").set_value("label_words").run()
    at.number_input(key="sens_k").set_value(2).run()
    at.text_area(key="sens_alt_words").set_value("bad, good, ugly").run()
    assert not at.exception
    assert any("3 words for 2 labels" in e for e in _errors(at))

    at.selectbox(key="sens_experiment").set_value("format").run()
    at.text_area(key="sens_templates").set_value("Sentiment: {label}").run()
    assert not at.exception
    assert any("{text}" in e for e in _errors(at))
    # what the user typed stays
    assert at.text_area(key="sens_templates").value == "Sentiment: {label}"


def test_format_uses_the_prompt_lab_prompt(at: AppTest) -> None:
    at.session_state["pl_template"] = "Review {text} -> {label}"
    at.selectbox(key="sens_experiment").set_value("format").run()
    at.text_area(key="sens_templates").set_value(
        "Text: {text}\nAnswer: {label}\n---\nQ: {text}\nA: {label}"
    ).run()
    assert not at.error, _errors(at)
    # base (with and without instruction) + two templates, one draw each
    assert any("Up to 4 evaluations" in str(c.value) for c in at.caption)
    at.text_area(key="sens_templates").set_value("Text: {text}\nAnswer: {label}").run()
    at.number_input(key="sens_n_test").set_value(2).run()
    at.number_input(key="sens_k").set_value(1).run()
    at.button(key="sens_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, _errors(at)
    table = at.dataframe[0].value
    assert list(table["template"]) == ["Review {text} -> {label}"] * 2 + ["Text: {text}\nAnswer: {label}"]
    assert list(table["instruction"])[1] == ""
    # the first setting's prompt is shown, in the Prompt Lab's template
    assert any(" -> " in str(c.value) for c in at.code)
