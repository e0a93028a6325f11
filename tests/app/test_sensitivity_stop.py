"""Sensitivity page: a stopped experiment shows its partial result, marked, and does not run again
until Run is pressed (issue 22, long work). The Stop click itself is covered in the browser test;
here the engine's stop check says stop after the first evaluation, as the session's stop flag would."""

from __future__ import annotations

from typing import Any

import pytest

import engine.experiments.sensitivity as sensitivity
from tests.app.conftest import new_app

PAGE = "pages/sensitivity.py"


def test_a_stopped_experiment_keeps_its_partial_result(monkeypatch: pytest.MonkeyPatch) -> None:
    real = sensitivity.run_experiment
    runs: list[int] = []

    def stop_after_first_evaluation(*args: Any, **kw: Any) -> Any:
        runs.append(1)
        assert kw["should_stop"] is not None and kw["on_chunk"] is not None  # the page can stop
        kw["should_stop"] = lambda: True  # as if Stop were pressed during the first evaluation
        return real(*args, **kw)

    monkeypatch.setattr(sensitivity, "run_experiment", stop_after_first_evaluation)
    at = new_app(PAGE)
    at.selectbox(key="sens_experiment").set_value("order").run()
    at.number_input(key="sens_n_test").set_value(4).run()
    at.number_input(key="sens_k").set_value(2).run()
    at.number_input(key="sens_n_order").set_value(2).run()
    at.button(key="sens_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    warnings = " ".join(str(w.value) for w in at.warning)
    assert "Stopped after 1 of 2 evaluations: partial result" in warnings
    assert len(at.dataframe[0].value) == 1  # the order done
    summary = " ".join(str(s.value) for s in at.success)
    assert "over 1 orders of the same 2 demonstrations" in summary
    assert any(str(m.value) == "1 / 2" for m in at.metric)
    assert runs == [1]

    # another rerun shows the partial result again, without a new run
    at.run()
    assert not at.exception, at.exception
    assert "Stopped after 1 of 2 evaluations" in " ".join(str(w.value) for w in at.warning)
    assert runs == [1]

    # Run again without a stop: every order, no warning
    monkeypatch.setattr(sensitivity, "run_experiment", real)
    at.button(key="sens_run").click().run()
    assert not at.exception, at.exception
    assert not any("Stopped" in str(w.value) for w in at.warning)
    assert len(at.dataframe[0].value) == 2
    assert "over 2 orders of the same 2 demonstrations" in " ".join(str(s.value) for s in at.success)
