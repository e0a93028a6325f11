"""Unit tests of engine.data.datasets: safe unpickling, upload parsing, splitting (no bundled data files needed)."""

from __future__ import annotations

import dataclasses
import os
import pickle
import typing
from pathlib import Path

import pytest

from engine.data import benchmarks, loading
from engine.data import datasets as D
from engine.data.datasets import DataError, Dataset, Example, parse_user_data, split_dataset


class _Gadget:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("echo pwned",))


def _toy(n: int = 50) -> Dataset:
    return Dataset(
        name="toy",
        title="Toy",
        description="toy",
        label_names=("a", "b"),
        label_words=("a", "b"),
        instruction="",
        template="Input: {text}\nLabel: {label}",
        examples=tuple(Example(text=f"t{i}", label="ab"[i % 2], id=i) for i in range(n)),
        source="test",
    )


def _error(data: bytes, filename: str = "data.csv", **kwargs: typing.Any) -> str:
    with pytest.raises(DataError) as info:
        parse_user_data(data, filename, **kwargs)
    return str(info.value)


# --- restricted unpickler ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [os.system, _Gadget(), _toy(2), Path("x"), {"f": print}],
    ids=["function", "reduce-gadget", "dataclass", "path", "nested-builtin"],
)
def test_restricted_loads_refuses_globals(payload: object) -> None:
    data = pickle.dumps(payload)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load global"):
        D.restricted_loads(data)


def test_restricted_loads_accepts_plain_data() -> None:
    table = [(["some text", "second field"], 1), (["x"], 0), {"k": 1.5, "n": None}]
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        assert D.restricted_loads(pickle.dumps(table, protocol=protocol)) == table


def test_read_table_rejects_gadget_and_bad_shape(tmp_path: Path) -> None:
    gadget = tmp_path / "evil.dataset"
    gadget.write_bytes(pickle.dumps([(["x"], 0), _Gadget()]))
    with pytest.raises(DataError, match="could not be read safely"):
        loading.read_table(gadget)
    bad = tmp_path / "bad.dataset"
    bad.write_bytes(pickle.dumps([(["x"], 0), ("not a list", 1)]))
    with pytest.raises(DataError, match="row 1"):
        loading.read_table(bad)
    with pytest.raises(DataError, match="missing"):
        loading.read_table(tmp_path / "nope.dataset")


def test_examples_from_table_joins_strips_and_dedupes() -> None:
    table = [([" a ", "b"], 0), (["  "], 1), (["a", "b "], 1), (["c"], 1)]
    examples = benchmarks._examples_from_table(table, ("neg", "pos"), "none", "t")
    assert examples == (Example("a\nb", "neg", 0), Example("c", "pos", 3))
    with pytest.raises(DataError, match="label index 2"):
        benchmarks._examples_from_table([(["x"], 2)], ("neg", "pos"), "none", "t")


# --- registry ----------------------------------------------------------------------------------------------


def test_registry_matches_literal() -> None:
    assert tuple(D.DATASETS) == typing.get_args(D.DatasetName)
    assert D.dataset_names() == list(D.DATASETS)
    for spec in D.DATASETS.values():
        assert len(spec.label_words) == len(spec.label_names) >= 2
        assert all(w and " " not in w for w in spec.label_words), spec.name
        assert "{text}" in spec.template and "{label}" in spec.template


def test_unknown_dataset_lists_known_names() -> None:
    with pytest.raises(DataError) as info:
        D.load_dataset("imdb")
    assert "imdb" in str(info.value)
    for name in D.DATASETS:
        assert name in str(info.value)


def test_dataset_validates_fields() -> None:
    toy = _toy(4)
    assert toy.label_word_map() == {"a": "a", "b": "b"}
    with pytest.raises(DataError, match="label words"):
        Dataset(**{**_fields(toy), "label_words": ("a",)})
    with pytest.raises(DataError, match=r"\{label\}"):
        Dataset(**{**_fields(toy), "template": "{text}"})
    with pytest.raises(DataError, match="'c'"):
        Dataset(**{**_fields(toy), "examples": (Example("x", "c", 0),)})


def _fields(ds: Dataset) -> dict[str, typing.Any]:
    # the constructor's fields (not the computed fingerprint)
    return {f.name: getattr(ds, f.name) for f in dataclasses.fields(ds) if f.init}


def test_cleaners() -> None:
    news = benchmarks._clean_news(
        "Shares \\$41 up #39;s &lt;b&gt;bold&lt;/b&gt; quot;hi quot; AT&amp;T\\Wall  St result;"
    )
    assert news == 'Shares $41 up \'s bold "hi " AT&T Wall St result;'
    assert benchmarks._clean_ptb("a -lrb- b -rrb- 1\\/2 \\*") == "a ( b ) 1/2 *"
    assert benchmarks._clean_tweet("a &amp; b\\nc") == "a & b c"


# --- split -------------------------------------------------------------------------------------------------


def test_split_is_deterministic_and_disjoint() -> None:
    ds = _toy(50)
    first = split_dataset(ds, n_test=10, seed=3)
    assert first == split_dataset(ds, n_test=10, seed=3)
    assert first != split_dataset(ds, n_test=10, seed=4)
    assert len(first.test) == 10 and len(first.pool) == 40
    test_ids = {ex.id for ex in first.test}
    assert test_ids.isdisjoint(ex.id for ex in first.pool)
    assert test_ids | {ex.id for ex in first.pool} == set(range(50))


def test_split_does_not_touch_global_rng() -> None:
    import numpy as np

    np.random.seed(0)
    expected = np.random.random()
    np.random.seed(0)
    split_dataset(_toy(20), seed=1)
    assert np.random.random() == expected


def test_split_fraction_and_limits() -> None:
    ds = _toy(50)
    assert len(split_dataset(ds).test) == 10
    assert len(split_dataset(ds, test_fraction=0.5).test) == 25
    assert len(split_dataset(_toy(2), test_fraction=0.01).test) == 1
    assert len(split_dataset(ds, n_test=50).pool) == 0
    with pytest.raises(DataError, match="only 50 examples"):
        split_dataset(ds, n_test=51)
    with pytest.raises(DataError, match="0 or more"):
        split_dataset(ds, n_test=-1)
    with pytest.raises(DataError, match="between 0 and 1"):
        split_dataset(ds, test_fraction=1.0)


def test_label_counts() -> None:
    examples = _toy(5).examples
    assert D.label_counts(examples) == {"a": 3, "b": 2}
    assert D.label_counts(examples, ["b", "c", "a"]) == {"b": 2, "c": 0, "a": 3}


# --- uploads -----------------------------------------------------------------------------------------------


def test_parse_csv_and_defaults() -> None:
    ds = parse_user_data(b'Text,label,extra\nhello,pos,1\n"a, b\nc",neg,2\n\nmore,pos,3\n', "dir/my data.csv")
    assert ds.label_names == ("pos", "neg")
    assert ds.label_words == ds.label_names
    assert ds.template == "Input: {text}\nLabel: {label}"
    assert ds.instruction == ""
    assert ds.source == "upload:my data.csv"
    assert ds.name == "my data"
    assert [ex.text for ex in ds.examples] == ["hello", "a, b\nc", "more"]
    assert [ex.id for ex in ds.examples] == [0, 1, 2]


def test_parse_given_label_names_and_name() -> None:
    ds = parse_user_data(b"text,label\nx,b\ny,b\n", "f.csv", label_names=["a", "b"], name="mine")
    assert ds.label_names == ("a", "b") and ds.name == "mine"


def test_parse_jsonl_roundtrip() -> None:
    ds = parse_user_data('{"text": "é ü", "label": "x"}\n\n{"text": "b", "label": 1}\n'.encode(), "f.jsonl")
    assert ds.label_names == ("x", "1")
    again = parse_user_data(D.dataset_to_jsonl(ds.examples).encode(), "back.jsonl")
    assert [(e.text, e.label) for e in again.examples] == [(e.text, e.label) for e in ds.examples]


def test_parse_sniffs_format_and_delimiter() -> None:
    assert parse_user_data(b'{"text": "a", "label": "x"}\n{"text": "b", "label": "y"}\n', "upload").name
    ds = parse_user_data(b"text;label\na,b;x\nc;y\n", "semi.csv")
    assert ds.examples[0].text == "a,b"
    ds = parse_user_data(b"text\tlabel\na, b\tx\nc\ty\n", "tabs.tsv")
    assert ds.examples[0].text == "a, b"


def test_parse_encodings() -> None:
    bom = parse_user_data(b"\xef\xbb\xbftext,label\nhi,a\nyo,b\n", "bom.csv")
    assert bom.examples[0].text == "hi"
    latin = "text,label\nun café crème très très bon,bon\nune journée déjà très mauvaise,mauvais\n"
    ds = parse_user_data(latin.encode("cp1252"), "latin.csv")
    assert "decoded as" in ds.description
    assert "decoded as" in _error(latin.encode("cp1252"), "latin.csv", max_text_chars=5)


def test_error_empty_file() -> None:
    assert "empty" in _error(b"")
    assert "empty" in _error(b" \n\n")


def test_error_too_big() -> None:
    message = _error(b"text,label\n" + b"x,y\n" * 100, max_bytes=100)
    assert "411 bytes" in message and "100 bytes" in message


def test_error_undecodable() -> None:
    assert "could not be decoded" in _error(bytes(range(128, 256)) * 4)
    assert "binary" in _error(b"text,label\x00\x01\xff\xfe" * 5)
    assert "not supported" in _error(b"PK\x03\x04", "sheet.xlsx")


def test_error_malformed_csv_line_numbers() -> None:
    assert "line 3" in _error(b'text,label\nok,x\n"open quote,y\nz,w\n')
    message = _error(b"text,label\nok,x\na,b,c\n")
    assert "line 3 has 3 fields" in message and "quotes" in message
    assert "no data rows" in _error(b"text,label\n")


def test_error_malformed_jsonl_line_numbers() -> None:
    assert "line 2" in _error(b'{"text": "a", "label": "x"}\n{"text": b}\n', "f.jsonl")
    assert "line 2 holds a JSON list" in _error(b'{"text": "a", "label": "x"}\n["a", "x"]\n', "f.jsonl")
    assert "JSON array" in _error(b'[{"text": "a", "label": "x"}]', "f.json")
    assert "must be a string" in _error(b'{"text": {"a": 1}, "label": "x"}\n', "f.jsonl")


def test_error_missing_columns() -> None:
    message = _error(b"sentence,label\na,b\n")
    assert "`text` column" in message and "'sentence'" in message
    message = _error(b"input,output\na,b\n")
    assert "`text` and `label`" in message and "'input', 'output'" in message
    message = _error(b'{"text": "a", "lbl": "x"}\n', "f.jsonl")
    assert "`label` field" in message and "'lbl'" in message


def test_error_duplicate_columns() -> None:
    assert "duplicate column names: 'text'" in _error(b"text,label,Text\na,b,c\n")
    assert "duplicate keys 'label'" in _error(b'{"text": "a", "label": "x", "label": "y"}\n', "f.jsonl")


def test_error_empty_rows_list_lines() -> None:
    assert "Empty text on lines 2, 4" in _error(b"text,label\n,x\nok,y\n  ,x\n")
    rows = b"".join(b"t,\n" for _ in range(8))
    message = _error(b"text,label\n" + rows)
    assert "Empty label on lines 2, 3, 4, 5, 6 and 3 more" in message
    assert "Empty label on line 2" in _error(
        b'{"text": "a", "label": "x"}\n{"text": "b", "label": null}\n', "f.jsonl"
    )


def test_error_unknown_labels() -> None:
    message = _error(b"text,label\na,pos\nb,neu\nc,foo\nd,neu\n", label_names=["pos", "neg"])
    assert "'neu', 'foo'" in message and "lines 3, 4, 5" in message and "'pos', 'neg'" in message


def test_error_text_too_long() -> None:
    message = _error(b"text,label\nshort,x\n" + b"y" * 50 + b",z\n", max_text_chars=20)
    assert "longer than 20 characters on line 3" in message


def test_error_single_label() -> None:
    assert "only one label" in _error(b"text,label\na,x\nb,x\n")
