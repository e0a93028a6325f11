"""Loading the app's own experiment file again and again in one session (issue 22, bug 4).

Before the fix the sidebar's notices were drawn straight above the "Save, load, share" expander, so
the run after a load shifted it by one slot and the browser re-created it collapsed: the file and
"Experiment loaded." were hidden. With the expander kept in place, choosing the same file a second
time then did nothing (the browser's file input still held it). No scoring: no model work.
"""

from __future__ import annotations

import json

from tests.browser.conftest import no_exception, wait_idle

SAVED = "the saved query of a wonderful film"


def _sidebar(page):  # type: ignore[no-untyped-def]
    return page.locator('[data-testid="stSidebar"]')


def _open_box(page) -> None:  # type: ignore[no-untyped-def]
    box = _sidebar(page).locator('[data-testid="stExpander"] details').first
    if box.get_attribute("open") is None:
        _sidebar(page).get_by_text("Save, load, share").click()
        page.wait_for_timeout(300)


def _set_query(page, text: str) -> None:  # type: ignore[no-untyped-def]
    box = page.get_by_label("Query", exact=True)
    box.fill(text)
    box.press("Control+Enter")
    page.wait_for_timeout(500)
    wait_idle(page)


def _banner_query(page) -> str:  # type: ignore[no-untyped-def]
    return str(page.get_by_text("Working on:").first.inner_text())


def _upload_and_check(page, path: str, where: str) -> None:  # type: ignore[no-untyped-def]
    _open_box(page)
    _sidebar(page).locator('[data-testid="stFileUploaderDropzoneInput"]').last.set_input_files(path)
    done = _sidebar(page).get_by_text("Experiment loaded.", exact=True)
    for _ in range(120):  # the upload's run, then the run that applies the experiment
        if done.count() and done.first.is_visible() and SAVED in _banner_query(page):
            break
        page.wait_for_timeout(500)
    wait_idle(page)
    no_exception(page)
    assert done.count() == 1 and done.first.is_visible(), f"{where}: no visible 'Experiment loaded.'"
    assert SAVED in _banner_query(page), f"{where}: the saved query was not restored"
    # the box stays open, so what is in it can be seen
    assert (
        _sidebar(page).locator('[data-testid="stExpander"] details').first.get_attribute("open") is not None
    )


def test_the_same_experiment_file_loads_every_time(page, server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + "/prompt_lab")
    wait_idle(page)
    _open_box(page)
    _set_query(page, SAVED)
    path = str(tmp_path / "icl-experiment.json")
    saved: dict[str, object] = {}
    for _ in range(60):  # the download holds what the last finished run rendered
        with page.expect_download() as dl:
            page.get_by_role("button", name="Save experiment (JSON)").click()
        dl.value.save_as(path)
        with open(path, encoding="utf-8") as fh:
            saved = json.load(fh)
        if saved["query"] == SAVED:
            break
        page.wait_for_timeout(1000)
        wait_idle(page)
    assert saved["query"] == SAVED
    for n in (1, 2):  # the same file twice on the same page
        _set_query(page, f"another query {n}")
        _upload_and_check(page, path, f"Prompt Lab, upload {n}")
        assert page.get_by_label("Query", exact=True).input_value() == SAVED
    _set_query(page, "another query 3")
    _sidebar(page).get_by_text("Scoring", exact=True).click()  # another page, then the file again
    page.wait_for_timeout(500)
    wait_idle(page)
    assert "another query 3" in _banner_query(page)
    _upload_and_check(page, path, "Scoring, upload 3")
    _upload_and_check(page, path, "Scoring, upload 4")
