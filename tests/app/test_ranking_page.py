"""Response Ranking page in Streamlit's AppTest, with the real default model."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from engine.experiments.ranking import RankingResult, contrastive_loss
from tests.app.conftest import new_app


def _page() -> AppTest:
    at = new_app("pages/ranking.py")
    assert not at.exception, at.exception
    return at


def test_scores_rank_and_loss_follow_the_temperature() -> None:
    at = _page()
    assert at.checkbox(key="rk_chat").value  # SmolLM2 has a chat template
    at.button(key="rk_run").click().run()
    assert not at.exception, at.exception
    result = at.session_state["rk_result"]
    assert isinstance(result, RankingResult)
    assert len(result.responses) == 4 and [r.good for r in result.responses] == [True, True, False, False]
    assert result.context.endswith("<|im_start|>assistant\n")
    metric = next(m for m in at.metric if m.label == "Contrastive loss")
    expected = contrastive_loss(result.scores("sum"), result.goods(), 1.0)
    assert float(metric.value) == pytest.approx(expected, abs=1e-4)
    # a new temperature and score kind re-use the scores: no new forward pass is needed
    at.slider(key="rk_tau").set_value(0.5).run()
    at.radio(key="rk_score_kind").set_value("mean").run()
    assert not at.exception
    metric = next(m for m in at.metric if m.label == "Contrastive loss")
    assert float(metric.value) == pytest.approx(
        contrastive_loss(result.scores("mean"), result.goods(), 0.5), abs=1e-4
    )
    table = next(d.value for d in at.dataframe if "rank" in d.value.columns)
    assert list(table["rank"]) == [1, 2, 3, 4]
    assert set(table["mark"]) == {"good", "bad"}


def test_plain_layout_and_errors() -> None:
    at = _page()
    at.checkbox(key="rk_chat").uncheck().run()
    at.text_input(key="rk_template").set_value("Q: {instruction}\nA: {response}").run()
    at.button(key="rk_run").click().run()
    assert not at.exception, at.exception
    assert at.session_state["rk_result"].context == "Q: What is the capital of France?\nA: "
    at.text_input(key="rk_template").set_value("{response} before {instruction}").run()
    at.button(key="rk_run").click().run()
    assert any("after {instruction}" in e.value for e in at.error)
    at.text_input(key="rk_template").set_value("Q: {instruction}\nA: {response}").run()
    at.text_area(key="rk_instruction").set_value("  ").run()
    at.button(key="rk_run").click().run()
    assert not at.exception
    assert any("instruction is empty" in e.value for e in at.error)


def test_no_good_response_is_a_clear_error() -> None:
    at = _page()
    # AppTest has no data-editor setter: emulate the edit through the widget's state
    at.session_state["rk_candidates"] = {
        "edited_rows": {i: {"good": False} for i in range(4)},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    at.button(key="rk_run").click().run()
    assert not at.exception, at.exception
    assert any("at least one response as good" in e.value for e in at.error), [e.value for e in at.error]
