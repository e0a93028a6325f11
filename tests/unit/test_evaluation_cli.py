"""`python -m engine evaluate` contract, on the hand-set FakeRunner (no model files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import engine.model.registry
from engine.cli import main
from tests.unit.test_scoring import make_runner

POOL = "\n".join(
    json.dumps({"text": t, "label": lab})
    for t, lab in [
        ("good film", "positive"),
        ("bad film", "negative"),
        ("film", "positive"),
        ("bad", "negative"),
    ]
)
TEST = "text,label\ngood film,positive\nbad film,negative\nfilm bad,positive\n"


@pytest.fixture()
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setattr(engine.model.registry, "load_runner", lambda *a, **k: make_runner())
    pool, test = tmp_path / "pool.jsonl", tmp_path / "test.csv"
    pool.write_text(POOL)
    test.write_text(TEST)
    return pool, test


def test_cli_own_files_contract(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pool, test = files
    out = tmp_path / "res" / "results.jsonl"
    rc = main(
        [
            "evaluate",
            "--pool",
            str(pool),
            "--test",
            str(test),
            "--k",
            "0",
            "--retrieval",
            "zero",
            "--template",
            "Review: {text}\\nSentiment: {label}",
            "--instruction",
            "",
            "--n-test",
            "3",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert set(summary) == {"accuracy", "macro_f1", "ece", "n_test", "seconds", "tokens_processed"}
    assert summary["n_test"] == 3 and summary["accuracy"] == pytest.approx(2 / 3)
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines) == 3
    assert {"id", "text", "gold", "pred", "demo_ids", "scores", "prompts"} <= set(lines[0])
    assert lines[0]["gold"] == "positive" and lines[0]["pred"] == "positive"
    assert lines[0]["prompts"]["positive"] == "Review: good film\nSentiment: positive"
    assert "%" in captured.err  # progress bar on stderr


def test_cli_demo_ids_index_pool_rows(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pool, test = files
    out = tmp_path / "r.jsonl"
    rc = main(
        [
            "evaluate",
            "--pool",
            str(pool),
            "--test",
            str(test),
            "--k",
            "2",
            "--demos",
            "shared",
            "--out",
            str(out),
            "--label-words",
            "negative=negative,positive=positive",
            "--quiet",
        ]
    )
    assert rc == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    pool_rows = [json.loads(x) for x in POOL.splitlines()]
    ids = rows[0]["demo_ids"]
    assert len(ids) == 2 and all(r["demo_ids"] == ids for r in rows)
    for i in ids:
        assert pool_rows[i]["text"] in rows[0]["prompts"]["positive"]


def test_cli_user_errors_are_one_line(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    pool, test = files
    assert main(["evaluate", "--pool", str(pool), "--k", "1"]) == 2
    assert "both --pool and --test" in capsys.readouterr().err
    assert main(["evaluate", "--pool", str(pool), "--test", str(test), "--k", "99", "--quiet"]) == 2
    assert "larger than" in capsys.readouterr().err
    assert main(["evaluate", "--pool", str(pool), "--test", str(test), "--label-words", "a,b,c"]) == 2
    with pytest.raises(SystemExit):
        main(["evaluate", "--scoring", "nope"])


def test_cli_fixed_demonstrations(files: tuple[Path, Path], tmp_path: Path) -> None:
    pool, test = files
    out = tmp_path / "f.jsonl"
    args = ["evaluate", "--pool", str(pool), "--test", str(test), "--retrieval", "fixed", "--fixed", "2,0"]
    assert main([*args, "--quiet", "--out", str(out)]) == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert all(r["demo_ids"] == [2, 0] for r in rows)
    assert main([*args[:-1], "9", "--quiet"]) == 2
