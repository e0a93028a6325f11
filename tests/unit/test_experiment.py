"""Experiment files and links round-trip and reject damaged input clearly."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core.errors import ConfigError
from engine.experiments.share import Experiment, dumps, from_link_param, loads, to_link_param

EXP = Experiment(
    model="smollm2-135m",
    dataset="sst2",
    instruction="分类情感。",
    template="Review: {text}\nSentiment: {label}",
    separator="\n\n",
    query="一部感人的电影",
    demos=(("great", "positive"), ("awful", "negative")),
    label_words=(("negative", "negative"), ("positive", "positive")),
    seed=3,
    model_identity="sha256:abc",
    settings=(("calibration", "none"), ("k", 4), ("scorer", "direct")),
    language="zh",
)


def test_file_and_link_roundtrip() -> None:
    assert loads(dumps(EXP)) == EXP
    assert from_link_param(to_link_param(EXP)) == EXP
    assert "一部感人的电影" in dumps(EXP)  # readable unicode in files


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("{not json", "not valid JSON"),
        ("[]", "JSON object"),
        ('{"schema": "other"}', "not an ICL Explorer experiment"),
        (json.dumps({**EXP.to_dict(), "schema_version": 99}), "newer"),
        (json.dumps({**EXP.to_dict(), "demos": [{"text": 1}]}), "Demonstration 1"),
        (json.dumps({**EXP.to_dict(), "seed": -1}), "seed"),
        (json.dumps({k: v for k, v in EXP.to_dict().items() if k != "template"}), "'template'"),
    ],
)
def test_bad_files_are_explained(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        loads(text)


def test_damaged_link() -> None:
    with pytest.raises(ConfigError, match="damaged"):
        from_link_param("not-a-real-link!!")
    good = to_link_param(EXP)
    with pytest.raises(ConfigError):
        from_link_param(good[: len(good) // 2])


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=50), st.lists(st.tuples(st.text(max_size=20), st.text(max_size=8)), max_size=4))
def test_link_roundtrip_arbitrary_unicode(query: str, demos: list[tuple[str, str]]) -> None:
    exp = Experiment("m", "d", "", "{text} {label}", "\n", query, tuple(demos), (("a", "b"),))
    assert from_link_param(to_link_param(exp)) == exp
