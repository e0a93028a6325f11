"""`python -m engine sensitivity`: the JSON contract on the last stdout line, with a FakeRunner."""

from __future__ import annotations

import json
from typing import Any

import pytest

import engine.model.registry
from engine.cli import main
from engine.cli import sensitivity as cli
from engine.core.errors import ConfigError
from engine.data.datasets import Dataset
from tests.unit.test_sensitivity import POOL, QUERIES, TEMPLATE, copy_last_label_runner

DS = Dataset(
    name="tiny",
    title="Tiny sentiment",
    description="test data",
    label_names=("negative", "positive"),
    label_words=("negative", "positive"),
    instruction="Classify the review.",
    template=TEMPLATE,
    examples=POOL + QUERIES,
    source="upload:tiny.csv",
)


@pytest.fixture()
def fake(monkeypatch: pytest.MonkeyPatch) -> Any:
    runner = copy_last_label_runner()
    monkeypatch.setattr(engine.model.registry, "load_runner", lambda name, device=None: runner)
    monkeypatch.setattr(cli, "load_data", lambda name: DS)
    return runner


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main(["sensitivity", *argv]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    payload: dict[str, Any] = json.loads(out[-1])
    return payload


@pytest.mark.parametrize(
    ("experiment", "n_rows"),
    [("order", 5), ("selection", 5), ("kcurve", 3), ("labels", 4), ("label_words", 3), ("format", 3)],
)
def test_contract_every_experiment(
    capsys: pytest.CaptureFixture[str], fake: Any, experiment: str, n_rows: int
) -> None:
    extra = {
        "label_words": ["--label-words", "bad,good"],
        "format": ["--templates", "Input: {text}\\nLabel: {label}"],
    }
    payload = _run(
        capsys,
        "--experiment", experiment, "--model", "fake", "--dataset", "tiny", "--scoring", "direct",
        "--k", "3", "--n", "5", "--n-test", "6", "--seed", "1", "--ks", "0,1,2", "--draw", "random",
        "--json", *extra.get(experiment, []),
    )  # fmt: skip
    assert payload["experiment"] == experiment
    assert len(payload["rows"]) == n_rows
    for row in payload["rows"]:
        assert {"setting", "accuracy", "macro_f1", "n", "seconds", "tokens"} <= set(row)
        assert 0.0 <= row["accuracy"] <= 1.0 and row["n"] == 6
    assert payload["n_test"] == 6 and payload["tokens_processed"] > 0
    if experiment == "format":
        assert payload["rows"][2]["template"] == "Input: {text}\nLabel: {label}"
    if experiment == "label_words":
        assert payload["rows"][1]["words"] == {"negative": "bad", "positive": "good"}


def test_human_output_then_json(capsys: pytest.CaptureFixture[str], fake: Any) -> None:
    assert main(["sensitivity", "--experiment", "order", "--k", "2", "--n", "2", "--n-test", "4"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("Order variance on Tiny sentiment, 4 test queries")
    assert "over 2 orders" in "\n".join(lines[:-1])
    assert json.loads(lines[-1])["experiment"] == "order"


def test_user_errors_are_one_line(capsys: pytest.CaptureFixture[str], fake: Any) -> None:
    assert main(["sensitivity", "--experiment", "order", "--k", "1", "--json"]) == 2
    assert "k >= 2" in capsys.readouterr().err
    assert main(["sensitivity", "--experiment", "order", "--scoring", "direct,ppl"]) == 2
    assert "kcurve experiment only" in capsys.readouterr().err
    assert main(["sensitivity", "--experiment", "label_words", "--label-words", "a,b,c"]) == 2
    assert "3 words for 2 labels" in capsys.readouterr().err


def test_parse_words() -> None:
    labels = ("negative", "positive")
    assert cli.parse_words("bad, good", labels) == ("bad", "good")
    assert cli.parse_words("positive=great", labels, base={"negative": "bad", "positive": "good"}) == (
        "bad",
        "great",
    )
    with pytest.raises(ConfigError, match="Unknown label 'neutral'"):
        cli.parse_words("neutral=meh", labels)
    with pytest.raises(ConfigError, match="No word for 'negative'"):
        cli.parse_words("positive=great", labels)
    assert cli.unescape("a\\nb") == "a\nb"
    with pytest.raises(ConfigError, match="whole numbers"):
        cli.parse_ints("0,x", "--ks")
