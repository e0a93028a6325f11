"""`python -m engine heads` on a tiny random-init Llama saved as a local model directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cli import main
from tests.unit.test_heads_model import tiny_llama


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    runner = tiny_llama(seed=0)
    path = tmp_path_factory.mktemp("tiny-llama")
    runner.model.save_pretrained(str(path), safe_serialization=True)
    runner.tokenizer.save_pretrained(str(path))
    return path


def test_json_contract(model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        ["heads", "--model", str(model_dir), "--seed", "0", "--json", "--seq-len", "8", "--n-seqs", "2"]
    )
    assert rc == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1  # --json: the JSON line only
    data = json.loads(lines[-1])
    assert list(data) == ["induction", "prefix_matching", "previous_token", "duplicate_token", "copying"]
    for name, rows in data.items():
        assert len(rows) == 2 and all(len(r) == 4 for r in rows), name
        assert all(isinstance(v, float) for r in rows for v in r), name


def test_text_output_and_seed(model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["heads", "--model", str(model_dir), "--seq-len", "8", "--n-seqs", "2", "--scores", "induction"]
    assert main([*args, "--seed", "1", "--top", "2"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith(f"{model_dir}: 2 layers x 4 heads")
    assert out[1].split()[0] == "induction" and out[1].count("L") == 2
    a = json.loads(out[-1])
    assert main([*args, "--seed", "2", "--json"]) == 0
    b = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert list(a) == ["induction"] and a != b


def test_unknown_score_is_a_one_line_error(model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["heads", "--model", str(model_dir), "--scores", "inductoin", "--json"]) == 2
    err = capsys.readouterr().err
    assert "error: Unknown head score 'inductoin'. Known: induction" in err
    assert "Traceback" not in err
