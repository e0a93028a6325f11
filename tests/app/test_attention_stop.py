"""Attention page: a stopped ablation shows its partial result, marked, with every condition on the
same queries, and does not run again until Run is pressed (issue 22, long work). The Stop click
itself is covered in the browser test; here the engine's stop check says stop after the first
chunk, as the session's stop flag would."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import engine.experiments.ablation as ablation
from tests.app.conftest import new_app

PAGE = "pages/attention.py"


def _summary(at: AppTest) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "accuracy_drop" in d.value.columns)


def _text(at: AppTest) -> str:
    return " ".join(str(m.value) for m in [*at.markdown, *at.caption, *at.warning])


def test_a_stopped_ablation_keeps_its_partial_result(monkeypatch: pytest.MonkeyPatch) -> None:
    real = ablation.ablation_experiment
    runs: list[int] = []

    def stop_after_first_chunk(*args: Any, **kw: Any) -> Any:
        runs.append(1)
        assert kw["should_stop"] is not None and kw["on_chunk"] is not None  # the page can stop
        kw["should_stop"] = lambda: True  # as if Stop were pressed during the first chunk
        kw["chunk_size"] = 2
        return real(*args, **kw)

    monkeypatch.setattr(ablation, "ablation_experiment", stop_after_first_chunk)
    at = new_app(PAGE)
    at.number_input(key="att_abl_n").set_value(2)
    at.number_input(key="att_abl_k").set_value(1)
    at.number_input(key="att_abl_queries").set_value(6)
    at.button(key="att_abl_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    warnings = " ".join(str(w.value) for w in at.warning)
    assert "Stopped after 2 of 6 queries: partial result" in warnings
    summary = _summary(at)
    assert summary["n_queries"].tolist() == [2, 2, 2]  # every condition on the same 2 queries
    assert "2 queries from" in _text(at)
    assert "accuracy drop" in _text(at) and "McNemar exact p" in _text(at)
    assert runs == [1]

    # another rerun (a widget touched) shows the partial result again, without a new run
    at.number_input(key="att_top_n").set_value(10).run()
    assert not at.exception, at.exception
    assert "Stopped after 2 of 6 queries" in " ".join(str(w.value) for w in at.warning)
    assert _summary(at)["n_queries"].tolist() == [2, 2, 2]
    assert runs == [1]

    # Run again without a stop: every query, no warning
    monkeypatch.setattr(ablation, "ablation_experiment", real)
    at.button(key="att_abl_run").click().run()
    assert not at.exception, at.exception
    assert not any("Stopped" in str(w.value) for w in at.warning)
    assert _summary(at)["n_queries"].tolist() == [6, 6, 6]
