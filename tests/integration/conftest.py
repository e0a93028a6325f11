"""Integration fixtures: the real bundled model, loaded once per test session (never at import)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def runner():  # type: ignore[no-untyped-def]
    """SmolLM2-135M-Instruct (the default model) on CPU in fp32."""
    from engine.model.registry import load_runner

    return load_runner("smollm2-135m", device="cpu")
