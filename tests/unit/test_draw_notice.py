"""components/draw_notice.py: what "Draw from pool" says when it could not draw what was asked."""

from __future__ import annotations

import pytest

import components.i18n as i18n
from components.draw_notice import draw_notice
from components.prompt_editor import draw_demos
from engine.data.datasets import Example

LABELS = ("pos", "neg")


def _pool(pos: int, neg: int) -> tuple[Example, ...]:
    rows = [("pos", i) for i in range(pos)] + [("neg", pos + i) for i in range(neg)]
    return tuple(Example(f"text {i}", lab, i) for lab, i in rows)


def _say(k: int, pool: tuple[Example, ...], balanced: bool) -> str | None:
    return draw_notice(k, draw_demos(pool, k, 0, balanced=balanced, labels=LABELS), pool, LABELS, balanced)


def test_a_draw_the_pool_serves_says_nothing() -> None:
    assert _say(4, _pool(5, 5), True) is None
    assert _say(10, _pool(5, 5), False) is None
    assert _say(0, _pool(0, 0), True) is None


def test_fewer_than_asked_names_the_pool_size() -> None:
    assert _say(20, _pool(5, 5), False) == (
        "Drew 10 of the 20 demonstrations asked for: the pool has only 10 examples."
    )
    said = _say(20, _pool(7, 3), True)
    assert said is not None and said.startswith("Drew 10 of the 20")
    assert "only 10 examples with one of the labels (pos: 7, neg: 3)" in said


def test_an_unbalanced_balanced_draw_names_the_short_label() -> None:
    said = _say(6, _pool(9, 1), True)
    assert said is not None and "not label-balanced" in said and "of neg (pos: 9, neg: 1)" in said


def test_chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "lang", lambda: "zh")
    said = _say(20, _pool(5, 5), False)
    assert said == "只抽取了 10 个示例（要求 20 个）：示例池只有 10 条样本。"
