"""Long runs in a real browser (issue 22, long work): the progress text counts the queries and
estimates the time left, and Stop ends the run and shows the partial result, marked."""

from __future__ import annotations

import re

from tests.browser.conftest import no_exception, set_number, shot, wait_for, wait_idle
from tests.browser.test_pages_browser import _open


def test_scoring_stop_keeps_the_partial_result(page, server) -> None:  # type: ignore[no-untyped-def]
    _open(page, server, "/scoring")
    set_number(page, "Test queries", 200)
    page.get_by_role("button", name="Run the evaluation", exact=True).click()
    # the count and the estimate appear once the first chunk of queries is done
    progress = page.get_by_text(re.compile(r"\d+ / 200 queries · about \d+ (s|min|h) left"))
    progress.first.wait_for(timeout=900_000)
    no_exception(page)
    page.get_by_role("button", name="Stop", exact=True).click()
    warning = page.get_by_text(re.compile(r"Stopped after \d+ of 200 queries: partial result"))
    wait_for(page, warning)
    done = int(re.search(r"Stopped after (\d+) of", warning.first.inner_text()).group(1))  # type: ignore[union-attr]
    assert 0 < done < 200
    page.get_by_text("Accuracy and calibration").wait_for()
    # the run does not start again: a later rerun shows the same partial result
    page.wait_for_timeout(2000)
    wait_idle(page)
    assert page.get_by_role("button", name="Stop", exact=True).count() == 0
    assert page.get_by_text(f"Stopped after {done} of 200 queries", exact=False).count() == 1
    no_exception(page)
    shot(page, "scoring_stopped", height=2400)
