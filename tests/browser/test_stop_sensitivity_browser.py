"""A long Sensitivity experiment in a real browser (issue 22, long work): the progress text counts
the evaluations and estimates the time left, and Stop ends the run and shows the partial result,
marked, with its summary, chart and table, without starting it again."""

from __future__ import annotations

import re

from tests.browser.conftest import no_exception, set_number, shot, wait_for, wait_idle
from tests.browser.test_pages_browser import _open

ORDERS = 24  # every order of 4 demonstrations (4! = 24): the page caps N there


def test_sensitivity_stop_keeps_the_partial_result(page, server) -> None:  # type: ignore[no-untyped-def]
    _open(page, server, "/sensitivity")
    # the order experiment: all 24 orders of 4 demonstrations (the default k), 40 queries each
    page.get_by_label("Experiment", exact=True).click()
    page.get_by_role("option", name="Order variance", exact=True).click()
    wait_idle(page)
    set_number(page, "Orders (N)", ORDERS)
    set_number(page, "Test queries", 40)  # long enough that Stop lands before the end
    page.get_by_role("button", name="Run the experiment", exact=True).click()
    # the count and the estimate appear once the first evaluation is done
    progress = page.get_by_text(re.compile(rf"\d+ / {ORDERS} evaluations · about \d+ (s|min|h) left"))
    progress.first.wait_for(timeout=900_000)
    no_exception(page)
    page.get_by_role("button", name="Stop", exact=True).click()
    warning = page.get_by_text(re.compile(rf"Stopped after \d+ of {ORDERS} evaluations: partial result"))
    wait_for(page, warning)
    done = int(re.search(r"Stopped after (\d+) of", warning.first.inner_text()).group(1))  # type: ignore[union-attr]
    assert 0 < done < ORDERS
    # the summary, the chart and the table of the orders done
    summary = page.get_by_text(
        re.compile(r"Accuracy ranges from .* over \d+ orders of the same 4 demonstrations")
    )
    wait_for(page, summary)
    shown = int(re.search(r"over (\d+) orders", summary.first.inner_text()).group(1))  # type: ignore[union-attr]
    assert shown == done  # one row per order evaluated
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= 1
    page.get_by_text(f"{done} / {ORDERS}", exact=True).first.wait_for()  # the "Evaluations run" metric
    # the run does not start again: a later rerun shows the same partial result
    page.wait_for_timeout(2000)
    wait_idle(page)
    assert page.get_by_role("button", name="Stop", exact=True).count() == 0
    assert page.get_by_text(f"Stopped after {done} of {ORDERS} evaluations", exact=False).count() == 1
    no_exception(page)
    shot(page, "sensitivity_stopped", height=2400)
