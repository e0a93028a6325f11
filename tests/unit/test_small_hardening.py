"""#12 (9): nested JSON, CLI arguments, 8-bit decoding, label normalisation, model-path messages."""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

import pytest

from engine.cli import main as cli_main
from engine.core.errors import ConfigError
from engine.data.datasets import DataError, normalise_label, parse_user_data
from engine.data.gen_tasks import parse_gen_upload
from engine.experiments.share import from_dict, from_link_param, loads, to_link_param
from engine.model.registry import MAX_MODEL_NAME_CHARS, ModelLoadError, resolve
from tests.unit.experiments import make_experiment

DEEP = "[" * 200_000 + "]" * 200_000

EXP = make_experiment()


# --- deeply nested JSON ------------------------------------------------------------------------------------
def test_deep_json_upload_is_a_data_error() -> None:
    data = ('{"text": "a", "label": "x"}\n{"text": ' + DEEP + ', "label": "y"}\n').encode()
    with pytest.raises(DataError, match="line 2 is nested too deeply"):
        parse_user_data(data, "deep.jsonl")
    gen = ('{"input": "a", "output": "b"}\n{"input": ' + DEEP + ', "output": "c"}\n').encode()
    with pytest.raises(DataError, match="line 2 is nested too deeply"):
        parse_gen_upload(gen, "deep.jsonl")


def test_deep_json_experiment_file_and_link_are_config_errors() -> None:
    d = EXP.to_dict()
    text = json.dumps(d)[:-1] + ', "extra": ' + DEEP + "}"
    with pytest.raises(ConfigError, match="nested"):
        loads(text)
    param = base64.urlsafe_b64encode(zlib.compress(text.encode(), 9)).decode().rstrip("=")
    with pytest.raises(ConfigError, match="nested"):
        from_link_param(param)


# --- command line ------------------------------------------------------------------------------------------
def _pool(tmp_path: Path) -> Path:
    pool = tmp_path / "pool.jsonl"
    pool.write_text(
        '{"text": "a fine film", "label": "pos"}\n{"text": "awful", "label": "neg"}\n'
        '{"text": "great", "label": "pos"}\n'
    )
    return pool


@pytest.mark.parametrize("seed", ["-1", str(2**32)])
def test_cli_bad_seed_is_one_line_exit_2(
    seed: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["retrieve", "--pool", str(_pool(tmp_path)), "--query", "q", "--retrieval", "random"]
    rc = cli_main([*argv, "--k", "1", "--seed", seed, "--json"])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert err.count("\n") == 0 and "seed" in err and "Traceback" not in err


def test_cli_over_long_model_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    rc = cli_main(["generate", "--model", "m" * 5000, "--prompt", "hi"])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    last = err.splitlines()[-1]  # earlier lines are progress
    assert last.startswith("error:") and "too long" in last and "Traceback" not in err


@pytest.mark.parametrize(
    "name", ["m" * (MAX_MODEL_NAME_CHARS + 1), "a\x00b", "x\ud800.gguf", "/" + "d" * 300]
)
def test_model_name_checks_are_model_load_errors(name: str) -> None:
    with pytest.raises(ModelLoadError):
        resolve(name)


# --- model-path messages do not reveal what exists --------------------------------------------------------
def test_model_path_errors_do_not_reveal_existence(tmp_path: Path) -> None:
    (tmp_path / "empty_dir").mkdir()
    (tmp_path / "cfg_only").mkdir()
    (tmp_path / "cfg_only" / "config.json").write_text("{}")
    (tmp_path / "notes.gguf").mkdir()  # exists, but is not a file
    names = {
        "missing dir": str(tmp_path / "nope"),
        "empty dir": str(tmp_path / "empty_dir"),
        "dir without weights": str(tmp_path / "cfg_only"),
        "missing gguf": str(tmp_path / "nope.gguf"),
        "gguf that is a dir": str(tmp_path / "notes.gguf"),
    }
    messages = set()
    for name in names.values():
        with pytest.raises(ModelLoadError) as info:
            resolve(name)
        messages.add(str(info.value).replace(name, "<name>"))
    assert len(messages) == 1, messages
    assert "Could not load model" in messages.pop()


# --- saved experiments do not embed absolute paths --------------------------------------------------------
def test_absolute_model_paths_are_not_saved(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    home = tmp_path / "home" / "alice"
    monkeypatch.setenv("HOME", str(home))
    from dataclasses import replace

    in_home = replace(EXP, model=str(home / "models" / "tiny.gguf"))
    assert in_home.to_dict()["model"] == "~/models/tiny.gguf"
    assert from_link_param(to_link_param(in_home)).model == "~/models/tiny.gguf"
    outside = replace(EXP, model="/srv/secret/team-a/models/tiny")
    saved = json.dumps(outside.to_dict())
    assert "/srv" not in saved and from_dict(outside.to_dict()).model == "tiny"
    assert replace(EXP, model="HuggingFaceTB/SmolLM2-135M").to_dict()["model"] == "HuggingFaceTB/SmolLM2-135M"


# --- 8-bit encodings --------------------------------------------------------------------------------------
def test_small_cp1252_file_decodes_as_cp1252() -> None:
    data = "text,label\nnaïve café,pos\nbad,neg\n".encode("cp1252")
    ds = parse_user_data(data, "x.csv")
    assert ds.examples[0].text == "naïve café"
    assert "cp1252" in ds.description


def test_cp1250_file_still_decodes_as_cp1250() -> None:
    data = "text,label\nzażółć gęślą jaźń,pos\nźle,neg\n".encode("cp1250")
    assert parse_user_data(data, "x.csv").examples[0].text == "zażółć gęślą jaźń"


# --- label and column normalisation -----------------------------------------------------------------------
def test_labels_are_normalised() -> None:
    nfd = "cafe\u0301"
    assert normalise_label(" pos\u200b ") == "pos" and normalise_label(nfd) == "café"
    assert normalise_label("e\u200b\u0301") == "é" == normalise_label(normalise_label("e\u200b\u0301"))
    data = f'{{"text": "a", "label": "pos"}}\n{{"text": "b", "label": "pos\\u200b"}}\n{{"text": "c", "label": "{nfd}"}}\n{{"text": "d", "label": "café"}}\n'
    ds = parse_user_data(data.encode(), "x.jsonl")
    assert ds.label_names == ("pos", "café")
    assert [e.label for e in ds.examples] == ["pos", "pos", "café", "café"]
    ds2 = parse_user_data(data.encode(), "x.jsonl", label_names=["pos\u200b", nfd])
    assert ds2.label_names == ("pos", "café")


def test_column_names_are_normalised() -> None:
    data = "\ufefftext\u200b,\u200dLabel \nhello,a\nbye,b\n".encode()
    assert [e.label for e in parse_user_data(data, "x.csv").examples] == ["a", "b"]
    jl = '{"te\u200bxt": "hello", "label": "a"}\n{"text": "bye", "label": "b"}\n'
    assert [e.text for e in parse_user_data(jl.encode(), "x.jsonl").examples] == ["hello", "bye"]
