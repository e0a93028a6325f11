"""The UI translation table: complete for the keys used in the code, format fields intact,
English fallback, and engine error messages translated by pattern."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

import components.i18n as i18n
from components.i18n import missing_translations, t, t_error
from components.i18n_zh import ERROR_PATTERNS, ZH


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.fixture()
def zh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "lang", lambda: "zh")


@pytest.fixture()
def en(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "lang", lambda: "en")


def test_every_key_used_in_pages_and_components_has_chinese() -> None:
    assert missing_translations() == []


def test_scanner_sees_t_calls_and_tour_steps(tmp_path: Path) -> None:
    (tmp_path / "pages").mkdir()
    (tmp_path / "components").mkdir()
    (tmp_path / "pages" / "p.py").write_text(
        'from components.i18n import t\n\nt("Alpha key")\nt(\n    "Beta "\n    "key",\n    n=1,\n)\n'
        't("""Gamma key""")\nt(variable)\n'
        '"""Docstring mentioning t("Not a key")."""\n',
        encoding="utf-8",
    )
    (tmp_path / "components" / "c.py").write_text(
        'STEPS = (TourStep("k", "Step title", "Step text", "Step button", "pages/x.py"),\n'
        '         TourStep(key="k2", title="Kw title", text="Kw text", button="Kw button", page="p"))\n',
        encoding="utf-8",
    )
    assert set(missing_translations(tmp_path)) == {
        "Alpha key",
        "Beta key",
        "Gamma key",
        "Step title",
        "Step text",
        "Step button",
        "Kw title",
        "Kw text",
        "Kw button",
    }


def test_tour_steps_are_translated() -> None:
    from components.tour import TOUR_STEPS

    for step in TOUR_STEPS:
        for text in (step.title, step.text, step.button):
            assert text in ZH, text


@pytest.mark.parametrize("key", sorted(ZH))
def test_chinese_keeps_the_format_fields(key: str) -> None:
    assert _fields(ZH[key]) == _fields(key), (key, ZH[key])


def test_chinese_values_are_chinese() -> None:
    han = re.compile(r"[\u4e00-\u9fff]")
    # a few keys are fine untranslated in Chinese (symbols, the word "token")
    allowed = {"tokens"}
    assert [k for k, v in ZH.items() if not han.search(v) and k not in allowed] == []


def test_t_falls_back_to_english_and_formats(zh: None) -> None:
    assert t("No such key, so English {n}", n=3) == "No such key, so English 3"
    assert t("Prompt Lab") == "提示词实验室"
    assert t("{n} tokens", n=5) == "5 个 token"
    # no fields: literal braces are left alone
    assert "{text}" in t("Template (one demonstration; use {text} and {label})")


def test_t_in_english_is_the_key(en: None) -> None:
    assert t("Prompt Lab") == "Prompt Lab"
    assert t("{n} tokens", n=5) == "5 tokens"


@pytest.mark.parametrize(("pattern", "template"), ERROR_PATTERNS)
def test_error_patterns_compile_and_use_existing_groups(pattern: str, template: str) -> None:
    groups = re.compile(pattern).groups
    for _, name, _, _ in string.Formatter().parse(template):
        if name is None or name == "message":
            continue
        assert name.isdigit() and int(name) < groups, (pattern, template)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("The template must contain {text}, where the input goes.", "模板必须包含 {text}"),
        ("The template must contain {label} exactly once.", "模板中 {label} 只能出现一次"),
        ("Demonstration 2 has empty text; fill it in or delete the row.", "第 2 个示例的文本为空"),
        (
            "Demonstration 1 has label 'x', which is not one of: a, b.",
            "第 1 个示例的标签 'x' 不在可选标签中:a, b",
        ),
        ("The query is empty; type an input to classify.", "查询为空"),
        ("Give at least two labels to choose from.", "请至少提供两个"),
        (
            "Contextual calibration applies to direct scores only; pick the direct scorer or another "
            "calibration (none, batch).",
            "Contextual 校准只适用于 direct 打分",
        ),
        ("Unknown scorer 'foo'. Known: direct, ppl, channel.", "未知的 scorer 'foo'"),
    ],
)
def test_t_error_translates_known_messages(zh: None, message: str, expected: str) -> None:
    assert expected in t_error(message)


def test_real_engine_messages_are_translated(zh: None) -> None:
    from engine.prompting.prompts import PromptError, parse_template
    from engine.scoring.scorers import ScoringConfig

    for bad in ("Sentiment: {label}", "{text} {label} {label}", "{label} {text}", "{text} {x} {label}"):
        with pytest.raises(PromptError) as info:
            parse_template(bad)
        assert not t_error(str(info.value)).startswith("出错了"), str(info.value)
    with pytest.raises(ValueError) as cfg:
        ScoringConfig("channel", "contextual")
    assert "校准只适用于" in t_error(str(cfg.value))


def test_t_error_unknown_message(zh: None) -> None:
    assert t_error("Something odd happened.") == "出错了:Something odd happened."


def test_t_error_in_english_is_the_message(en: None) -> None:
    assert t_error("The query is empty; type an input to classify.") == (
        "The query is empty; type an input to classify."
    )
