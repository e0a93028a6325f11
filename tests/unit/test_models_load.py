"""load_runner on a tiny random Llama saved to disk: one load, one record of its time (both paths);
a tokenizer.json that cannot be read directly is logged, never dropped silently."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from engine.model.hf_loading import load_tokenizer
from engine.model.registry import load_runner
from tests.unit.test_prefix_cache import _llama


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    runner = _llama(4096)
    folder = tmp_path_factory.mktemp("tiny-llama")
    runner.model.save_pretrained(str(folder))
    runner.tokenizer.save_pretrained(str(folder))
    return folder


@pytest.mark.parametrize("lean", [True, False], ids=["lean", "transformers"])
def test_a_load_is_recorded_once(
    lean: bool, tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ICL_CACHE_DIR", str(tmp_path))
    steps: list[str] = []
    runner = load_runner(str(tiny_dir), device="cpu", lean=lean, progress=lambda _f, text: steps.append(text))
    assert (runner._lean is not None) is lean
    record = json.loads((tmp_path / "load_times.json").read_text())
    assert list(record) == [f"{tiny_dir}|cached"] and len(record[f"{tiny_dir}|cached"]) == 1
    assert steps[0] == "Loading weights..." and steps[-1].startswith(f"Loaded {tiny_dir} in ")
    assert len(steps) == 2


def test_an_unreadable_tokenizer_json_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "tokenizer.json").write_text("{not a tokenizer")
    with caplog.at_level(logging.WARNING, logger="engine.model.hf_loading"), pytest.raises(ValueError):
        load_tokenizer(tmp_path)  # AutoTokenizer fails too: its own error reaches the caller
    assert any(
        "tokenizer.json" in r.getMessage() and "AutoTokenizer" in r.getMessage() for r in caplog.records
    )
