"""Switching the UI language (sidebar radio `lang`) on the real default model: the Prompt Lab
and the home page in Chinese, engine errors in Chinese, and back to English."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.app.conftest import new_app


def _markdown(app: AppTest) -> str:
    return "\n".join(str(m.value) for m in app.markdown)


def test_prompt_lab_in_chinese_and_back() -> None:
    at = new_app("pages/prompt_lab.py")
    assert at.title[0].value == "Prompt Lab"
    at.radio(key="w_lang").set_value("zh").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "提示词实验室"
    assert at.button(key="pl_run").label == "为提示词打分"
    assert at.text_area(key="w_pl_query").label == "查询"
    assert at.selectbox(key="sb_model_choice").label == "模型"  # the sidebar follows
    assert "为提示词打分" in "\n".join(str(i.value) for i in at.info)

    # an invalid template: the engine's message in Chinese, the user's text kept
    at.text_area(key="w_pl_template").set_value("Sentiment: {label}")
    at.button(key="pl_run").click().run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert any("模板必须包含 {text}" in e for e in errors), errors
    assert at.text_area(key="w_pl_template").value == "Sentiment: {label}"

    # a valid prompt: results in Chinese, data (labels) untouched
    at.text_area(key="w_pl_template").set_value("Review: {text}\nSentiment: {label}")
    at.button(key="pl_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert "预测标签" in _markdown(at)
    df = next(d.value for d in at.dataframe if "P(归一化)" in d.value.columns)
    assert list(df["标签"]) == ["negative", "positive"]

    at.radio(key="w_lang").set_value("en").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Prompt Lab"
    assert at.button(key="pl_run").label == "Score the prompt"
    assert "Predicted label" in _markdown(at)
    # the prompt survived both switches
    assert at.text_area(key="w_pl_template").value == "Review: {text}\nSentiment: {label}"


def test_home_in_chinese_and_back() -> None:
    at = new_app()
    at.radio(key="w_lang").set_value("zh").run()
    assert not at.exception, at.exception
    text = _markdown(at)
    assert "上下文学习" in text and "归纳头" in text
    assert "is a language model's ability" not in text
    assert at.button(key="tour_zero").label == "查看零样本"
    table = next(d.value for d in at.dataframe if "提示词" in d.value.columns)
    assert list(table["提示词"]) == ["零样本", "4 样本"]

    at.radio(key="w_lang").set_value("en").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "ICL Explorer"
    assert "is a language model's ability" in _markdown(at)
    assert at.button(key="tour_zero").label == "Show zero-shot"
