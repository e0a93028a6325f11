"""Model resolution errors are clear and nothing is ever downloaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.model.registry import MODELS, ModelLoadError, file_sha256, resolve


def test_registry_names() -> None:
    assert {"smollm2-135m", "gemma3-270m"} <= set(MODELS)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Enter a model"),
        ("no-such-model", "Could not load model 'no-such-model': not a bundled model name \\(smollm2-135m"),
        ("someone/not-downloaded-model-xyz", "not in the local Hugging Face cache"),
        ("/nonexistent/file.gguf", "Could not load model '/nonexistent/file.gguf'"),
    ],
)
def test_unknown_models_give_clear_messages(name: str, message: str) -> None:
    with pytest.raises(ModelLoadError, match=message):
        resolve(name)


def test_directory_without_safetensors_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(ModelLoadError, match="safetensors"):
        resolve(str(tmp_path))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelLoadError, match=r"config\.json"):
        resolve(str(empty))  # the same message as for a missing path (#12: no probing of paths)


def test_sha256_memo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    monkeypatch.setenv("ICL_CACHE_DIR", str(tmp_path / "cache"))
    f = tmp_path / "x.gguf"
    f.write_bytes(b"abc" * 1000)
    assert file_sha256(f) == hashlib.sha256(b"abc" * 1000).hexdigest()
    assert file_sha256(f) == hashlib.sha256(b"abc" * 1000).hexdigest()  # memoised path
