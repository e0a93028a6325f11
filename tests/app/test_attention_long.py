"""Attention page: a long prompt asks before its attention is analysed (issue 22: a 20,000-character
query ran 256 s with no warning), with the Prompt Lab's cost gate. On the real default model; the
thresholds are lowered so that the default prompt counts as long and runs in seconds on any machine,
and no assertion depends on the machine's speed."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import components.attention_views as views
from engine.model import cost
from tests.app.conftest import new_app

PAGE = "pages/attention.py"


@pytest.fixture()
def at(monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setattr(cost, "ASK_ABOVE_S", 0.0)  # every long prompt asks first
    monkeypatch.setattr(views, "LONG_PROMPT_CHARS", 10)  # the default prompt is "long"
    app = new_app(PAGE)
    assert not app.exception, app.exception
    return app


def _warnings(app: AppTest) -> list[str]:
    return [str(w.value) for w in app.warning]


def _has(find: Callable[..., Any], key: str) -> bool:
    try:
        find(key=key)
    except KeyError:
        return False
    return True


def _prompt_views_shown(app: AppTest) -> bool:
    return _has(app.number_input, "att_layer") and any(
        "to_label_word" in d.value.columns for d in app.dataframe
    )


def test_a_long_prompt_waits_for_a_yes_then_runs(at: AppTest) -> None:
    asked = [w for w in _warnings(at) if "This is a long run" in w]
    assert len(asked) == 1, _warnings(at)
    assert "running it with attention patterns" in asked[0]
    assert "in 2 passes" in asked[0]  # the attention pass and the log-prob pass
    n_asked = int(asked[0].split("reads ")[1].split(" tokens")[0])
    assert not _prompt_views_shown(at)  # nothing of the prompt ran
    assert any("induction" in d.value.columns for d in at.dataframe)  # the head scores still show
    assert _has(at.button, "att_abl_run")  # and the ablation below

    at.button(key="att_prompt_run_anyway").click().run()
    assert not at.exception, at.exception
    assert not any("This is a long run" in w for w in _warnings(at))
    assert _prompt_views_shown(at)
    # the estimate named the tokens the analysis then ran
    shown = next(str(c.value) for c in at.caption if "tokens before the label" in str(c.value))
    assert int(re.match(r"(\d+) tokens", shown).group(1)) == n_asked  # type: ignore[union-attr]

    at.number_input(key="att_head").set_value(0).run()  # a later rerun does not ask again
    assert not at.exception, at.exception
    assert not any("This is a long run" in w for w in _warnings(at))
    assert _prompt_views_shown(at)


def test_cancel_skips_the_prompt_until_asked_again(at: AppTest) -> None:
    at.button(key="att_prompt_cancel_long").click().run()
    assert not at.exception, at.exception
    assert not any("This is a long run" in w for w in _warnings(at))
    assert any("The long prompt was not run" in str(i.value) for i in at.info)
    assert not _prompt_views_shown(at)
    at.number_input(key="att_top_n").set_value(10).run()  # other widgets do not bring the question back
    assert not any("This is a long run" in w for w in _warnings(at))
    assert not _prompt_views_shown(at)

    at.button(key="att_prompt_ask_again").click().run()
    assert not at.exception, at.exception
    assert len([w for w in _warnings(at) if "This is a long run" in w]) == 1
    assert not _prompt_views_shown(at)


def test_a_quick_estimate_never_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cost, "ASK_ABOVE_S", 1e9)  # long by its length, quick by its estimate
    monkeypatch.setattr(views, "LONG_PROMPT_CHARS", 10)
    app = new_app(PAGE)
    assert not app.exception, app.exception
    assert not any("This is a long run" in w for w in _warnings(app))
    assert _prompt_views_shown(app)
