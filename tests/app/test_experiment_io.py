"""Save an experiment, load it back (file contents pasted), and restore one from a share link."""

from __future__ import annotations

import json

from engine.experiments.share import from_link_param, loads, to_link_param
from tests.app.conftest import APP_PATH, TIMEOUT, new_app


def test_save_then_load_restores_the_prompt() -> None:
    at = new_app("pages/prompt_lab.py")
    at.text_area(key="w_pl_query").set_value("一部让人落泪的好电影").run()
    at.text_area(key="w_pl_instruction").set_value("Decide: negative or positive?").run()
    saved = at.session_state["pl_query"]
    # what the download button would save
    from components.experiment_io import current_experiment  # noqa: F401  (import check only)

    exp_json = json.dumps(
        {
            "schema": "icl-explorer/experiment",
            "schema_version": 1,
            "model": "smollm2-135m",
            "dataset": "sst2",
            "instruction": "Decide: negative or positive?",
            "template": "Text: {text}\nAnswer: {label}",
            "separator": "\n",
            "query": saved,
            "demos": [{"text": "超级好看", "label": "positive"}, {"text": "太无聊了", "label": "negative"}],
            "label_words": {"negative": "bad", "positive": "good"},
            "seed": 7,
            "settings": {"pl_scorer": "ppl"},
        },
        ensure_ascii=False,
    )
    fresh = new_app("pages/prompt_lab.py")
    fresh.text_area(key="exp_paste").set_value(exp_json).run()
    fresh.button(key="exp_load_pasted").click().run()
    assert not fresh.exception, fresh.exception
    assert fresh.text_area(key="w_pl_template").value == "Text: {text}\nAnswer: {label}"
    assert fresh.text_area(key="w_pl_query").value == "一部让人落泪的好电影"
    assert fresh.text_input(key="w_pl_lw_positive").value == "good"
    assert fresh.session_state["pl_demos"] == [
        {"text": "超级好看", "label": "positive"},
        {"text": "太无聊了", "label": "negative"},
    ]
    assert fresh.selectbox(key="pl_scorer").value == "ppl"
    assert fresh.session_state["seed"] == 7
    # and the restored prompt scores end to end (Chinese text through tokenizer and display)
    fresh.button(key="pl_run").click().run()
    assert not fresh.exception
    assert not fresh.error, [e.value for e in fresh.error]
    assert any("Predicted label" in str(m.value) for m in fresh.markdown)


def test_bad_experiment_file_is_explained_and_kept() -> None:
    at = new_app("pages/prompt_lab.py")
    at.text_area(key="exp_paste").set_value("{ not json").run()
    at.button(key="exp_load_pasted").click().run()
    assert not at.exception
    assert any("not valid JSON" in e.value for e in at.error)
    assert at.text_area(key="exp_paste").value == "{ not json"


def test_share_link_restores_prompt() -> None:
    from streamlit.testing.v1 import AppTest

    at = new_app("pages/prompt_lab.py")
    at.text_area(key="w_pl_query").set_value("shared query text").run()
    at.button(key="exp_link").click().run()
    assert not at.exception
    param = at.query_params["exp"]
    param = param[0] if isinstance(param, list) else param
    exp = from_link_param(param)
    assert exp.query == "shared query text"
    assert loads(json.dumps(exp.to_dict())) == exp

    other = AppTest.from_file(APP_PATH, default_timeout=TIMEOUT)
    other.query_params["exp"] = to_link_param(exp)
    other.run()
    other.switch_page("pages/prompt_lab.py").run()
    assert not other.exception
    assert other.text_area(key="w_pl_query").value == "shared query text"
