"""What the session keeps across page changes (issues 21 and 22, bug 1), in AppTest.

Streamlit drops the session-state entry of every widget a run does not draw, so anything kept
only under a widget key is lost on a page change; these tests type, change page and come back.
The browser tests (tests/browser/test_navigation_browser.py) walk the same paths in Chromium.
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.app.conftest import new_app


def _go(at: AppTest, page: str) -> None:
    at.switch_page(page).run()
    assert not at.exception, at.exception


def test_prompt_edits_survive_a_page_change() -> None:
    at = new_app("pages/prompt_lab.py")
    at.text_area(key="w_pl_instruction").set_value("FRESH EDIT").run()
    at.text_area(key="w_pl_template").set_value("Text: {text}\nMood: {label}").run()
    at.text_area(key="w_pl_query").set_value("FRESH QUERY").run()
    at.text_input(key="w_pl_lw_positive").set_value("great").run()
    _go(at, "pages/generation.py")
    _go(at, "pages/prompt_lab.py")
    assert at.text_area(key="w_pl_instruction").value == "FRESH EDIT"
    assert at.text_area(key="w_pl_template").value == "Text: {text}\nMood: {label}"
    assert at.text_area(key="w_pl_query").value == "FRESH QUERY"
    assert at.text_input(key="w_pl_lw_positive").value == "great"
    assert at.session_state["pl_label_words"]["positive"] == "great"


def test_language_survives_a_page_change() -> None:
    at = new_app("pages/prompt_lab.py")
    at.radio(key="w_lang").set_value("zh").run()
    _go(at, "pages/home.py")
    assert at.radio(key="w_lang").value == "zh"
    assert at.title[0].value == "ICL 探索器"


def test_tour_order_step_first_lands_on_sensitivity_with_its_result() -> None:
    at = new_app()
    at.button(key="tour_order").click().run()
    assert not at.exception, at.exception
    assert at.selectbox(key="sens_experiment").value == "order"
    texts = [str(e.value) for kind in ("markdown", "caption", "info", "success") for e in getattr(at, kind)]
    assert any("orders of the same 4 demonstrations" in s for s in texts), texts


def test_tour_heads_step_sorts_by_induction() -> None:
    at = new_app()
    at.button(key="tour_heads").click().run()
    assert not at.exception, at.exception
    assert at.selectbox(key="att_sort").value == "induction"
