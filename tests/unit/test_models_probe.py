"""Issue 12: a model load's error must not tell which paths exist on the server.

A name the user types (a path or hub id, not a bundled model) gets the same message whether nothing
is there or something is there that does not load; the reason goes to the server's log only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.model.registry import ModelLoadError, load_runner


def _message(name: str) -> str:
    """The load error for `name`, with `name` itself replaced (the message quotes what was typed)."""
    with pytest.raises(ModelLoadError) as info:
        load_runner(name, device="cpu")
    error = info.value
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    return str(info.value).replace(repr(name), "<name>")


def _junk_gguf(root: Path) -> Path:
    path = root / "model.gguf"
    path.write_bytes(b"GGUF" + bytes(range(256)) * 4)  # exists, is not a GGUF model
    return path


def _junk_safetensors_dir(root: Path, model_type: str) -> Path:
    path = root / f"{model_type}-model"
    path.mkdir()
    (path / "config.json").write_text(json.dumps({"model_type": model_type, "hidden_act": "silu"}))
    (path / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{broken}")
    return path


@pytest.mark.parametrize(
    "make",
    [
        _junk_gguf,  # the GGUF branch (dequantised into the weight cache)
        lambda root: _junk_safetensors_dir(root, "llama"),  # the lean Llama branch
        lambda root: _junk_safetensors_dir(root, "not-a-model-type"),  # the transformers branch
    ],
    ids=["gguf", "lean-dir", "transformers-dir"],
)
def test_an_existing_path_that_does_not_load_reads_like_a_missing_one(
    make: Callable[[Path], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("ICL_CACHE_DIR", str(tmp_path / "cache"))
    here = tmp_path / "here"
    here.mkdir()
    existing = make(here)
    missing = tmp_path / "gone" / existing.name  # the same name where nothing exists
    with caplog.at_level(logging.WARNING, logger="engine.model.registry"):
        said = _message(str(existing))
    assert said == _message(str(missing))
    assert "not a bundled model name" in said
    assert str(here) not in said
    assert any(r.exc_info for r in caplog.records), "the real reason is logged on the server"
