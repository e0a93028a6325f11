"""Uploads are capped in bytes, rows and distinct labels, each with a message, as early as possible."""

from __future__ import annotations

import pytest

import engine.data.uploads as uploads
from engine.data.datasets import MAX_LABELS, MAX_ROWS, MAX_UPLOAD_BYTES, DataError, parse_user_data
from engine.data.gen_tasks import parse_gen_upload


def _csv(n: int, n_labels: int = 2) -> bytes:
    return ("text,label\n" + "".join(f"t{i},l{i % n_labels}\n" for i in range(n))).encode()


def test_row_cap_is_a_data_error() -> None:
    assert len(parse_user_data(_csv(MAX_ROWS), "ok.csv").examples) == MAX_ROWS
    with pytest.raises(DataError, match=f"more than {MAX_ROWS:,} rows"):
        parse_user_data(_csv(MAX_ROWS + 1), "big.csv")


def test_row_cap_stops_parsing_at_the_cap() -> None:
    """The reader stops at the cap: a malformed line after it is never reached."""
    csv_data = _csv(MAX_ROWS + 1) + b'"unclosed,quote\n'
    with pytest.raises(DataError, match=f"more than {MAX_ROWS:,} rows"):
        parse_user_data(csv_data, "big.csv")
    lines = "".join(f'{{"text": "t{i}", "label": "l{i % 2}"}}\n' for i in range(MAX_ROWS + 1))
    with pytest.raises(DataError, match=f"more than {MAX_ROWS:,} rows"):
        parse_user_data((lines + "{not json\n").encode(), "big.jsonl")


def test_label_cap_is_a_data_error() -> None:
    assert len(parse_user_data(_csv(200, MAX_LABELS), "ok.csv").label_names) == MAX_LABELS
    with pytest.raises(DataError, match=f"{MAX_LABELS + 1} distinct labels.*at most {MAX_LABELS}"):
        parse_user_data(_csv(200, MAX_LABELS + 1), "labels.csv")
    with pytest.raises(DataError, match=f"at most {MAX_LABELS}"):
        parse_user_data(_csv(10), "x.csv", label_names=[f"l{i}" for i in range(MAX_LABELS + 1)])


def test_byte_cap_is_checked_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_decode(_data: bytes, *, detect: bool = True) -> tuple[str, str]:
        raise AssertionError("decoded a file over the byte cap")

    monkeypatch.setattr(uploads, "decode", no_decode)
    with pytest.raises(DataError, match=r"over the 20\.0 MB limit"):
        parse_user_data(b"x" * (MAX_UPLOAD_BYTES + 1), "big.csv")


def test_generation_upload_row_cap() -> None:
    rows = "".join(f"i{i},o{i}\n" for i in range(MAX_ROWS + 1))
    with pytest.raises(DataError, match=f"more than {MAX_ROWS:,} rows"):
        parse_gen_upload(("input,output\n" + rows).encode(), "g.csv")
