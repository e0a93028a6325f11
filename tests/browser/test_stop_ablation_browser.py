"""The Attention page's ablation in a real browser (issue 22, long work): the progress text counts
the queries and estimates the time left, and Stop ends the run and shows the partial result,
marked, with every condition on the same queries, without starting it again."""

from __future__ import annotations

import re

from tests.browser.conftest import no_exception, set_number, shot, wait_for, wait_idle
from tests.browser.test_pages_browser import _open


def test_ablation_stop_keeps_the_partial_result(page, server) -> None:  # type: ignore[no-untyped-def]
    _open(page, server, "/attention")
    page.get_by_text("Ablation: does ICL need these heads?").wait_for(timeout=900_000)
    set_number(page, "k (demonstrations)", 2)
    set_number(page, "Test queries", 200)
    page.get_by_role("button", name="Run the ablation", exact=True).click()
    # the count and the estimate appear once the first chunk of queries is done
    progress = page.get_by_text(re.compile(r"\d+ / 200 queries · about \d+ (s|min|h) left"))
    progress.first.wait_for(timeout=900_000)
    no_exception(page)
    page.get_by_role("button", name="Stop", exact=True).click()
    warning = page.get_by_text(re.compile(r"Stopped after \d+ of 200 queries: partial result"))
    wait_for(page, warning)
    done = int(re.search(r"Stopped after (\d+) of", warning.first.inner_text()).group(1))  # type: ignore[union-attr]
    assert 0 < done < 200
    # the partial result: its caption, and each ablated condition's drop with its uncertainty
    page.get_by_text(f"{done} queries from", exact=False).first.wait_for()
    drops = page.get_by_text(re.compile(rf"accuracy drop .* of {done} queries went from right to wrong"))
    assert drops.count() == 2
    # the run does not start again: a later rerun shows the same partial result
    page.wait_for_timeout(2000)
    wait_idle(page)
    assert page.get_by_role("button", name="Stop", exact=True).count() == 0
    assert page.get_by_text(f"Stopped after {done} of 200 queries", exact=False).count() == 1
    set_number(page, "Heads shown", 10)  # a widget above the ablation: a rerun, still no new run
    assert page.get_by_role("button", name="Stop", exact=True).count() == 0
    assert page.get_by_text(f"Stopped after {done} of 200 queries", exact=False).count() == 1
    no_exception(page)
    page.get_by_text(f"Stopped after {done} of 200 queries", exact=False).first.scroll_into_view_if_needed()
    shot(page, "attention_ablation_stopped", height=1600)
