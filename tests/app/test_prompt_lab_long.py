"""Prompt Lab: a long prompt asks before it runs (issue 22: a 20,000-character query ran 256 s
with no warning). On the real default model; the threshold is lowered so the test's prompt is
short enough to score in seconds on any machine, and no assertion depends on the machine's speed."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from engine.model import cost
from tests.app.conftest import new_app

LONG_QUERY = "a gentle, funny and moving portrait of a family, " * 100  # 5,000 characters


@pytest.fixture()
def at(monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setattr(cost, "ASK_ABOVE_S", 0.0)  # every long prompt asks first
    app = new_app("pages/prompt_lab.py")
    assert not app.exception, app.exception
    return app


def _warnings(app: AppTest) -> list[str]:
    return [str(w.value) for w in app.warning]


def test_long_prompt_waits_for_a_yes_then_scores(at: AppTest) -> None:
    at.text_area(key="w_pl_query").set_value(LONG_QUERY)
    at.button(key="pl_run").click().run()
    assert not at.exception, at.exception
    asked = [w for w in _warnings(at) if "This is a long run" in w]
    assert len(asked) == 1, _warnings(at)
    # the estimate names the real token count of the prompt (over 1,000 tokens for 5,000 chars)
    assert int(asked[0].split("reads ")[1].split(" tokens")[0]) > 1000
    assert not any("Predicted label" in str(m.value) for m in at.markdown)  # nothing ran
    assert at.text_area(key="w_pl_query").value == LONG_QUERY  # nothing typed is lost
    at.button(key="pl_run_anyway").click().run()
    assert not at.exception, at.exception
    assert not any("This is a long run" in w for w in _warnings(at))
    assert any("Predicted label" in str(m.value) for m in at.markdown)


def test_cancel_keeps_the_prompt_and_runs_nothing(at: AppTest) -> None:
    at.text_area(key="w_pl_query").set_value(LONG_QUERY)
    at.button(key="pl_run").click().run()
    at.button(key="pl_cancel_long").click().run()
    assert not at.exception, at.exception
    assert not any("This is a long run" in w for w in _warnings(at))
    assert not any("Predicted label" in str(m.value) for m in at.markdown)
    assert at.text_area(key="w_pl_query").value == LONG_QUERY


def test_short_prompt_never_asks(at: AppTest) -> None:
    at.button(key="pl_run").click().run()
    assert not at.exception, at.exception
    assert not any("This is a long run" in w for w in _warnings(at))
    assert any("Predicted label" in str(m.value) for m in at.markdown)
