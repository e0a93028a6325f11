"""state.sticky: a widget's value survives runs that do not draw it (a page change), on a tiny
script where a flag stands in for the page (no model)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _script() -> None:
    import streamlit as st

    from components import state

    state.keep_widgets()
    if st.session_state.pop("reset", False):
        state.forget("tst_q")
    if st.session_state.get("page", "a") == "a":
        st.text_area("q", key=state.sticky("tst_q", "default text"))
        st.number_input("k", 0, 32, key=state.sticky("tst_k", 4))
        st.selectbox("pick", ["x", "y", "z"], key=state.sticky_choice("tst_pick", ["x", "y", "z"], "y"))
        st.multiselect("many", ["a", "b", "c"], key=state.sticky("tst_many", ["a"]))
    else:
        st.markdown("another page")


def _visit_b_and_back(at: AppTest) -> None:
    at.session_state["page"] = "b"
    at.run()
    at.run()  # Streamlit has dropped the widget keys by now
    assert "tst_q" not in at.session_state
    at.session_state["page"] = "a"
    at.run()
    assert not at.exception, at.exception


def test_defaults_without_a_warning() -> None:
    at = AppTest.from_function(_script).run()
    assert not at.exception and not at.warning
    assert at.text_area(key="tst_q").value == "default text"
    assert at.number_input(key="tst_k").value == 4
    assert at.selectbox(key="tst_pick").value == "y"
    assert at.multiselect(key="tst_many").value == ["a"]


def test_typed_values_survive_a_page_change() -> None:
    at = AppTest.from_function(_script).run()
    at.text_area(key="tst_q").set_value("typed query").run()
    at.number_input(key="tst_k").set_value(9).run()
    at.selectbox(key="tst_pick").set_value("z").run()
    at.multiselect(key="tst_many").set_value(["b", "c"]).run()
    _visit_b_and_back(at)
    assert at.text_area(key="tst_q").value == "typed query"
    assert at.number_input(key="tst_k").value == 9
    assert at.selectbox(key="tst_pick").value == "z"
    assert at.multiselect(key="tst_many").value == ["b", "c"]
    assert not at.warning
    # a second round trip after another edit keeps the newer value
    at.text_area(key="tst_q").set_value("second").run()
    _visit_b_and_back(at)
    assert at.text_area(key="tst_q").value == "second"


def test_a_value_set_by_the_program_on_another_page_is_shown() -> None:
    at = AppTest.from_function(_script).run()
    at.text_area(key="tst_q").set_value("typed").run()
    at.session_state["page"] = "b"
    at.run()
    at.session_state["tst_q"] = "loaded"  # as a loaded experiment writes a setting
    at.run()
    at.session_state["page"] = "a"
    at.run()
    assert at.text_area(key="tst_q").value == "loaded"


def test_forget_returns_to_the_default() -> None:
    at = AppTest.from_function(_script).run()
    at.text_area(key="tst_q").set_value("typed").run()
    at.session_state["page"] = "b"
    at.run()
    at.session_state["reset"] = True  # a reset on the other page
    at.run()
    at.session_state["page"] = "a"
    at.run()
    assert at.text_area(key="tst_q").value == "default text"
