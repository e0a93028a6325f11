"""Browser tests: Playwright driving Debian's Chromium against `streamlit run app.py` on localhost.

The server is started once per session on a free port and stopped at the end. Screenshots go to
`artifacts/screenshots/` (the README shows them). Tests are skipped, with the reason, when
/usr/bin/chromium is missing (`make test` installs it with apt-get).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.load import ARGS as CHROMIUM_ARGS
from bench.load import free_port, start_server

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (install Debian's chromium)")
    port = free_port()
    (ROOT / "artifacts").mkdir(exist_ok=True)
    log = open(ROOT / "artifacts" / "streamlit.log", "w")  # noqa: SIM115 - closed in finally
    try:
        try:
            proc = start_server(port, log)
        except RuntimeError as exc:
            pytest.fail(str(exc))
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    finally:
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser, server):  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(600_000)
    yield pg
    ctx.close()


def wait_idle(page, timeout_ms: int = 900_000) -> None:  # type: ignore[no-untyped-def]
    """Waits until Streamlit has finished the current script run (the app's script state, as
    Streamlit's own e2e tests read it, and no running indicator)."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    page.wait_for_function(
        """() => {
            const app = document.querySelector('[data-testid="stApp"]');
            const state = app ? app.getAttribute('data-test-script-state') : null;
            return state !== 'running' && !document.querySelector('[data-testid="stStatusWidget"]');
        }""",
        timeout=timeout_ms,
    )
    page.wait_for_timeout(300)


RESULT_TIMEOUT_S = 900  # the real model on a 2-core CI machine: first loads and index builds take minutes


def wait_for(page, locator, n: int = 1, timeout_s: float = RESULT_TIMEOUT_S) -> None:  # type: ignore[no-untyped-def]
    """Waits until `locator` matches at least `n` elements; fails at once on an exception box.

    Streamlit shows its running indicator only some time after a click, so waiting for the
    indicator to go away is not enough: the test waits for the result it expects.
    """
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        no_exception(page)
        if locator.count() >= n:
            wait_idle(page)
            no_exception(page)
            return
        page.wait_for_timeout(500)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {locator}")


def set_number(page, label: str, value: int) -> None:  # type: ignore[no-untyped-def]
    """Types `value` into the number input labelled `label` and waits for the rerun."""
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    wait_idle(page)


def no_exception(page) -> None:  # type: ignore[no-untyped-def]
    boxes = page.locator('[data-testid="stException"]')
    assert boxes.count() == 0, boxes.first.inner_text()


def shot(page, name: str, height: int = 2400) -> None:  # type: ignore[no-untyped-def]
    """Screenshot of the whole page: Streamlit scrolls inside its own container, so the
    viewport is made tall for the shot instead of using full_page."""
    size = page.viewport_size
    page.set_viewport_size({"width": 1400, "height": height})
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    if size:
        page.set_viewport_size(size)


PLOTLY_JS = """() => {
    const plain = (v) => {
        if (v === null || v === undefined) return null;
        if (ArrayBuffer.isView(v)) return Array.from(v, (x) => (Number.isFinite(x) ? x : null));
        if (Array.isArray(v)) return v.map(plain);
        if (typeof v === 'number') return Number.isFinite(v) ? v : null;
        return typeof v === 'object' ? null : v;
    };
    return Array.from(document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')).map((gd) => {
        const title = gd.layout && gd.layout.title;
        const yaxis = (gd._fullLayout && gd._fullLayout.yaxis) || {};
        return {
            title: typeof title === 'string' ? title : (title && title.text) || '',
            ytitle: (yaxis.title && yaxis.title.text) || '',
            traces: (gd._fullData || gd.data || []).map((t) => ({
                type: t.type, name: t.name || '', x: plain(t.x), y: plain(t.y), z: plain(t.z),
                color: t.marker ? plain(t.marker.color) : null,
            })),
        };
    });
}"""


def plotly_figures(page) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Every Plotly chart on the page as the browser holds it: its title, y-axis title and traces
    (type, name, x, y, z, marker colour; typed arrays as lists, NaN as None), in page order.

    The numbers a page draws are checked here, not only that a chart appeared.
    """
    return list(page.evaluate(PLOTLY_JS))


def metric_value(page, label: str) -> str:  # type: ignore[no-untyped-def]
    """The text of the `st.metric` whose label contains `label`."""
    box = page.locator('[data-testid="stMetric"]').filter(
        has=page.locator('[data-testid="stMetricLabel"]', has_text=label)
    )
    return str(box.first.locator('[data-testid="stMetricValue"]').inner_text()).strip()
