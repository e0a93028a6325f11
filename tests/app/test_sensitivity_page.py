"""Sensitivity page in Streamlit's AppTest (small runs on the real default model)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import components.i18n as i18n
import components.sensitivity_views as sv
from engine.experiments.sensitivity import (
    CONDITION_TITLES,
    EXPERIMENTS,
    Fact,
    Row,
    SensitivityConfig,
    SensitivityResult,
    english,
)
from engine.prompting.prompts import PromptFormat
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
    assert len(table) == 2 and {"setting", "accuracy", "macro_f1", "positions"} <= set(table.columns)
    for name, positions in zip(table["setting"], table["positions"], strict=True):  # both 1-based
        assert name.endswith(": " + "-".join(map(str, json.loads(positions)))), (name, positions)
    assert at.get("download_button")
    # best and worst prompts are shown
    assert any("Best" in str(m.value) for m in at.markdown) and any(
        "Worst" in str(m.value) for m in at.markdown
    )
    # the prompt comes from the shared Prompt Lab state (SST-2's template)
    assert any("Sentiment:" in str(c.value) for c in at.code)
    # a rerun shows the same result without running again (no cached-replay error)
    at.run()
    assert not at.exception, at.exception
    assert " ".join(str(s.value) for s in at.success) == summary


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
    # base (with and without instruction) + two templates, two draws each (the default)
    assert any("Up to 8 evaluations" in str(c.value) for c in at.caption)
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


def test_order_experiment_in_chinese(at: AppTest) -> None:
    at.radio(key="w_lang").set_value("zh").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "敏感性"
    assert at.button(key="sens_run").label == "运行实验"
    assert at.selectbox(key="sens_experiment").label == "实验"
    assert at.number_input(key="sens_n_test").label == "测试查询数"
    at.selectbox(key="sens_experiment").set_value("order").run()
    # an engine error in Chinese
    at.number_input(key="sens_k").set_value(1).run()
    assert not at.exception, at.exception
    assert any("需要 k >= 2" in e for e in _errors(at)), _errors(at)

    at.number_input(key="sens_n_test").set_value(4).run()
    at.number_input(key="sens_k").set_value(2).run()
    at.number_input(key="sens_n_order").set_value(2).run()
    at.button(key="sens_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, _errors(at)
    summary = " ".join(str(s.value) for s in at.success)
    assert "在同样 2 个示例的 2 种顺序下,准确率从" in summary, summary
    assert "Accuracy ranges" not in summary
    assert any("最好" in str(m.value) for m in at.markdown) and any(
        "最差" in str(m.value) for m in at.markdown
    )
    table = at.dataframe[0].value
    assert {"设置", "准确率", "在抽取中的位置(从 1 起)"} <= set(table.columns), list(table.columns)
    assert list(table["设置"]) == ["顺序 1:1-2", "顺序 2:2-1"]
    # the prompt itself is data: not translated
    assert any("Sentiment:" in str(c.value) for c in at.code)


# ------------------------------------------------------------------ summary sentences (no model)
def _row(title: Fact, acc: float, f1: float, **fields: Any) -> Row:
    """A row as the engine builds it: its setting is its title fact in English."""
    return Row(english(title), acc, f1, (acc, acc - 0.1), (f1, f1), 10, 0.5, 100, fields, title=title)


def _results() -> list[SensitivityResult]:
    fmt = PromptFormat("Review: {text}\nSentiment: {label}", instruction="Classify the review.")
    words = (("negative", "bad"), ("positive", "good"))
    cases: dict[str, tuple[dict[str, Any], list[Row]]] = {
        "order": (
            {},
            [
                _row(
                    Fact("setting.order", {"i": 1, "positions": "1-2"}), 0.5, 0.4, order=1, positions=(1, 2)
                ),
                _row(
                    Fact("setting.order", {"i": 2, "positions": "2-1"}), 0.8, 0.75, order=2, positions=(2, 1)
                ),
            ],
        ),
        "selection": (
            {"draw": "random"},
            [
                _row(Fact("setting.draw", {"i": 1}), 0.6, 0.5, draw=1, draw_seed=7),
                _row(Fact("setting.draw", {"i": 2}), 0.7, 0.6, draw=2, draw_seed=8),
            ],
        ),
        "kcurve": (
            {"scorers": ("direct", "ppl"), "ks": (0, 1, 2)},
            [
                _row(
                    Fact("setting.kcurve", {"scorer": s, "k": k}),
                    0.5 + 0.1 * k - 0.05 * (s == "ppl"),
                    0.5,
                    scorer=s,
                    k=k,
                )
                for s in ("direct", "ppl")
                for k in (0, 1, 2)
            ],
        ),
        "labels": (
            {},
            [
                _row(Fact(f"condition.{c}"), acc, acc, condition=c)
                for c, acc in zip(CONDITION_TITLES, (0.8, 0.7, 0.3, 0.55), strict=True)
            ],
        ),
        "label_words": (
            {"alt_label_words": (("meh", "nice"),)},
            [
                _row(
                    Fact("setting.words.default", {"words": "bad/good"}),
                    0.8,
                    0.8,
                    kind="default",
                    words={"negative": "bad", "positive": "good"},
                ),
                _row(
                    Fact("setting.words.yours", {"words": "meh/nice"}),
                    0.7,
                    0.7,
                    kind="yours",
                    words={"negative": "meh", "positive": "nice"},
                ),
                _row(
                    Fact("setting.words.unrelated", {"words": "foo/bar"}),
                    0.55,
                    0.5,
                    kind="unrelated",
                    words={"negative": "foo", "positive": "bar"},
                ),
            ],
        ),
        "format": (
            {"templates": ("Q: {text}\nA: {label}",)},
            [
                _row(
                    Fact("setting.format.instruction", {"i": 1}),
                    0.8,
                    0.8,
                    kind="base",
                    template="",
                    instruction="",
                ),
                _row(
                    Fact("setting.format.no_instruction", {"i": 1}),
                    0.6,
                    0.6,
                    kind="no instruction",
                    template="",
                    instruction="",
                ),
                _row(
                    Fact("setting.format.instruction", {"i": 2}),
                    0.7,
                    0.7,
                    kind="yours",
                    template="",
                    instruction="",
                ),
            ],
        ),
    }
    out = []
    for name, (changes, rows) in cases.items():
        cfg = SensitivityConfig(experiment=name, fmt=fmt, label_words=words, k=2, n=3, **changes)
        summary = EXPERIMENTS[name].summarize(rows, cfg, 2)
        out.append(SensitivityResult(name, cfg, tuple(rows), summary, cfg.labels, 10, 1.0, 600, 6))
    return out


@pytest.mark.parametrize("result", _results(), ids=lambda r: r.experiment)
def test_summary_sentence_matches_the_engine_and_translates(
    result: SensitivityResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in (i18n, sv):
        monkeypatch.setattr(module, "lang", lambda: "en")
    assert sv.summary_sentence(result) == result.summary
    assert [sv.setting_title(r) for r in result.rows] == [r.setting for r in result.rows]

    for module in (i18n, sv):
        monkeypatch.setattr(module, "lang", lambda: "zh")
    zh = sv.summary_text(result)
    assert re.search(r"[\u4e00-\u9fff]", zh) and zh != result.summary
    # the numbers stay, the English words go
    assert set(re.findall(r"\d+\.\d%", zh)) == set(re.findall(r"\d+\.\d%", result.summary))
    assert not re.search(r"\b(Accuracy|over|mean|chance|points|draws?|orders?|with)\b", zh), zh
    for row in result.rows:
        title = sv.setting_title(row)
        assert re.search(r"[\u4e00-\u9fff]", title) or result.experiment == "kcurve", title


def test_notes_are_translated(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (i18n, sv):
        monkeypatch.setattr(module, "lang", lambda: "zh")
    orders = Fact("note.orders", {"k": 3, "n": 6})
    ks = Fact("note.ks", {"ks": "16, 32", "n_ctx": 2048})
    # the engine's English (what the CLI prints) and the page's Chinese come from the same fact
    assert english(orders) == "3 demonstrations have only 6 orders; all of them were run."
    assert (
        english(ks)
        == "k = 16, 32 left out: larger than the pool or too long for the model's context (2048 tokens)."
    )
    assert sv.note_text(orders) == "3 个示例只有 6 种顺序;已全部运行。"
    assert "k = 16, 32" in sv.note_text(ks) and "2048" in sv.note_text(ks)
    assert sv.note_text("something new") == "something new"


def test_kcurve_summary_of_a_non_monotone_curve(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 22 bug 3: best at k = 1, k = 4 far below, k = 8 below: no "within 2 points from k = 1 on"."""
    fmt = PromptFormat("Review: {text}\nSentiment: {label}", instruction="Classify the review.")
    words = (("negative", "bad"), ("positive", "good"))
    accs = {0: 0.5, 1: 0.8, 2: 0.7, 4: 0.325, 8: 0.65}
    rows = [
        Row(f"direct k={k}", a, a, (a, a), (a, a), 20, 0.1, 10, {"scorer": "direct", "k": k})
        for k, a in accs.items()
    ]
    cfg = SensitivityConfig(experiment="kcurve", fmt=fmt, label_words=words, n=2, ks=tuple(accs))
    summary = EXPERIMENTS["kcurve"].summarize(rows, cfg, 2)
    result = SensitivityResult("kcurve", cfg, tuple(rows), summary, cfg.labels, 20, 1.0, 600, 9)
    for module in (i18n, sv):
        monkeypatch.setattr(module, "lang", lambda: "en")
    en = sv.summary_text(result)
    assert sv.summary_sentence(result) == en
    assert "from k=1 on" not in en
    assert "not monotone: k=4 is 47.5 points below k=1" in en
    assert "k=8 (the largest) is 15.0 points below it" in en
    assert "Wilson interval over 20 queries" in en and "k=2, 8 within noise of the best" in en
    for module in (i18n, sv):
        monkeypatch.setattr(module, "lang", lambda: "zh")
    zh = sv.summary_text(result)
    assert "非单调:k=4 比 k=1 低 47.5 个百分点" in zh
    assert "最大的 k=8 比最佳低 15.0 个百分点" in zh
    assert "k=2,8 与最佳的差异在噪声范围内" in zh and "20 条查询" in zh
    assert set(re.findall(r"\d+\.\d%", zh)) == set(re.findall(r"\d+\.\d%", en))
    assert not re.search(r"\b(points|noise|monotone|within|largest|over)\b", zh), zh
