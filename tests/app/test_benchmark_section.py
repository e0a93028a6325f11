"""The Scoring page's Benchmark section (issue 14): a tiny StaICC run shows the engine's own
numbers with their intervals and downloads; a stopped run is kept, marked, until Run is pressed;
a bad setting shows a message, never a traceback.

Runs the real default model on the first 16 SST-2 prompts of StaICC's protocol (one chunk).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import components.benchmark_section as section
from components.benchmark_views import benchmark_csv
from engine.experiments.benchmark import BenchmarkConfig, run_benchmark
from engine.model.registry import DEFAULT_MODEL, load_runner
from tests.app.conftest import TIMEOUT

APP = str(Path(__file__).resolve().with_name("benchmark_app.py"))


def _app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def _table(at: AppTest) -> Any:
    return next(d.value for d in at.dataframe if "accuracy" in d.value.columns)


def _texts(elements: Any) -> str:
    return " ".join(str(e.value) for e in elements)


def test_a_tiny_run_shows_the_engines_numbers_with_intervals() -> None:
    at = _app()
    at.selectbox(key="bm_limit").set_value(16).run()
    assert "on this machine: 16 prompts, 32 label scores" in _texts(at.caption)
    at.button(key="bm_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    table = _table(at)
    assert list(table["prompts"]) == [16]

    engine = run_benchmark(load_runner(DEFAULT_MODEL), BenchmarkConfig(datasets=("sst2",), limit=16))
    r = engine.results[0]
    assert table["accuracy"][0] == pytest.approx(round(r.accuracy, 4))
    lo, hi = r.accuracy_ci
    assert table["accuracy 95 % interval"][0] == f"{lo:.3f} – {hi:.3f}"  # Wilson
    assert table["macro-F1 95 % interval"][0] != "–" and table["ECE 95 % interval"][0] != "–"
    assert "A cut-down run, not StaICC's standard protocol" in _texts(at.caption)
    labels = [str(b.proto.label) for b in at.get("download_button")]
    assert "Download the benchmark table (CSV)" in labels
    csv = benchmark_csv(engine).decode()
    assert csv.splitlines()[0].startswith("model,dataset,staicc_name,n,accuracy,accuracy_lo,accuracy_hi")
    assert f",{r.accuracy}," in csv.splitlines()[1]


def test_a_stopped_run_is_kept_marked_until_run_is_pressed(monkeypatch: pytest.MonkeyPatch) -> None:
    real = section.run_benchmark
    runs: list[int] = []

    def stop_at_once(*args: Any, **kw: Any) -> Any:
        runs.append(1)
        assert kw["should_stop"] is not None  # the section can stop the run
        kw["should_stop"] = lambda: True  # as if Stop were pressed before the first chunk
        return real(*args, **kw)

    monkeypatch.setattr(section, "run_benchmark", stop_at_once)
    at = _app()
    at.selectbox(key="bm_limit").set_value(16).run()
    at.number_input(key="bm_resamples").set_value(200).run()  # another key than the first test's run
    at.button(key="bm_run").click().run()
    assert not at.exception, at.exception
    assert "Stopped before the first prompts were scored" in _texts(at.warning)
    at.run()  # a rerun shows the stopped run again, and starts nothing
    assert "Stopped before the first prompts were scored" in _texts(at.warning) and runs == [1]

    monkeypatch.setattr(section, "run_benchmark", real)
    at.button(key="bm_run").click().run()  # Run again: a new run, to the end
    assert not at.exception, at.exception
    assert not any("Stopped" in str(w.value) for w in at.warning)
    assert list(_table(at)["prompts"]) == [16]


def test_a_bad_setting_shows_a_message_not_a_traceback() -> None:
    at = _app()
    at.multiselect(key="bm_datasets").set_value([]).run()
    assert not at.exception, at.exception
    assert "Choose at least one data set." in _texts(at.info)
    assert not [b for b in at.button if b.key == "bm_run"]
