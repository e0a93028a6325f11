"""The one CSV / JSONL reader (engine.data.uploads) behind classification and generation uploads."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

import engine.data.uploads as uploads
from engine.core.errors import DataError
from engine.data.classification_upload import parse_user_data
from engine.data.gen_tasks import parse_gen_upload
from engine.data.uploads import UploadFormat, UploadSchema, read_upload


def _missing(kind: UploadFormat, missing: Sequence[str], found: Sequence[str]) -> str:
    return f"{kind}: missing {list(missing)}, found {list(found)}"


SCHEMA = UploadSchema(columns=("q", "a"), example='{"q": "...", "a": "..."}', missing=_missing)


def _error(fn: Callable[[bytes, str], object], data: bytes, filename: str) -> str:
    with pytest.raises(DataError) as info:
        fn(data, filename)
    return str(info.value)


def test_read_upload_gives_rows_with_lines_and_normalised_columns() -> None:
    table = read_upload('Q,A\u200b,extra\nx,"y\nz",1\n\nw,v,2\n'.encode(), "dir/f.csv", SCHEMA)
    assert (table.base, table.kind, table.note) == ("f.csv", "CSV", "")
    assert [(r.line, r.cell("q"), r.cell("a")) for r in table.rows] == [(2, "x", "y\nz"), (5, "w", "v")]
    assert table.rows[0].cell("absent") == ""
    jl = read_upload(b'{"q": "x", "a": 1}\n\n{"Q ": "y", "a": true}\n', "f.jsonl", SCHEMA)
    assert jl.kind == "JSONL" and [(r.line, r.cell("q"), r.cell("a")) for r in jl.rows] == [
        (1, "x", "1"),
        (3, "y", "true"),
    ]


def test_the_schema_words_the_missing_columns() -> None:
    assert _error(lambda d, f: read_upload(d, f, SCHEMA), b"q,b\n1,2\n", "f.csv") == (
        "CSV: missing ['a'], found ['q', 'b']"
    )
    assert _error(lambda d, f: read_upload(d, f, SCHEMA), b'{"Q": 1}\n', "f.jsonl") == (
        "JSONL: missing ['a'], found ['Q']"
    )


@pytest.mark.parametrize(
    ("body", "filename"),
    [
        ("{h}\nx,y\na,b,c\n", "f.csv"),  # too many fields
        ('{h}\nx,y\n"open quote,y\n', "f.csv"),
        ('{j}\n{{"a": [}}\n', "f.jsonl"),
        ("{j}\n[1, 2]\n", "f.jsonl"),
        ('{j}\n{{"x": "a", "x": "b"}}\n', "f.jsonl"),  # duplicate keys: refused by both kinds
        ("{j}\n" + "[" * 100_000 + "\n", "f.jsonl"),
        ("", "f.csv"),
        ("x", "f.ods"),
    ],
)
def test_both_kinds_of_upload_read_alike(body: str, filename: str) -> None:
    """The same fault gives the same message in both kinds, up to the column names and example."""
    cls = body.format(h="text,label", j='{"text": "t", "label": "l"}').encode()
    gen = body.format(h="input,output", j='{"input": "t", "output": "l"}').encode()
    message = _error(parse_user_data, cls, filename)
    expected = message.replace('"text"', '"input"').replace('"label"', '"output"')
    assert _error(parse_gen_upload, gen, filename) == expected


def test_byte_caps_come_before_decoding_in_both_kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_decode(_data: bytes, *, detect: bool = True) -> tuple[str, str]:
        raise AssertionError("decoded a file over the byte cap")

    monkeypatch.setattr(uploads, "decode", no_decode)
    assert "over the 20.0 MB limit" in _error(parse_user_data, b"x" * 20_000_001, "big.csv")
    assert "over the 5.0 MB limit" in _error(parse_gen_upload, b"x" * 5_000_001, "big.csv")


def test_only_classification_uploads_guess_other_encodings() -> None:
    latin = "café,crème\n"
    ds = parse_user_data(("text,label\n" + latin + "thé,noir\n").encode("cp1252"), "latin.csv")
    assert ds.examples[0].text == "café" and "decoded as cp1252" in ds.description
    assert "not UTF-8" in _error(
        parse_gen_upload, ("input,output\n" + latin + "a,b\n").encode("cp1252"), "g.csv"
    )
