"""Settings from links and experiment files: bad ones are dropped with a message naming them and
the session keeps working; every kind of setting (multiselect, checkbox, range slider, long text)
survives a save and a load."""

from __future__ import annotations

from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from engine.experiments.share import APP_VERSION, Experiment, from_link_param, to_link_param
from tests.app.conftest import APP_PATH, TIMEOUT, new_app


def _experiment(**fields: Any) -> Experiment:
    settings = fields.pop("settings", {})
    base: dict[str, Any] = {
        "model": "smollm2-135m",
        "dataset": "sst2",
        "instruction": "Is the review positive or negative?",
        "template": "Review: {text}\nSentiment: {label}",
        "separator": "\n\n",
        "query": "a fine film",
        "demos": (("great fun", "positive"), ("dull and long", "negative")),
        "label_words": (("negative", "negative"), ("positive", "positive")),
        "seed": 3,
    }
    return Experiment(**(base | fields), settings=tuple(sorted(settings.items())))


def _open_link(exp: Experiment) -> tuple[AppTest, list[str]]:
    """A fresh session opened with `exp` as its share link; returns it and the messages of the
    run that applied the link (warnings, infos and errors)."""
    at = AppTest.from_file(APP_PATH, default_timeout=TIMEOUT)
    at.query_params["exp"] = to_link_param(exp)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    messages = [str(m.value) for m in (*at.warning, *at.info, *at.error)]
    return at, messages


def _still_works(at: AppTest, page: str) -> None:
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    at.run()
    assert not at.exception, [e.value for e in at.exception]


@pytest.mark.parametrize(
    ("exp", "key", "page"),
    [
        (_experiment(settings={"device": "tpu"}), "device", "pages/prompt_lab.py"),
        (_experiment(settings={"sb_seed": "abc"}), "sb_seed", "pages/prompt_lab.py"),
        (_experiment(settings={"seed": 1e30}), "seed", "pages/prompt_lab.py"),
        (_experiment(seed=10**30), "seed", "pages/prompt_lab.py"),
        (_experiment(settings={"pl_run": True}), "pl_run", "pages/prompt_lab.py"),
        (_experiment(settings={"sc_run": True, "sc_k": 4}), "sc_run", "pages/scoring.py"),
        (_experiment(settings={"sc_scorers": "direct"}), "sc_scorers", "pages/scoring.py"),
        (_experiment(dataset="no_such_dataset"), "dataset", "pages/prompt_lab.py"),
        (_experiment(settings={"zz_not_a_setting": 1}), "zz_not_a_setting", "pages/prompt_lab.py"),
        (_experiment(model="m" * 5000), "model", "pages/prompt_lab.py"),
        (_experiment(language="fr"), "language", "pages/prompt_lab.py"),
    ],
    ids=[
        "device-tpu",
        "sb_seed-text",
        "seed-setting-1e30",
        "seed-field-huge",
        "button-pl_run",
        "button-sc_run",
        "multiselect-as-text",
        "unknown-dataset",
        "unknown-key",
        "model-5000-chars",
        "language-fr",
    ],
)
def test_a_bad_link_leaves_a_working_session_and_names_the_key(exp: Experiment, key: str, page: str) -> None:
    at, messages = _open_link(exp)
    assert any(key in m for m in messages), messages
    # the rest of the experiment was applied
    assert at.session_state["pl_query"] == "a fine film"
    _still_works(at, page)


def test_a_bad_value_keeps_the_current_one() -> None:
    at, messages = _open_link(_experiment(dataset="no_such_dataset", seed=10**30, settings={"device": "tpu"}))
    warning = next(m for m in messages if m.startswith("Ignored"))
    assert "Ignored 3 settings" in warning and "device" in warning and "dataset" in warning
    assert at.session_state["dataset_name"] == "sst2"
    assert at.session_state["seed"] == 0
    assert at.session_state["device"] == "auto"


def test_missing_settings_and_another_app_version_are_reported() -> None:
    at, messages = _open_link(_experiment(app_version="0.0.1", settings={"sc_k": 8}))
    assert any("0.0.1" in m and APP_VERSION in m and "results may differ" in m for m in messages), messages
    note = next(m for m in messages if "no value for" in m)
    assert "keep their current values" in note and len(note) < 400
    assert at.session_state["sc_k"] == 8
    _still_works(at, "pages/scoring.py")
    assert at.number_input(key="sc_k").value == 8


def test_save_and_load_keep_lists_booleans_ranges_and_long_text() -> None:
    long_text = " ".join(f"word{i}" for i in range(1000))[:5000]
    assert len(long_text) == 5000
    at = new_app("pages/prompt_lab.py")
    at.session_state["sc_scorers"] = ["ppl", "channel"]
    at.session_state["sc_full_tokens"] = True
    at.session_state["att_demo_layers"] = (2, 5)
    at.session_state["rk_instruction"] = long_text
    at.run()
    at.button(key="exp_link").click().run()
    assert not at.exception, [e.value for e in at.exception]
    param = at.query_params["exp"]
    saved = from_link_param(param[0] if isinstance(param, list) else param)
    settings = dict(saved.settings)
    assert settings["sc_scorers"] == ["ppl", "channel"]
    assert settings["sc_full_tokens"] is True
    assert settings["att_demo_layers"] == [2, 5]
    assert settings["rk_instruction"] == long_text
    assert settings["device"] == "auto"

    fresh, messages = _open_link(saved)
    assert not any(m.startswith("Ignored") for m in messages), messages
    assert fresh.session_state["att_demo_layers"] == (2, 5)
    assert fresh.session_state["sc_full_tokens"] is True
    assert fresh.session_state["rk_instruction"] == long_text
    _still_works(fresh, "pages/scoring.py")
    assert fresh.multiselect(key="sc_scorers").value == ["ppl", "channel"]


def test_a_saved_generation_instruction_survives_the_task_defaults() -> None:
    from engine.data.gen_tasks import gen_task_names

    task = gen_task_names()[-1]
    at, messages = _open_link(
        _experiment(settings={"gen_task": task, "gen_instruction": "Translate with care."})
    )
    assert not any(m.startswith("Ignored") for m in messages), messages
    _still_works(at, "pages/generation.py")
    assert at.selectbox(key="gen_task").value == task
    assert at.text_area(key="gen_instruction").value == "Translate with care."
    assert at.session_state["gen_demos"]  # the task's defaults were seeded around it
