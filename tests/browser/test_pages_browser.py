"""Every page in a real browser on the real default model: loads without an exception box, its
main action works, and a screenshot is kept in artifacts/screenshots/ (the README shows them)."""

from __future__ import annotations

import json

from tests.browser.conftest import no_exception, set_number, shot, wait_for, wait_idle

# the real model on a 2-core CI machine: first loads and index builds take minutes
CHARTS = '[data-testid="stPlotlyChart"]'


def _open(page, server: str, path: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + path)
    wait_idle(page)
    no_exception(page)
    # the app's own page links (titles), never Streamlit's automatic list of file names
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Prompt Lab", exact=True).wait_for()
    assert page.locator('[data-testid="stSidebarNav"]').count() == 0


def _click(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name=name, exact=True).click()
    page.wait_for_timeout(500)
    wait_idle(page)
    no_exception(page)


def _charts(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.locator(CHARTS).count())


def test_scoring_evaluates_20_queries(page, server) -> None:  # type: ignore[no-untyped-def]
    _open(page, server, "/scoring")
    set_number(page, "Test queries", 20)
    _click(page, "Run the evaluation")
    wait_for(page, page.get_by_text("Accuracy and calibration"))
    wait_for(page, page.locator(CHARTS))
    shot(page, "scoring", height=3000)


def test_demo_selection_retrieves(page, server) -> None:  # type: ignore[no-untyped-def]
    _open(page, server, "/demo_selection")
    _click(page, "Select demonstrations")
    wait_for(page, page.get_by_text("Use these demonstrations in the Prompt Lab"))
    shot(page, "demo_selection", height=3000)


def test_attention_draws_heatmaps(page, server) -> None:  # type: ignore[no-untyped-def]
    _open(page, server, "/attention")
    wait_for(page, page.get_by_text("Pattern viewer"))
    wait_for(page, page.locator(CHARTS), 2)
    shot(page, "attention", height=3600)


def test_sensitivity_runs_small_experiment(page, server) -> None:  # type: ignore[no-untyped-def]
    _open(page, server, "/sensitivity")
    set_number(page, "Test queries", 8)
    before = _charts(page)
    _click(page, "Run the experiment")
    wait_for(page, page.locator(CHARTS), before + 1)
    shot(page, "sensitivity", height=3000)


def test_generation_generates(page, server) -> None:  # type: ignore[no-untyped-def]
    _open(page, server, "/generation")
    _click(page, "Generate with both strategies")
    wait_for(page, page.locator('[data-testid="stCode"]'), 2)
    shot(page, "generation", height=3000)


def test_ranking_ranks(page, server) -> None:  # type: ignore[no-untyped-def]
    _open(page, server, "/ranking")
    _click(page, "Score the responses")
    wait_for(page, page.get_by_text("The model's ranking"))
    shot(page, "ranking", height=3000)


def test_language_switch_and_saved_experiment_reload(page, server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _open(page, server, "/prompt_lab")
    page.get_by_text("简体中文").click()
    wait_idle(page)
    no_exception(page)
    page.get_by_role("heading", name="提示词实验室").wait_for()
    shot(page, "prompt_lab_zh")
    page.get_by_text("English", exact=True).click()
    wait_idle(page)
    page.get_by_role("heading", name="Prompt Lab").wait_for()
    # save: the download button's file
    page.get_by_text("Save, load, share").click()
    query = page.get_by_label("Query", exact=True)
    query.fill("a saved query about a wonderful film")
    query.press("Control+Enter")
    wait_idle(page)
    # the download holds what the last finished run rendered: retry until that run saw the query
    # (the rerun after Ctrl+Enter may start only after wait_idle returned)
    path = str(tmp_path / "icl-experiment.json")  # the uploader accepts only *.json
    saved: dict[str, object] = {}
    for _ in range(60):
        with page.expect_download() as dl:
            page.get_by_role("button", name="Save experiment (JSON)").click()
        dl.value.save_as(path)
        with open(path, encoding="utf-8") as fh:
            saved = json.load(fh)
        if saved["query"] == "a saved query about a wonderful film":
            break
        page.wait_for_timeout(1000)
        wait_idle(page)
    assert saved["query"] == "a saved query about a wonderful film"
    # reload it into a fresh session through the file uploader
    page.goto(server + "/prompt_lab")
    wait_idle(page)
    page.get_by_text("Save, load, share").click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').last.set_input_files(path)
    box = page.get_by_label("Query", exact=True)
    for _ in range(120):  # the upload's rerun, then the rerun that applies the experiment
        if box.input_value() == "a saved query about a wonderful film":
            break
        page.wait_for_timeout(500)
    wait_idle(page)
    no_exception(page)
    assert box.input_value() == "a saved query about a wonderful film"
