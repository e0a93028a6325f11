"""Scoring page in Streamlit's AppTest (small runs on the real default model)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import new_app

PAGE = "pages/scoring.py"


@pytest.fixture()
def at() -> AppTest:
    app = new_app(PAGE)
    assert not app.exception, app.exception
    return app


def _frame_with(at: AppTest, column: str):  # type: ignore[no-untyped-def]
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_compare_scorers_and_calibrations_then_open_a_query(at: AppTest) -> None:
    at.multiselect(key="sc_scorers").set_value(["direct", "ppl"]).run()
    at.multiselect(key="sc_calibrations").set_value(["none", "batch"]).run()
    at.number_input(key="sc_n_test").set_value(3).run()
    at.number_input(key="sc_k").set_value(1).run()
    at.button(key="sc_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    metrics = _frame_with(at, "macro_f1")
    assert list(metrics["variant"]) == ["direct", "direct + batch", "ppl", "ppl + batch"]
    assert (metrics["n_test"] == 3).all()
    assert len(at.get("plotly_chart")) >= 5  # bars + one confusion matrix per variant
    assert {"sc_dl_csv", "sc_dl_jsonl"} <= {b.key for b in at.get("download_button")}
    queries = _frame_with(at, "gold")
    assert len(queries) == 3 and "direct: pred" in queries.columns

    # click the second query: its labels, scores and coloured tokens appear
    at.session_state["sc_queries"] = {"selection": {"rows": [1], "columns": []}}
    at.run()
    assert not at.exception, at.exception
    labels = _frame_with(at, "probability")
    assert set(labels["label"]) == {"negative", "positive"}
    html = " ".join(str(m.value) for m in at.markdown)
    assert "surprisal" in html and "<span" in html


def test_contextual_with_ppl_is_skipped_and_explained(at: AppTest) -> None:
    at.multiselect(key="sc_scorers").set_value(["ppl"]).run()
    at.multiselect(key="sc_calibrations").set_value(["contextual"]).run()
    assert any("Skipped" in str(c.value) for c in at.caption)
    assert any("at least one" in str(w.value) for w in at.warning)
    assert at.button(key="sc_run").disabled


def test_shared_demos_with_a_query_dependent_retriever_is_a_clear_error(at: AppTest) -> None:
    at.selectbox(key="sc_demos").set_value("shared").run()
    at.selectbox(key="sc_retrieval").set_value("topk").run()
    assert not at.exception, at.exception
    assert any("Shared demonstrations need a retriever" in str(e.value) for e in at.error)


def test_prompt_lab_demonstrations_give_one_fixed_prompt(at: AppTest) -> None:
    at.selectbox(key="sc_demos").set_value("prompt-lab").run()
    at.multiselect(key="sc_scorers").set_value(["direct"]).run()
    at.multiselect(key="sc_calibrations").set_value(["contextual"]).run()
    at.number_input(key="sc_n_test").set_value(2).run()
    at.button(key="sc_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    metrics = _frame_with(at, "macro_f1")
    assert list(metrics["variant"]) == ["direct + contextual"]
    at.session_state["sc_queries"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    labels = _frame_with(at, "probability")
    assert labels["prior"].notna().all()  # the content-free prior is shown
    text = " ".join(str(m.value) for m in at.markdown)
    assert "demonstrations (ids, prompt order): 0, 1, 2, 3" in text  # the Prompt Lab's four rows, in order


def test_scoring_in_chinese(at: AppTest) -> None:
    at.radio(key="w_lang").set_value("zh").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "打分方式"
    assert at.button(key="sc_run").label == "运行评估"
    assert at.multiselect(key="sc_scorers").label == "打分函数"
    assert "运行评估" in " ".join(str(i.value) for i in at.info)

    # an engine error in Chinese; option values stay the English ids
    at.selectbox(key="sc_demos").set_value("shared").run()
    at.selectbox(key="sc_retrieval").set_value("topk").run()
    assert not at.exception, at.exception
    assert any("共用示例需要" in str(e.value) for e in at.error), [e.value for e in at.error]
    at.selectbox(key="sc_demos").set_value("per-query").run()
    assert at.selectbox(key="sc_demos").value == "per-query"

    at.multiselect(key="sc_scorers").set_value(["direct"]).run()
    at.multiselect(key="sc_calibrations").set_value(["none", "batch"]).run()
    at.number_input(key="sc_n_test").set_value(2).run()
    at.number_input(key="sc_k").set_value(1).run()
    at.button(key="sc_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert "准确率与校准" in [s.value for s in at.subheader]
    metrics = _frame_with(at, "宏平均 F1")
    assert list(metrics["变体"]) == ["direct", "direct + batch"]  # variant names are data
    assert _frame_with(at, "direct:预测") is not None

    at.session_state["sc_queries"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    assert not at.exception, at.exception
    labels = _frame_with(at, "概率")
    assert set(labels["标签"]) == {"negative", "positive"}
    text = " ".join(str(m.value) for m in at.markdown)
    assert "预测为" in text and "惊奇度" in text and "<span" in text
