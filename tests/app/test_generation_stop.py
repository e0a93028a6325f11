"""Generation page: a stopped generation or evaluation shows its partial result, marked, and does
not run again until Generate / Evaluate is pressed (issue 22, long work). The Stop click itself is
covered in the browser test; here the engine's stop check says stop, as the session's stop flag
would, with the real default model."""

from __future__ import annotations

import re
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import engine.generation.decoders as generation
import engine.generation.metrics as gen_metrics
from components import generation_views as gv
from tests.app.conftest import new_app

PAGE = "pages/generation.py"


def _warnings(at: AppTest) -> str:
    return " ".join(str(w.value) for w in at.warning)


def _page() -> AppTest:
    at = new_app(PAGE)
    assert not at.exception, at.exception
    at.number_input(key="gen_max_new").set_value(8).run()
    at.text_input(key="gen_stop").set_value("").run()  # no stop sequence: each strategy makes 8 tokens
    return at


def test_a_stopped_generation_keeps_the_text_so_far(monkeypatch: pytest.MonkeyPatch) -> None:
    real = generation.GenerationStream
    streams: list[Any] = []

    class SecondStopsAfterTwo(real):  # type: ignore[misc, valid-type]
        """The second strategy is stopped after 2 tokens, as a Stop during its run would."""

        def __init__(self, *args: Any, **kw: Any) -> None:
            assert kw["should_stop"] is not None and kw["on_step"] is not None  # the page can stop
            streams.append(self)
            if len(streams) == 2:
                kw["should_stop"] = lambda: self.steps >= 2
            super().__init__(*args, **kw)

    monkeypatch.setattr(generation, "GenerationStream", SecondStopsAfterTwo)
    at = _page()
    at.button(key="gen_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    found = re.search(
        r"Stopped after (\d+) of at most (\d+) tokens: partial result \(1 of 2 strategies finished\)",
        _warnings(at),
    )
    assert found, _warnings(at)
    key, kept = at.session_state[gv.GEN_CTL.partial_key]
    assert key == gv.GEN_PARTIAL
    first, second = kept["results"].values()
    assert not first.partial and second.partial and len(second.tokens) == 2
    assert int(found.group(1)) == len(first.tokens) + 2
    assert int(found.group(2)) == len(first.tokens) + 8
    assert any("stopped: partial" in m.value for m in at.markdown)
    assert any(second.text.rstrip() == c.value.rstrip() for c in at.code)  # the partial text is shown
    assert len(streams) == 2

    # a later rerun shows the partial result again, without a new run
    at.run()
    assert not at.exception, at.exception
    assert "Stopped after" in _warnings(at) and len(streams) == 2

    # Generate again, with nothing stopping: two finished strategies, no warning
    monkeypatch.setattr(generation, "GenerationStream", real)
    at.button(key="gen_run").click().run()
    assert not at.exception, at.exception
    assert "Stopped" not in _warnings(at)
    assert all(
        not r.partial and len(r.tokens) == 8 for r in at.session_state[gv.GEN_RESULTS]["results"].values()
    )


def test_a_stopped_evaluation_keeps_the_items_done(monkeypatch: pytest.MonkeyPatch) -> None:
    real = gen_metrics.evaluate_generation
    runs: list[int] = []

    def stop_after_two_items(*args: Any, **kw: Any) -> Any:
        runs.append(1)
        assert kw["should_stop"] is not None and kw["on_item"] is not None  # the page can stop
        done: list[int] = []
        on_item = kw["on_item"]

        def counting(partial: Any) -> None:
            done.append(partial.n_done)
            on_item(partial)

        kw["on_item"] = counting
        kw["should_stop"] = lambda: len(done) >= 2  # as if Stop were pressed during the third item
        return real(*args, **kw)

    monkeypatch.setattr(gen_metrics, "evaluate_generation", stop_after_two_items)
    at = _page()
    at.number_input(key="gen_max_new").set_value(3).run()
    at.number_input(key="gen_eval_n").set_value(4).run()
    at.button(key="gen_eval_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert "Stopped after 2 of 4 items: partial result" in _warnings(at)
    rows = next(d.value for d in at.dataframe if "generated" in d.value.columns)
    assert len(rows) == 2
    assert runs == [1]

    at.run()  # a later rerun: the same partial result, no new run
    assert "Stopped after 2 of 4 items" in _warnings(at) and runs == [1]

    monkeypatch.setattr(gen_metrics, "evaluate_generation", real)
    at.button(key="gen_eval_run").click().run()
    assert not at.exception, at.exception
    assert "Stopped" not in _warnings(at)
    rows = next(d.value for d in at.dataframe if "generated" in d.value.columns)
    assert len(rows) == 4
