"""The teacher's path across pages in a real browser (issues 21 and 22, bug 1).

* Every guided-tour step, in order and out of order, lands on its page with its result drawn
  and no exception box (the "Measure order effects" step used to crash on a widget key).
* Prompt edits made in a fresh session survive every page change and a language switch (the
  Instruction, Template and Query used to vanish after one visit to another page).
* The UI language survives a page change (it used to fall back to English).

Each test opens a fresh browser context, so a fresh Streamlit session.
"""

from __future__ import annotations

from components.i18n_zh import ZH
from tests.browser.conftest import no_exception, wait_for, wait_idle

CHARTS = '[data-testid="stPlotlyChart"]'
PAGES = ("Home", "Scoring", "Demo Selection", "Attention", "Sensitivity", "Generation", "Response Ranking")

INSTRUCTION = "Instruction (optional, goes first)"
TEMPLATE = "Template (one demonstration; use {text} and {label})"
QUERY = "Query"
EDITS = {
    INSTRUCTION: "FRESH EDIT",
    TEMPLATE: "Text: {text}\nMood: {label}",
    QUERY: "FRESH QUERY about a film",
}
WORD = "great"  # typed over the label word of "positive"


def _go(page, title: str) -> None:  # type: ignore[no-untyped-def]
    """Clicks the sidebar link `title` (in the UI language) and waits for the page's run."""
    page.locator('[data-testid="stSidebar"]').get_by_text(title, exact=True).click()
    page.wait_for_timeout(500)
    wait_idle(page)
    no_exception(page)


def _heading(page, title: str) -> None:  # type: ignore[no-untyped-def]
    wait_for(page, page.get_by_role("heading", name=title, exact=True))


def _tour(page, button: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_timeout(500)
    wait_idle(page)
    no_exception(page)


def _check_order_step(page) -> None:  # type: ignore[no-untyped-def]
    """On Sensitivity, with the order experiment selected and its result (summary + chart) drawn."""
    _heading(page, "Sensitivity")
    wait_for(page, page.get_by_text("orders of the same 4 demonstrations"))
    wait_for(page, page.locator(CHARTS))
    assert page.get_by_text("Order variance").count() >= 1


def test_tour_order_step_first_in_a_fresh_session(page, server) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + "/")
    wait_idle(page)
    no_exception(page)
    _tour(page, "Measure order effects")
    _check_order_step(page)


def test_full_tour_in_order(page, server) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + "/")
    wait_idle(page)
    _tour(page, "Show zero-shot")
    _heading(page, "Prompt Lab")
    wait_for(page, page.get_by_text("Predicted label"))
    _go(page, "Home")
    _tour(page, "Show 4-shot")
    _heading(page, "Prompt Lab")
    wait_for(page, page.get_by_text("Predicted label"))
    _go(page, "Home")
    _tour(page, "Measure order effects")
    _check_order_step(page)
    _go(page, "Home")
    _tour(page, "Find induction heads")
    _heading(page, "Attention")
    wait_for(page, page.get_by_role("heading", name="Head scores"))
    wait_for(page, page.locator(CHARTS))
    no_exception(page)


def _edit_prompt(page) -> None:  # type: ignore[no-untyped-def]
    for label, value in EDITS.items():
        box = page.get_by_label(label, exact=True)
        box.fill(value)
        box.press("Control+Enter")
        wait_idle(page)
    word = page.get_by_label("positive", exact=True)
    word.fill(WORD)
    word.press("Enter")
    wait_idle(page)
    no_exception(page)


# the widget keys of the edited fields (Streamlit gives each keyed widget a `st-key-<key>` class)
KEYS = {INSTRUCTION: "w_pl_instruction", TEMPLATE: "w_pl_template", QUERY: "w_pl_query"}


def _check_prompt(page, zh: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Every edited field of the Prompt Lab holds what was typed (found by widget key, so in
    either language)."""
    _heading(page, ZH["Prompt Lab"] if zh else "Prompt Lab")
    for label, value in EDITS.items():
        box = page.locator(f".st-key-{KEYS[label]} textarea")
        assert box.input_value() == value, (label, box.input_value())
    assert page.locator(".st-key-w_pl_lw_positive input").input_value() == WORD


def test_prompt_edits_survive_page_changes_and_language(page, server) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + "/prompt_lab")
    wait_idle(page)
    no_exception(page)
    _heading(page, "Prompt Lab")
    _edit_prompt(page)
    # the repro of issue 21: Generation and back
    _go(page, "Generation")
    _go(page, "Prompt Lab")
    _check_prompt(page)
    # every other page, then back
    for title in PAGES:
        _go(page, title)
    _go(page, "Prompt Lab")
    _check_prompt(page)
    # switch the language, change page, come back, switch back
    page.get_by_text("简体中文", exact=True).click()
    wait_idle(page)
    _check_prompt(page, zh=True)
    _go(page, ZH["Generation"])
    _go(page, ZH["Prompt Lab"])
    _check_prompt(page, zh=True)
    page.get_by_text("English", exact=True).click()
    wait_idle(page)
    _check_prompt(page)


def test_language_survives_page_change(page, server) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + "/prompt_lab")
    wait_idle(page)
    page.get_by_text("简体中文", exact=True).click()
    wait_idle(page)
    _heading(page, ZH["Prompt Lab"])
    _go(page, ZH["Home"])
    _heading(page, ZH["ICL Explorer"])
    radio = page.locator('[data-testid="stSidebar"]').get_by_role("radio", name="简体中文")
    assert radio.is_checked()
    _go(page, ZH["Sensitivity"])
    _heading(page, ZH["Sensitivity"])
