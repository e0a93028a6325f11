"""engine.cli.common: the pieces every sub-command shares (default model, arguments, progress)."""

from __future__ import annotations

import argparse
import importlib

import pytest

from engine.cli import COMMANDS
from engine.cli.common import (
    DEFAULT_MODEL,
    ProgressBar,
    StepPrinter,
    add_device_argument,
    add_json_argument,
    add_model_argument,
    add_seed_argument,
    unescape,
)
from engine.model.registry import DEFAULT_MODEL as REGISTRY_DEFAULT


def _parser(command: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    importlib.import_module(COMMANDS[command]).add_arguments(parser)
    return parser


@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "models"])
def test_every_command_defaults_to_the_registry_default_model(command: str) -> None:
    assert DEFAULT_MODEL == REGISTRY_DEFAULT == "smollm2-135m"
    assert _parser(command).get_default("model") == DEFAULT_MODEL


def test_the_shared_arguments_parse_as_before() -> None:
    parser = argparse.ArgumentParser()
    add_model_argument(parser)
    add_device_argument(parser)
    add_seed_argument(parser)
    add_json_argument(parser)
    args = parser.parse_args([])
    assert (args.model, args.device, args.seed, args.json) == (DEFAULT_MODEL, None, 0, False)
    args = parser.parse_args(["--model", "gemma3-270m", "--device", "cpu", "--seed", "7", "--json"])
    assert (args.model, args.device, args.seed, args.json) == ("gemma3-270m", "cpu", 7, True)


def test_unescape_turns_typed_escapes_into_characters_and_keeps_none() -> None:
    assert unescape("a\\nb\\tc") == "a\nb\tc"
    assert unescape("no escapes") == "no escapes"
    assert unescape(None) is None


def test_step_printer_prints_each_step_and_the_end(capsys: pytest.CaptureFixture[str]) -> None:
    progress = StepPrinter(0.1)
    for frac in (0.0, 0.05, 0.1, 0.15, 0.5, 0.55, 1.0):
        progress(frac, f"at {frac}")
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["[   0%] at 0.0", "[  10%] at 0.1", "[  50%] at 0.5", "[ 100%] at 1.0"]


def test_step_printer_digits(capsys: pytest.CaptureFixture[str]) -> None:
    StepPrinter(0.0, digits=1)(0.123, "x")
    assert capsys.readouterr().err == "[12.3%] x\n"


def test_progress_bar_draws_one_line_and_is_silent_when_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    bar = ProgressBar(quiet=False)
    bar(0.5, "half")
    bar(0.501, "too close to redraw")
    bar(1.0, "done")
    err = capsys.readouterr().err
    assert err.count("\r") == 2 and err.endswith("\n")
    assert "[###############...............]  50.0%" in err and "[" + "#" * 30 + "] 100.0%" in err
    assert "too close" not in err
    ProgressBar(quiet=True)(1.0, "done")
    assert capsys.readouterr().err == ""
