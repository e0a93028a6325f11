"""Eight real browsers upload different data under one file name to one server: each session sees
only its own rows (issue 12's leak, where a cache keyed by "upload:<name>:<rows>" handed the
first user's pool and test set to everyone after)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.load import run_uploads

SESSIONS = 8
TIMEOUT_S = 900.0  # per session, on a loaded 2-core machine


def test_eight_sessions_upload_same_name_and_see_only_their_own_rows(server: str, tmp_path: Path) -> None:
    # the async bench runs in a thread of its own: this thread's event loop belongs to the sync
    # Playwright of the other browser tests
    with ThreadPoolExecutor(max_workers=1) as pool:
        results = pool.submit(asyncio.run, run_uploads(server, SESSIONS, TIMEOUT_S, tmp_path)).result()
    failed = [f"session {r.index}: {r.error}" for r in results if not r.ok]
    assert len(results) == SESSIONS
    assert not failed, failed
