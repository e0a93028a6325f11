"""Long generation runs in a real browser (issue 22, long work): the progress text counts the
tokens, gives the rate and estimates the time left, and Stop ends the run and shows the text
generated so far, marked partial, without generating again. Same for an evaluation over the
task's test items."""

from __future__ import annotations

import re

from engine.data.gen_tasks import load_gen_task, split_gen_task
from tests.browser.conftest import no_exception, set_number, shot, wait_for, wait_idle
from tests.browser.test_pages_browser import _open

STOP_SEQUENCES = "Stop sequences (comma-separated, \\n = newline)"


def _no_stop_sequences(page) -> None:  # type: ignore[no-untyped-def]
    """Clears the task's stop sequence ("\\n"), so the model writes until the token budget."""
    box = page.get_by_label(STOP_SEQUENCES, exact=True)
    box.fill("")
    box.press("Enter")
    wait_idle(page)


def test_generation_stop_keeps_the_text_so_far(page, server) -> None:  # type: ignore[no-untyped-def]
    _open(page, server, "/generation")
    _no_stop_sequences(page)
    set_number(page, "Max new tokens", 256)
    page.get_by_role("button", name="Generate with both strategies", exact=True).click()
    # count, rate and estimate appear once the first tokens are made
    progress = page.get_by_text(
        re.compile(
            r"A: greedy · \d+ / at most 512 tokens · [\d.]+ tokens/s · about \d+ (s|min|h) left at most"
        )
    )
    progress.first.wait_for(timeout=900_000)
    no_exception(page)
    page.get_by_role("button", name="Stop", exact=True).click()
    warning = page.get_by_text(re.compile(r"Stopped after \d+ of at most \d+ tokens: partial result"))
    wait_for(page, warning)
    found = re.search(r"Stopped after (\d+) of at most (\d+) tokens", warning.first.inner_text())
    assert found is not None
    done, total = int(found.group(1)), int(found.group(2))
    assert 0 < done < total <= 512
    assert "0 of 2 strategies finished" in warning.first.inner_text()  # stopped during A
    # the text so far is shown, marked, with its token view
    assert page.get_by_text("stopped: partial", exact=False).count() == 1
    assert page.locator('[data-testid="stCode"]').count() >= 1  # A's text so far
    assert page.get_by_text(re.compile(rf"^{done} tokens · [\d.]+ s")).count() == 1
    # the run does not start again: a later rerun shows the same partial result
    page.wait_for_timeout(2000)
    wait_idle(page)
    assert page.get_by_role("button", name="Stop", exact=True).count() == 0
    assert page.get_by_text(f"Stopped after {done} of at most {total} tokens", exact=False).count() == 1
    set_number(page, "Max new tokens", 255)  # any rerun: still the partial result, no new run
    assert page.get_by_role("button", name="Stop", exact=True).count() == 0
    assert page.get_by_text(f"Stopped after {done} of at most {total} tokens", exact=False).count() == 1
    no_exception(page)
    shot(page, "generation_stopped", height=2400)


def test_evaluation_stop_keeps_the_items_done(page, server) -> None:  # type: ignore[no-untyped-def]
    _open(page, server, "/generation")
    _no_stop_sequences(page)
    set_number(page, "Max new tokens", 48)
    page.get_by_text("Evaluate strategy A on the task's test items").click()
    page.wait_for_timeout(500)
    n_items = len(split_gen_task(load_gen_task("en_fr"), seed=0).test)  # the default task and seed
    assert n_items >= 4
    set_number(page, "Test items", n_items)
    page.get_by_role("button", name="Evaluate", exact=True).click()
    # the estimate appears once an item is done
    progress = page.get_by_text(
        re.compile(
            rf"\d+ / {n_items} items · item \d+: \d+ tokens · [\d.]+ tokens/s · about \d+ (s|min|h) left"
        )
    )
    progress.first.wait_for(timeout=900_000)
    no_exception(page)
    page.get_by_role("button", name="Stop", exact=True).click()
    warning = page.get_by_text(re.compile(rf"Stopped after \d+ of {n_items} items: partial result"))
    wait_for(page, warning)
    found = re.search(r"Stopped after (\d+) of", warning.first.inner_text())
    assert found is not None
    done = int(found.group(1))
    assert 0 < done < n_items
    page.get_by_text(re.compile(rf"^{done} items in [\d.]+ s")).wait_for()
    page.wait_for_timeout(2000)
    wait_idle(page)
    assert page.get_by_role("button", name="Stop", exact=True).count() == 0
    assert page.get_by_text(f"Stopped after {done} of {n_items} items", exact=False).count() == 1
    no_exception(page)
