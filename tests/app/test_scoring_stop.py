"""Scoring page: a stopped run shows its partial result, marked, and does not run again until
Run is pressed (issue 22, long work). The Stop click itself is covered in the browser test;
here the engine's stop check says stop after the first chunk, as the session's stop flag would."""

from __future__ import annotations

from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import engine.evaluation.run as evaluation
from tests.app.conftest import new_app

PAGE = "pages/scoring.py"


def _frame_with(at: AppTest, column: str):  # type: ignore[no-untyped-def]
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_a_stopped_run_keeps_its_partial_result(monkeypatch: pytest.MonkeyPatch) -> None:
    real = evaluation.evaluate_variants
    runs: list[int] = []

    def stop_after_first_chunk(*args: Any, **kw: Any) -> Any:
        runs.append(1)
        assert kw["should_stop"] is not None and kw["on_chunk"] is not None  # the page can stop
        kw["should_stop"] = lambda: True  # as if Stop were pressed during the first chunk
        kw["chunk_size"] = 2
        return real(*args, **kw)

    monkeypatch.setattr(evaluation, "evaluate_variants", stop_after_first_chunk)
    at = new_app(PAGE)
    at.multiselect(key="sc_scorers").set_value(["direct"]).run()
    at.number_input(key="sc_n_test").set_value(6).run()
    at.number_input(key="sc_k").set_value(1).run()
    at.button(key="sc_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    warnings = " ".join(str(w.value) for w in at.warning)
    assert "Stopped after 2 of 6 queries: partial result" in warnings
    assert (_frame_with(at, "macro_f1")["n_test"] == 2).all()  # metrics over the queries done
    assert len(_frame_with(at, "gold")) == 2
    assert runs == [1]

    # another rerun (a click in the table) shows the partial result again, without a new run
    at.session_state["sc_queries"] = {"selection": {"rows": [1], "columns": []}}
    at.run()
    assert not at.exception, at.exception
    assert "Stopped after 2 of 6 queries" in " ".join(str(w.value) for w in at.warning)
    assert runs == [1]

    # Run again without a stop: the whole set, no warning
    monkeypatch.setattr(evaluation, "evaluate_variants", real)
    at.button(key="sc_run").click().run()
    assert not at.exception, at.exception
    assert not any("Stopped" in str(w.value) for w in at.warning)
    assert (_frame_with(at, "macro_f1")["n_test"] == 6).all()
