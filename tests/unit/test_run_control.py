"""RunControl.run and state.run_request on tiny scripts (no model): a full run is remembered, a
stopped run keeps its partial result, marked, and never starts again until Run is pressed."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _script() -> None:
    import streamlit as st

    from components import state
    from components.run_control import RunControl

    ctl = RunControl("tst")
    clicked = st.button("Run", key="tst_run")
    n = int(st.number_input("n", 1, 100, 6, key="tst_n"))
    request = state.run_request("tst_last_request", n, clicked, new=ctl.clear)
    if request is None:
        st.info("no request")
        st.stop()
    if request.changed:
        st.caption("changed")
    stop_at = st.session_state.get("stop_at")  # the test's stand-in for a Stop click

    def work(hooks):  # type: ignore[no-untyped-def]
        st.session_state["runs"] = st.session_state.get("runs", 0) + 1
        done: list[int] = []
        for i in range(request.value):
            if stop_at is not None and i == stop_at:
                return (tuple(done), True)
            hooks.progress(i / request.value, f"item {i}")
            done.append(i)
            hooks.on_chunk((tuple(done), False))
        return (tuple(done), False)

    result = ctl.run(
        ("key", request.value),
        work,
        total=request.value,
        done=lambda r: len(r[0]),
        partial=lambda r: r[1],
        none_done="nothing done",
    )
    st.markdown(f"done={len(result[0])} partial={result[1]}")


def _text(at: AppTest) -> str:
    return " ".join(str(m.value) for m in at.markdown)


def test_no_request_before_the_first_click() -> None:
    at = AppTest.from_function(_script).run()
    assert not at.exception
    assert [i.value for i in at.info] == ["no request"]


def test_a_full_run_is_remembered_and_a_change_is_said() -> None:
    at = AppTest.from_function(_script).run()
    at.button(key="tst_run").click().run()
    assert not at.exception, at.exception
    assert "done=6 partial=False" in _text(at)
    at.run()
    assert at.session_state["runs"] == 1  # remembered: no new run
    at.number_input(key="tst_n").set_value(3).run()
    assert [c.value for c in at.caption] == ["changed"]
    assert "done=6" in _text(at) and at.session_state["runs"] == 1  # the request still shown
    at.button(key="tst_run").click().run()
    assert "done=3 partial=False" in _text(at) and at.session_state["runs"] == 2


def test_a_stopped_run_shows_its_partial_result_until_run_is_pressed() -> None:
    at = AppTest.from_function(_script)
    at.session_state["stop_at"] = 2
    at.run()
    at.button(key="tst_run").click().run()
    assert not at.exception, at.exception
    assert "done=2 partial=True" in _text(at)
    at.session_state["stop_at"] = None
    at.run()
    at.run()
    assert "done=2 partial=True" in _text(at)
    assert at.session_state["runs"] == 1  # never restarted by itself
    at.button(key="tst_run").click().run()
    assert "done=6 partial=False" in _text(at) and at.session_state["runs"] == 2


def test_a_stop_before_anything_was_kept_warns_and_runs_nothing() -> None:
    at = AppTest.from_function(_script)
    at.session_state["stop_at"] = 0
    at.run()
    at.button(key="tst_run").click().run()
    assert "done=0 partial=True" in _text(at)  # the run itself returned an empty partial result
    at.session_state["tst_partial"] = None  # as if the Stop click came before the first chunk
    at.run()
    assert [w.value for w in at.warning] == ["nothing done"]
    assert at.session_state["runs"] == 1
