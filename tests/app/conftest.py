"""AppTest helpers: the app's entry point by absolute path (AppTest resolves relative paths
against the calling file)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP_PATH = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT = 1200  # seconds per script run: generous for a loaded 2-core machine (issue 13)


def new_app(page: str | None = None) -> AppTest:
    """A fresh AppTest of the whole app, run once, optionally switched to `page` (e.g. "pages/scoring.py")."""
    app = AppTest.from_file(APP_PATH, default_timeout=TIMEOUT)
    app.run()
    if page is not None:
        app.switch_page(page)
        app.run()
    return app


@pytest.fixture()
def app_test() -> AppTest:
    return new_app()
