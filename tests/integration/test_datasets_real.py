"""Integration tests of engine.data.datasets against the StaICC cache files installed in the venv."""

from __future__ import annotations

import ast
import contextlib
import importlib.util
from pathlib import Path

import pytest

from engine.data import datasets as D

pytestmark = pytest.mark.integration


def _staicc_dir() -> Path:
    spec = importlib.util.find_spec("StaICC")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations)))


def _staicc_class_attrs(class_name: str) -> dict[str, object]:
    """Literal ``self._x = ...`` assignments in a loader's ``__init__``, read from StaICC's source (not imported)."""
    tree = ast.parse((_staicc_dir() / "util" / "hgf_dataset_loader.py").read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name)
    init = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    attrs: dict[str, object] = {}
    for node in ast.walk(init):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Attribute):
            with contextlib.suppress(ValueError):
                attrs[node.targets[0].attr] = ast.literal_eval(node.value)
    return attrs


_STAICC_CLASSES = {
    "sst2": "glue_sst2",
    "sst5": "sst5",
    "mr": "rotten_tomatoes",
    "subj": "subjective",
    "trec": "trec",
    "agnews": "agnews",
    "financial_phrasebank": "financial_phrasebank",
    "tweet_emotion": "tweet_eval_emotion",
    "tweet_hate": "tweet_eval_hate",
    "hate_speech18": "hate_speech_18",
}


@pytest.mark.parametrize("name", D.dataset_names())
def test_every_dataset_loads(name: str) -> None:
    ds = D.load_dataset(name)
    assert ds.name == name and ds.source == f"StaICC:{name}"
    assert len(ds.label_names) >= 2
    assert len(ds.examples) >= 1000
    names = set(ds.label_names)
    assert all(ex.label in names and ex.text and ex.text == ex.text.strip() for ex in ds.examples)
    ids = [ex.id for ex in ds.examples]
    assert ids == sorted(set(ids))
    assert len({ex.text for ex in ds.examples}) == len(ds.examples)
    counts = D.label_counts(ds.examples, ds.label_names)
    assert all(c > 0 for c in counts.values()), counts
    # No class takes more than 90% (hate_speech18 is the most skewed: about 87% noHate).
    assert max(counts.values()) <= 0.9 * len(ds.examples), counts
    assert D.load_dataset(name) is ds  # memoised


@pytest.mark.parametrize("name", D.dataset_names())
def test_label_spaces_follow_staicc(name: str) -> None:
    attrs = _staicc_class_attrs(_STAICC_CLASSES[name])
    spec = D.DATASETS[name]
    mapping = attrs["_label_mapping"]
    assert mapping == {i: i for i in range(len(spec.label_names))}
    spaces = [attrs.get(k) for k in ("_label_space", "_ground_truth_label_space", "_reducted_label_space")]
    assert any(isinstance(s, list) and len(s) == len(spec.label_names) for s in spaces)


def test_sst2_rows_agree_with_staicc_mapping() -> None:
    table = D._read_table(_staicc_dir() / "cached_dataset" / D.DATASETS["sst2"].file_name)
    label_space = _staicc_class_attrs("glue_sst2")["_label_space"]
    assert label_space == ["negative", "positive"]
    by_id = {ex.id: ex for ex in D.load_dataset("sst2").examples}
    for i in range(20):
        fields, label_index = table[i]
        if i in by_id:
            assert by_id[i].label == label_space[label_index]
            assert by_id[i].text == fields[0].strip()
    # Spot checks by hand: row 0 is ", painful , obnoxious " (negative).
    assert by_id[0].text == ", painful , obnoxious" and by_id[0].label == "negative"
    sentiment = {ex.text: ex.label for ex in D.load_dataset("sst2").examples}
    assert sentiment.get("a gorgeous , witty , seductive movie .") in {None, "positive"}


def test_cleanup_removed_markup() -> None:
    agnews = D.load_dataset("agnews")
    assert not any("#39;" in ex.text or "&lt;" in ex.text or "\\" in ex.text for ex in agnews.examples)
    assert not any("-lrb-" in ex.text for ex in D.load_dataset("sst5").examples)


def test_split_of_real_dataset() -> None:
    ds = D.load_dataset("trec")
    split = D.split_dataset(ds, n_test=200, seed=0)
    assert len(split.test) == 200 and len(split.pool) == len(ds.examples) - 200
    assert {ex.text for ex in split.test}.isdisjoint(ex.text for ex in split.pool)
    assert split == D.split_dataset(ds, n_test=200, seed=0)
