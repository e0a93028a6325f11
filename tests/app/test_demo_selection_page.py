"""Demo Selection page in Streamlit's AppTest: a small pasted data set, the real MiniLM encoder
(and the real default model for the comparison)."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import new_app

POS = [
    "a wonderful, moving film",
    "great acting and a clever script",
    "I loved every minute of it",
    "funny, warm and beautifully shot",
    "a triumph of storytelling",
    "the best movie of the year",
    "charming and delightful",
    "brilliant performances all round",
    "an uplifting and joyful ride",
    "smart, sharp and entertaining",
    "a gorgeous, heartfelt drama",
    "superb direction and music",
    "pure fun from start to finish",
    "a touching and wise comedy",
    "excellent, gripping thriller",
]
NEG = [
    "a dull, lifeless film",
    "terrible acting and a silly script",
    "I hated every minute of it",
    "boring, slow and badly shot",
    "a mess of a story",
    "the worst movie of the year",
    "tedious and annoying",
    "awful performances all round",
    "a depressing and joyless slog",
    "dumb, flat and tiresome",
    "a clumsy, hollow drama",
    "poor direction and noisy music",
    "a chore from start to finish",
    "a cheap and stupid comedy",
    "predictable, limp thriller",
]
CSV = "text,label\n" + "\n".join(f'"{t}",positive\n"{n}",negative' for t, n in zip(POS, NEG, strict=True))


def _page() -> AppTest:
    at = new_app("pages/demo_selection.py")
    assert not at.exception, at.exception
    at.selectbox(key="sb_dataset").set_value("upload").run()
    at.text_area(key="sb_paste").set_value(CSV).run()
    assert not at.exception, at.exception
    return at


@pytest.fixture()
def at() -> AppTest:
    return _page()


def _selection_frame(at: AppTest) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "similarity rank" in d.value.columns)


def test_topk_then_similar_last(at: AppTest) -> None:
    at.text_area(key="ds_query").set_value("a lovely, joyful film")
    at.number_input(key="ds_k").set_value(4)
    at.button(key="ds_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    df = _selection_frame(at)
    assert len(df) == 4
    sims = list(df["similarity"])
    assert sims == sorted(sims, reverse=True)  # topk as retrieved: most similar first (farthest)
    assert list(df["similarity rank"]) == [1, 2, 3, 4]
    assert at.get("plotly_chart")  # similarity chart and the PCA map

    at.selectbox(key="ds_ordering").set_value("similar_last").run()
    assert not at.exception, at.exception
    df2 = _selection_frame(at)
    assert sorted(df2["pool #"]) == sorted(df["pool #"])
    assert list(df2["similarity"]) == sorted(sims)  # the nearest sits next to the query


def test_mmr_lambda_and_empty_query(at: AppTest) -> None:
    at.selectbox(key="ds_retrieval").set_value("mmr").run()
    at.slider(key="ds_opt_mmr_lambda").set_value(0.3)
    at.button(key="ds_run").click().run()
    assert not at.exception, at.exception
    assert len(_selection_frame(at)) == 4
    at.text_area(key="ds_query").set_value("   ").run()
    assert not at.exception
    assert any("query is empty" in e.value for e in at.error)


def test_compare_strategies(at: AppTest) -> None:
    at.number_input(key="ds_k").set_value(2)
    at.multiselect(key="ds_cmp_retrievers").set_value(["random", "topk"])
    at.number_input(key="ds_cmp_n").set_value(3)
    at.button(key="ds_cmp_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    df = next(d.value for d in at.dataframe if "macro_f1" in d.value.columns)
    assert list(df["retrieval"]) == ["random", "topk"]
    assert df["accuracy"].between(0, 1).all()
    shares = df[["share positive", "share negative"]].sum(axis=1)
    assert ((shares - 1.0).abs() < 1e-6).all()
    # a rerun shows the kept comparison again, without a replay error
    at.run()
    assert not at.exception, at.exception
    assert any("macro_f1" in d.value.columns for d in at.dataframe)


def test_select_demonstrations_in_chinese(at: AppTest) -> None:
    at.radio(key="w_lang").set_value("zh").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "示例选择"
    assert at.button(key="ds_run").label == "选择示例"
    assert at.selectbox(key="ds_retrieval").label == "检索器"
    assert at.selectbox(key="ds_retrieval").value == "topk"  # values stay the English ids
    at.text_area(key="ds_query").set_value("a lovely, joyful film")
    at.button(key="ds_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    df = next(d.value for d in at.dataframe if "相似度排名" in d.value.columns)
    assert list(df["相似度排名"]) == [1, 2, 3, 4]
    assert set(df["标签"]) <= {"positive", "negative"}  # data stays as it is
    assert at.button(key="ds_to_lab").label == "在提示词实验室中使用这些示例"
    # an engine error in Chinese
    at.text_area(key="ds_query").set_value("   ").run()
    assert not at.exception, at.exception
    assert any("查询为空" in e.value for e in at.error), [e.value for e in at.error]


def test_the_sidebar_seed_is_the_only_seed(at: AppTest) -> None:
    """Issue 22 (7d): the page had its own seed widget (ds_seed) beside the sidebar's."""
    assert "ds_seed" not in [w.key for w in at.number_input]
    assert [w.key for w in at.number_input if w.label in ("Seed", "种子")] == ["sb_seed"]
    at.selectbox(key="ds_retrieval").set_value("random").run()
    at.text_area(key="ds_query").set_value("a lovely, joyful film")
    picks: dict[int, list[list[int]]] = {}
    for seed in (1, 2, 1):
        at.number_input(key="sb_seed").set_value(seed).run()
        at.button(key="ds_run").click().run()
        assert not at.exception, at.exception
        assert not at.error, [e.value for e in at.error]
        picks.setdefault(seed, []).append(sorted(_selection_frame(at)["pool #"]))
    assert picks[1][0] == picks[1][1] != picks[2][0]  # the sidebar seed draws the demonstrations
