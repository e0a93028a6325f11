"""Load test: N concurrent browser sessions against `streamlit run app.py` on localhost.

Each session opens the Prompt Lab in its own browser context (its own Streamlit session), types a
query that carries a unique marker, presses "Score the prompt" and waits for the prediction. The
bench checks that every session got a result and that the prompt it shows contains its own
marker and no other session's (no session sees another's state), then prints the success count
and p50 / p95 latency from click to result.

    python bench/load.py --sessions 8 [--url http://127.0.0.1:8501]   # default: starts its own server

With ``--uploads`` each session instead picks "Your file (CSV / JSONL)" and uploads its own
10-row CSV, every one under the same file name (``data.csv``) and with the same row count, the
case that once handed one user's rows to another through a cache keyed by the name. Each
session must then see only its own rows: the query taken from its test split, the test-query
picker and the scored prompt (its demonstrations, drawn from its pool) carry its marker and no
other session's.

    python bench/load.py --sessions 8 --uploads

Only localhost is ever contacted. Needs Debian's Chromium at /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@dataclass(frozen=True, slots=True)
class SessionResult:
    index: int
    ok: bool
    latency_s: float
    error: str = ""


def start_server(port: int, log: IO[str] | None = None, timeout_s: float = 60.0) -> subprocess.Popen[bytes]:
    """Starts `streamlit run app.py` on 127.0.0.1:`port` and returns once it answers its health check.

    Also used by the browser tests (tests/browser/conftest.py). Output goes to `log` (or nowhere).

    Raises:
        RuntimeError: the server did not become healthy within `timeout_s`.
    """
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    out = log if log is not None else subprocess.DEVNULL
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT if log is not None else subprocess.DEVNULL,
    )
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"streamlit run did not become healthy within {timeout_s:.0f} s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _in_own_session(browser, i: int, timeout_s: float, steps) -> SessionResult:  # type: ignore[no-untyped-def]
    """Runs `steps(page)` in a browser context of its own (its own Streamlit session).

    `steps` returns the session's verdict; an ok verdict still fails on an exception box, and
    any error becomes a failed result, so one broken session never stops the others.
    """
    ctx = await browser.new_context(viewport={"width": 1300, "height": 1000})
    page = await ctx.new_page()
    page.set_default_timeout(timeout_s * 1000)
    try:
        result: SessionResult = await steps(page)
        if result.ok and await page.locator('[data-testid="stException"]').count():
            return SessionResult(i, False, result.latency_s, "exception box")
        return result
    except Exception as exc:
        return SessionResult(i, False, float("nan"), f"{type(exc).__name__}: {exc}"[:200])
    finally:
        await ctx.close()


async def _score(page) -> tuple[float, str]:  # type: ignore[no-untyped-def]
    """Presses "Score the prompt"; returns (seconds from click to result, the main area's text)."""
    t0 = time.perf_counter()
    await page.get_by_role("button", name="Score the prompt").click()
    await page.get_by_text("Predicted label").wait_for()
    latency = time.perf_counter() - t0
    return latency, await page.locator('[data-testid="stMain"]').inner_text()


async def one_session(browser, url: str, i: int, n: int, timeout_s: float) -> SessionResult:  # type: ignore[no-untyped-def]
    marker = f"zqx{i:02d}marker"

    async def steps(page) -> SessionResult:  # type: ignore[no-untyped-def]
        await page.goto(url + "/prompt_lab")
        query = page.get_by_label("Query", exact=True)
        await query.wait_for()
        await query.fill(f"session {i} {marker}: a warm and funny film")
        await query.press("Control+Enter")
        await page.wait_for_timeout(500)
        latency, body = await _score(page)
        others = [f"zqx{j:02d}marker" for j in range(n) if j != i]
        if marker not in body:
            return SessionResult(i, False, latency, "own query missing from the scored prompt")
        leaked = [m for m in others if m in body]
        if leaked:
            return SessionResult(i, False, latency, f"sees other sessions' queries: {leaked}")
        return SessionResult(i, True, latency)

    return await _in_own_session(browser, i, timeout_s, steps)


UPLOAD_NAME = "data.csv"  # one name for every session's file


def upload_rows(i: int, n_rows: int = 10) -> str:
    """Session `i`'s CSV: `n_rows` rows, each text carrying the session's marker."""
    marker = f"upl{i:02d}mark"
    rows = [
        f"{marker} film {j} was {'great' if j % 2 else 'dull'},{'pos' if j % 2 else 'neg'}"
        for j in range(n_rows)
    ]
    return "text,label\n" + "\n".join(rows) + "\n"


async def upload_session(  # type: ignore[no-untyped-def]
    browser, url: str, i: int, n: int, timeout_s: float, tmp_dir: Path
) -> SessionResult:
    """Session `i` uploads its own `data.csv` and checks that it sees its rows and nobody else's."""
    marker = f"upl{i:02d}mark"
    path = tmp_dir / f"s{i:02d}" / UPLOAD_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(upload_rows(i), encoding="utf-8")

    async def steps(page) -> SessionResult:  # type: ignore[no-untyped-def]
        await page.goto(url + "/prompt_lab")
        sidebar = page.locator('[data-testid="stSidebar"]')
        await sidebar.get_by_label("Dataset").click()
        await page.get_by_role("option", name="Your file (CSV / JSONL)").click()
        # the rerun that draws the uploader has finished once its "no file yet" note shows
        await sidebar.get_by_text("No file loaded yet").wait_for()
        await page.wait_for_timeout(1000)
        uploader = sidebar.locator('[data-testid="stFileUploaderDropzoneInput"]').first
        await uploader.set_input_files(str(path))
        await sidebar.get_by_text("Loaded 10 rows.").wait_for()
        query = page.get_by_label("Query", exact=True)
        for _ in range(int(timeout_s * 2)):  # the rerun that re-seeds the prompt from the upload
            if marker in await query.input_value():
                break
            await page.wait_for_timeout(500)
        latency, body = await _score(page)
        shown_query = await query.input_value()
        body += "\n" + shown_query
        others = [f"upl{j:02d}mark" for j in range(n) if j != i]
        leaked = [m for m in others if m in body]
        if leaked:
            return SessionResult(i, False, latency, f"sees other sessions' rows: {leaked}")
        if marker not in shown_query:
            return SessionResult(i, False, latency, "the query is not from the session's own upload")
        if body.count(marker) < 2:
            return SessionResult(i, False, latency, "the scored prompt lacks the session's own rows")
        return SessionResult(i, True, latency)

    return await _in_own_session(browser, i, timeout_s, steps)


async def _with_browser(sessions) -> list[SessionResult]:  # type: ignore[no-untyped-def]
    """Launches one Chromium, awaits `sessions(browser)` (a list of results) and closes it."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            return list(await sessions(browser))
        finally:
            await browser.close()


async def run_uploads(url: str, n: int, timeout_s: float, tmp_dir: Path) -> list[SessionResult]:
    """`n` concurrent sessions, each uploading its own `data.csv` (see `upload_session`)."""

    async def sessions(browser) -> list[SessionResult]:  # type: ignore[no-untyped-def]
        return await asyncio.gather(
            *(upload_session(browser, url, i, n, timeout_s, tmp_dir) for i in range(n))
        )

    return await _with_browser(sessions)


async def run(url: str, n: int, timeout_s: float) -> list[SessionResult]:
    async def sessions(browser) -> list[SessionResult]:  # type: ignore[no-untyped-def]
        # warm the model once so the figures measure serving, not the first weight load
        warm = await one_session(browser, url, 99, 100, timeout_s)
        if not warm.ok:
            print(f"warm-up failed: {warm.error}", file=sys.stderr)
        return await asyncio.gather(*(one_session(browser, url, i, n, timeout_s) for i in range(n)))

    return await _with_browser(sessions)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--url", default=None, help="an already running app (default: start one)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per session")
    parser.add_argument(
        "--uploads",
        action="store_true",
        help="each session uploads its own data.csv (same name, same row count) and must see only its rows",
    )
    args = parser.parse_args()
    proc = None
    url = args.url
    if url is None:
        port = free_port()
        proc = start_server(port)
        url = f"http://127.0.0.1:{port}"
    try:
        t0 = time.perf_counter()
        if args.uploads:
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                results = asyncio.run(run_uploads(url, args.sessions, args.timeout, Path(tmp)))
        else:
            results = asyncio.run(run(url, args.sessions, args.timeout))
        wall = time.perf_counter() - t0
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
    ok = [r for r in results if r.ok]
    lat = sorted(r.latency_s for r in ok)
    print(f"sessions: {len(results)}, succeeded: {len(ok)}, failed: {len(results) - len(ok)}")
    for r in results:
        if not r.ok:
            print(f"  session {r.index}: {r.error}")
    if lat:
        p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
        print(
            f"latency click -> result: p50 {statistics.median(lat):.2f} s, p95 {p95:.2f} s, max {lat[-1]:.2f} s"
        )
    print(
        f"wall time {wall:.1f} s; no session saw another's {'rows' if args.uploads else 'result'}: {all(r.ok or 'sees other' not in r.error for r in results)}"
    )
    sys.exit(0 if len(ok) == len(results) else 1)


if __name__ == "__main__":
    main()
