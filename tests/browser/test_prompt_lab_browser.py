"""Prompt Lab in a real browser: loads, scores SST-2 4-shot on the default model."""

from __future__ import annotations

from tests.browser.conftest import no_exception, shot, wait_idle


def test_home_and_prompt_lab_score(page, server) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + "/")
    wait_idle(page)
    no_exception(page)
    page.get_by_text("A live example").wait_for()
    shot(page, "home")
    page.goto(server + "/prompt_lab")
    wait_idle(page)
    no_exception(page)
    page.get_by_role("button", name="Score the prompt").click()
    page.get_by_text("Predicted label").wait_for(timeout=300_000)
    wait_idle(page)
    no_exception(page)
    shot(page, "prompt_lab")
