"""Shared test setup: offline Hugging Face, integration tests marked automatically."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).parts
        if "integration" in parts:
            item.add_marker(pytest.mark.integration)
            # one model per worker process: keep integration tests in one xdist group
            item.add_marker(pytest.mark.xdist_group("model"))
        if "app" in parts:
            item.add_marker(pytest.mark.app)
        if "browser" in parts:
            item.add_marker(pytest.mark.browser)
            # one streamlit server and one Chromium per session: keep browser tests together
            item.add_marker(pytest.mark.xdist_group("browser"))
