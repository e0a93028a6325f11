"""Attention page in Streamlit's AppTest with the real default model (SmolLM2-135M on CPU)."""

from __future__ import annotations

import pandas as pd
from streamlit.testing.v1 import AppTest

from tests.app.conftest import new_app

PAGE = "pages/attention.py"


def _frame(at: AppTest, column: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_scores_pattern_viewer_and_ablation() -> None:
    at = new_app(PAGE)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    table = _frame(at, "induction")
    assert list(table.columns[:3]) == ["head", "layer", "index"]
    assert len(table) == 15
    assert table["induction"].is_monotonic_decreasing
    assert table.iloc[0]["induction"] > 0.5  # SmolLM2 has strong induction heads (L18H6 ~ 0.88)
    assert len(at.get("plotly_chart")) >= 5 + 1 + 2  # score maps, pattern, demo bar + layer profile
    assert at.number_input(key="att_layer").value == int(table.iloc[0]["layer"])
    demo_rows = _frame(at, "to_label_word")
    assert len(demo_rows) == 4  # the Prompt Lab's default: 4 demonstrations
    assert (demo_rows["to_demo"] >= demo_rows["to_label_word"] - 1e-9).all()

    at.selectbox(key="att_sort").set_value("previous_token").run()
    at.number_input(key="att_layer").set_value(0).run()
    at.number_input(key="att_head").set_value(1).run()
    assert not at.exception, at.exception
    assert _frame(at, "induction")["previous_token"].is_monotonic_decreasing

    at.number_input(key="att_abl_n").set_value(2)
    at.number_input(key="att_abl_k").set_value(2)
    at.number_input(key="att_abl_queries").set_value(4)
    at.button(key="att_abl_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    summary = _frame(at, "accuracy_drop")
    assert list(summary["condition"]) == ["no ablation", "top-2 induction", "2 random (seed 0)"]
    assert summary["n_heads"].tolist() == [0, 2, 2]
    top2 = table.sort_values("induction", ascending=False)["head"][:2]
    assert set(summary["heads"].iloc[1].split()) == {str(h) for h in top2}
    assert not set(summary["heads"].iloc[2].split()) & set(summary["heads"].iloc[1].split())
    # a rerun (any widget touched) shows the kept result again, without a replay error
    at.run()
    assert not at.exception, at.exception
    assert _frame(at, "accuracy_drop")["condition"].tolist() == list(summary["condition"])


def test_invalid_prompt_shows_an_error_not_a_traceback() -> None:
    at = new_app("pages/prompt_lab.py")
    at.text_area(key="w_pl_template").set_value("Review: {txt}\nSentiment: {label}").run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert any("cannot be built" in e and "{txt}" in e for e in errors), errors
    assert _frame(at, "induction") is not None  # the head scores still show
