"""Prompt Lab in Streamlit's AppTest, on the real default model."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import new_app


@pytest.fixture()
def at() -> AppTest:
    app = new_app("pages/prompt_lab.py")
    assert not app.exception, app.exception
    return app


def _texts(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [e.value for e in app.error] + [w.value for w in app.warning]
    return "\n".join(str(p) for p in parts)


def test_sst2_four_shot_label_probabilities(at: AppTest) -> None:
    assert at.text_area(key="w_pl_template").value == "Review: {text}\nSentiment: {label}"
    at.button(key="pl_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert "Predicted label" in _texts(at)
    charts = at.get("plotly_chart")
    assert len(charts) >= 1
    # the probability table has one row per label, and probabilities sum to 1
    df = next(d.value for d in at.dataframe if "P (normalised)" in d.value.columns)
    assert list(df["label"]) == ["negative", "positive"]
    assert abs(float(df["P (normalised)"].sum()) - 1.0) < 1e-3


def test_template_without_text_field_is_explained(at: AppTest) -> None:
    at.text_area(key="w_pl_template").set_value("Sentiment: {label}")
    at.button(key="pl_run").click().run()
    assert not at.exception
    assert any("{text}" in e.value for e in at.error)
    # nothing the user typed is lost
    assert at.text_area(key="w_pl_template").value == "Sentiment: {label}"


def test_empty_demonstration_is_explained(at: AppTest) -> None:
    at.session_state["pl_demos_base"] = [
        {"text": "great", "label": "positive"},
        {"text": " ", "label": "negative"},
    ]
    at.session_state["pl_editor_version"] = 99
    at.run()
    at.button(key="pl_run").click().run()
    assert not at.exception
    assert any("Demonstration 2 has empty text" in e.value for e in at.error)


def test_prompt_longer_than_context_is_explained(at: AppTest) -> None:
    at.text_area(key="w_pl_query").set_value("word " * 9000)
    at.button(key="pl_run").click().run()
    assert not at.exception
    assert any("too long" in e.value for e in at.error)


def test_unknown_model_id_is_explained(at: AppTest) -> None:
    at.selectbox(key="sb_model_choice").set_value("custom...").run()
    at.text_input(key="sb_model_custom").set_value("nobody/no-such-model").run()
    at.button(key="pl_run").click().run()
    assert not at.exception
    assert any("not in the local Hugging Face cache" in e.value for e in at.error)


def test_csv_without_label_column_is_explained() -> None:
    app = new_app("pages/prompt_lab.py")
    app.selectbox(key="sb_dataset").set_value("upload").run()
    app.text_area(key="sb_paste").set_value("text,category\ngreat film,positive\nawful,negative\n").run()
    assert not app.exception
    assert any("label" in e.value and "column" in e.value for e in app.error), [e.value for e in app.error]
    # the pasted text is kept so the user can fix it
    assert str(app.text_area(key="sb_paste").value).startswith("text,category")


def test_pasted_dataset_feeds_the_prompt_lab() -> None:
    app = new_app("pages/prompt_lab.py")
    app.selectbox(key="sb_dataset").set_value("upload").run()
    rows = "\n".join(f"{t},{lab}" for t, lab in [("great", "yes"), ("bad", "no")] * 10)
    app.text_area(key="sb_paste").set_value("text,label\n" + rows).run()
    assert not app.exception
    assert not app.error, [e.value for e in app.error]
    assert app.text_input(key="w_pl_lw_yes").value == "yes"
