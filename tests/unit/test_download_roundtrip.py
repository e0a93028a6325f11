"""Every file the app writes for download reads back through its upload reader, for any text.

Property tests over arbitrary Unicode (lone surrogates excluded: they are not text, see
`engine.core.text_safety`), including the line separators U+2028 / U+2029 / U+0085 that
``str.splitlines`` treats as line breaks and JSON leaves unescaped.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.data.datasets import Example, dataset_to_csv, dataset_to_jsonl, normalise_label, parse_user_data
from engine.data.gen_tasks import GenItem, gen_items_to_csv, gen_items_to_jsonl, parse_gen_upload

_TEXT = (
    st.text(
        alphabet=st.characters(exclude_categories=["Cs"]),  # Cs: surrogates
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(bool)
)
_TRICKY = st.sampled_from(["a\u2028b", "a\u2029b", "a\x85b", "a\rb", "a\r\nb", 'say "hi", ok', "x\n\ny"])
_CELL = st.one_of(_TEXT, _TRICKY)


def _label() -> st.SearchStrategy[str]:
    """Labels as an upload leaves them (normalised, non-empty); see `normalise_label`."""
    return _CELL.map(normalise_label).filter(bool)


_ROWS = st.lists(st.tuples(_CELL, _label()), min_size=0, max_size=8)
_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _examples(rows: list[tuple[str, str]]) -> list[Example]:
    # two fixed rows first, so there are always two distinct labels
    rows = [("first row", "label one"), ("second row", "label two"), *rows]
    return [Example(text=t, label=lab, id=i) for i, (t, lab) in enumerate(rows)]


@given(_ROWS)
@_SETTINGS
def test_dataset_jsonl_download_uploads_again(rows: list[tuple[str, str]]) -> None:
    examples = _examples(rows)
    back = parse_user_data(dataset_to_jsonl(examples).encode("utf-8"), "rows.jsonl")
    assert [(e.text, e.label) for e in back.examples] == [(e.text, e.label) for e in examples]


@given(_ROWS)
@_SETTINGS
def test_dataset_csv_download_uploads_again(rows: list[tuple[str, str]]) -> None:
    examples = _examples(rows)
    back = parse_user_data(dataset_to_csv(examples).encode("utf-8"), "rows.csv")
    assert [(e.text, e.label) for e in back.examples] == [(e.text, e.label) for e in examples]


_ITEMS = st.lists(st.tuples(_CELL, _CELL, st.one_of(st.just(""), _CELL)), min_size=2, max_size=8)


@given(_ITEMS)
@_SETTINGS
def test_generation_jsonl_download_uploads_again(rows: list[tuple[str, str, str]]) -> None:
    items = [GenItem(a, b, c, i) for i, (a, b, c) in enumerate(rows)]
    back = parse_gen_upload(gen_items_to_jsonl(items).encode("utf-8"), "task.jsonl")
    assert [(it.input, it.output, it.reasoning) for it in back.items] == rows


@given(_ITEMS)
@_SETTINGS
def test_generation_csv_download_uploads_again(rows: list[tuple[str, str, str]]) -> None:
    items = [GenItem(a, b, c, i) for i, (a, b, c) in enumerate(rows)]
    back = parse_gen_upload(gen_items_to_csv(items).encode("utf-8"), "task.csv")
    assert [(it.input, it.output, it.reasoning) for it in back.items] == rows


def test_jsonl_with_unicode_line_separators_and_crlf() -> None:
    data = '{"text": "a\u2028b", "label": "x\u0085y"}\r\n{"text": "c\u2029d", "label": "z"}\r\n'.encode()
    back = parse_user_data(data, "rows.jsonl")
    assert [(e.text, e.label) for e in back.examples] == [("a\u2028b", "x\u0085y"), ("c\u2029d", "z")]
    gen = '{"input": "a\u2028b", "output": "o"}\n{"input": "c", "output": "d\u2029e"}\n'.encode()
    task = parse_gen_upload(gen, "task.jsonl")
    assert [(it.input, it.output) for it in task.items] == [("a\u2028b", "o"), ("c", "d\u2029e")]
