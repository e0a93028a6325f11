"""engine.model.load_times: loads are recorded per model and kind, and the expected time is their median."""

from __future__ import annotations

from pathlib import Path

from components.i18n_zh import ZH
from engine.model import load_times
from engine.model.registry import LOAD_STEPS


def test_before_any_load_the_measured_first_load_is_expected(tmp_path: Path) -> None:
    assert load_times.expected_seconds(tmp_path, "gemma3-270m", "first") == (
        load_times.MEASURED_FIRST_LOAD_S["gemma3-270m"],
        False,
    )
    assert load_times.expected_seconds(tmp_path, "gemma3-270m", "cached") is None
    assert load_times.expected_seconds(tmp_path, "/my/model", "first") is None


def test_recorded_loads_give_the_median_of_the_recent_ones(tmp_path: Path) -> None:
    for s in (10.0, 200.0, 30.0):
        load_times.record_load(tmp_path, "gemma3-270m", "first", s)
    load_times.record_load(tmp_path, "gemma3-270m", "cached", 3.0)
    assert load_times.expected_seconds(tmp_path, "gemma3-270m", "first") == (30.0, True)
    assert load_times.expected_seconds(tmp_path, "gemma3-270m", "cached") == (3.0, True)
    for s in range(10):
        load_times.record_load(tmp_path, "m", "cached", float(s))
    # only the last KEEP loads count: 5..9
    assert load_times.expected_seconds(tmp_path, "m", "cached") == (7.0, True)


def test_a_broken_record_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "load_times.json").write_text("{not json", encoding="utf-8")
    assert load_times.expected_seconds(tmp_path, "m", "cached") is None
    load_times.record_load(tmp_path, "m", "cached", 4.0)  # and replaced by a good one
    assert load_times.expected_seconds(tmp_path, "m", "cached") == (4.0, True)
    (tmp_path / "load_times.json").write_text('{"m|cached": ["x", -1, 2.5], "bad": 3}', encoding="utf-8")
    assert load_times.expected_seconds(tmp_path, "m", "cached") == (2.5, True)


def test_every_load_step_the_ui_shows_has_chinese() -> None:
    assert [s for s in LOAD_STEPS if s not in ZH] == []
