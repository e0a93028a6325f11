"""The decoding strategies' registry: names against the `StrategyName` literal, specs, old paths."""

from __future__ import annotations

import dataclasses
from functools import partial

import pytest

import engine.generation.decoders as decoders
from engine.core.errors import ConfigError
from engine.generation import DECODERS
from engine.generation.beam import decode_beam
from engine.generation.config import STRATEGIES, DecodeConfig, StrategyName
from engine.generation.protocol import COMMON_OPTIONS


def test_decoders_match_the_strategy_literal_in_its_order() -> None:
    DECODERS.check_literal(StrategyName)
    assert DECODERS.names() == STRATEGIES == ("greedy", "beam", "sample", "contrastive")


def test_each_spec_names_itself_and_reads_real_settings() -> None:
    fields = {f.name for f in dataclasses.fields(DecodeConfig)}
    assert set(COMMON_OPTIONS) <= fields
    for name, spec in DECODERS.items():
        assert spec.name == name and spec.description
        assert set(spec.options) <= fields - set(COMMON_OPTIONS) - {"strategy"}, name
    assert [n for n, s in DECODERS.items() if s.amateur] == ["contrastive"]
    assert DECODERS["sample"].options == ("seed", "temperature", "top_k", "top_p")


def test_per_step_strategies_share_the_one_step_loop() -> None:
    for name in ("greedy", "sample", "contrastive"):
        fn = DECODERS[name].fn
        assert isinstance(fn, partial) and fn.func is decoders.step_loop, name
    assert DECODERS["beam"].fn is decode_beam
    assert decoders.decode_greedy is DECODERS["greedy"].fn  # the old names are the registered decoders


def test_an_unknown_strategy_fails_with_the_known_ones() -> None:
    with pytest.raises(
        ConfigError, match=r"Unknown decoding strategy 'nope'\. Known: greedy, beam, sample, contrastive\."
    ):
        DECODERS.lookup("nope")


def test_old_import_paths_still_work() -> None:
    from engine.generation import decoders as old
    from engine.generation import stream

    assert old.GenerationStream is stream.GenerationStream and old.generate is stream.generate
    for name in (
        "DecodeConfig",
        "GenerationResult",
        "GenToken",
        "Choice",
        "FunctionStepModel",
        "HFStepModel",
        "PrefixFn",
        "StepModel",
        "StepSession",
        "StopFn",
        "log_softmax",
        "apply_penalties",
        "filter_logits",
        "contrastive_scores",
        "find_stop",
        "safe_boundary",
        "stream_generate",
        "with_strategy",
        "as_step_model",
        "never_stop",
        "MAX_NEW_TOKENS",
        "STRATEGIES",
        "decode_beam",
        "decode_sample",
        "decode_contrastive",
    ):
        assert hasattr(old, name), name
