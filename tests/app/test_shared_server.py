"""The app serves a class from one process: one session's upload must never reach another.

Streamlit's caches are shared by every session of the server; AppTest runs in this process, so
two AppTest sessions meet the same caches, as two browsers would.
"""

from __future__ import annotations

import uuid

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import new_app


def _rows(tag: str, n: int = 10) -> list[tuple[str, str]]:
    return [(f"{tag} review number {i}", "pos" if i % 2 else "neg") for i in range(n)]


def _csv(rows: list[tuple[str, str]]) -> str:
    return "text,label\n" + "\n".join(f"{t},{lab}" for t, lab in rows) + "\n"


def _paste(at: AppTest, text: str) -> None:
    at.selectbox(key="sb_dataset").set_value("upload").run()
    at.text_area(key="sb_paste").set_value(text).run()
    assert not at.exception, at.exception


def _texts_shown(at: AppTest) -> set[str]:
    """The demonstrations and the query the session's Prompt Lab was seeded with (pool + test rows)."""
    demos = at.session_state["pl_demos"]
    query = str(at.text_area(key="w_pl_query").value)
    return {str(d["text"]) for d in demos} | {query}


def test_two_sessions_with_the_same_file_name_see_only_their_own_rows() -> None:
    tag = uuid.uuid4().hex[:8]
    a_rows, b_rows = _rows(f"alpha{tag}"), _rows(f"beta{tag}")
    a = new_app("pages/prompt_lab.py")
    _paste(a, _csv(a_rows))
    b = new_app("pages/prompt_lab.py")
    _paste(b, _csv(b_rows))  # same name ("pasted.csv"), same row count, other rows
    a_texts, b_texts = {t for t, _ in a_rows}, {t for t, _ in b_rows}
    shown_b = _texts_shown(b)
    assert shown_b and shown_b <= b_texts, shown_b - b_texts
    shown_a = _texts_shown(a.run())
    assert shown_a and shown_a <= a_texts, shown_a - a_texts


def test_an_edited_label_is_a_new_data_set() -> None:
    tag = uuid.uuid4().hex[:8]
    rows = _rows(f"gamma{tag}", 6)
    at = new_app("pages/prompt_lab.py")
    _paste(at, _csv(rows))
    # one user edits every label to a new class: same name, same row count, other content
    edited = [(t, "other" if lab == "neg" else lab) for t, lab in rows]
    at.text_area(key="sb_paste").set_value(_csv(edited)).run()
    assert not at.exception, at.exception
    assert at.text_input(key="w_pl_lw_other").value == "other"
    assert {str(d["label"]) for d in at.session_state["pl_demos"]} <= {"pos", "other"}


def test_a_bad_upload_keeps_the_good_one_and_says_so() -> None:
    tag = uuid.uuid4().hex[:8]
    rows = _rows(f"delta{tag}", 8)
    at = new_app("pages/prompt_lab.py")
    _paste(at, _csv(rows))
    at.text_area(key="sb_paste").set_value("text,category\nx,y\n").run()
    assert not at.exception, at.exception
    assert any("label" in e.value for e in at.error), [e.value for e in at.error]
    assert any("8 rows" in i.value for i in at.info), [i.value for i in at.info]
    assert _texts_shown(at) <= {t for t, _ in rows}


def test_an_upload_is_parsed_once_per_content(monkeypatch: pytest.MonkeyPatch) -> None:
    import components.sidebar
    import components.state
    import engine.data.datasets

    calls: list[str] = []
    real = engine.data.datasets.parse_user_data

    def counting(data: bytes, filename: str) -> object:
        calls.append(filename)
        return real(data, filename)

    # wherever the app reads uploads from, every parse goes through the counter
    for module in (engine.data.datasets, components.state, components.sidebar):
        if hasattr(module, "parse_user_data"):
            monkeypatch.setattr(module, "parse_user_data", counting)
    tag = uuid.uuid4().hex[:8]
    at = new_app("pages/prompt_lab.py")
    _paste(at, _csv(_rows(f"eps{tag}", 6)))
    for seed in (1, 2, 3):  # reruns that change other widgets
        at.number_input(key="sb_seed").set_value(seed).run()
        assert not at.exception, at.exception
    assert len(calls) == 1, calls
