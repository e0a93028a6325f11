"""The Prompt Lab's "Draw from pool" says when it drew fewer demonstrations than asked (issue 22, bug 5)."""

from __future__ import annotations

from tests.app.conftest import new_app

# 12 rows: 2 go to the test set, the pool holds 10
ROWS = "\n".join(
    f"{word} film number {i},{lab}" for i, (word, lab) in enumerate([("great", "pos"), ("bad", "neg")] * 6)
)


def _warnings(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(w.value) for w in app.warning]


def test_drawing_more_than_the_pool_says_so() -> None:
    app = new_app("pages/prompt_lab.py")
    app.selectbox(key="sb_dataset").set_value("upload").run()
    app.text_area(key="sb_paste").set_value("text,label\n" + ROWS).run()
    assert not app.exception
    app.number_input(key="pl_draw_k").set_value(20).run()
    app.button(key="pl_draw").click().run()
    assert not app.exception
    said = [w for w in _warnings(app) if w.startswith("Drew 10 of the 20 demonstrations asked for")]
    assert said and "only 10 examples with one of the labels" in said[0], _warnings(app)
    assert len(app.session_state["pl_demos"]) == 10
    # without label balance the reason is the pool's size
    app.checkbox(key="pl_draw_balanced").uncheck().run()
    app.button(key="pl_draw").click().run()
    assert any(
        w == "Drew 10 of the 20 demonstrations asked for: the pool has only 10 examples."
        for w in _warnings(app)
    ), _warnings(app)
    # a draw the pool can serve says nothing
    app.number_input(key="pl_draw_k").set_value(4).run()
    app.button(key="pl_draw").click().run()
    assert not [w for w in _warnings(app) if w.startswith("Drew")], _warnings(app)
