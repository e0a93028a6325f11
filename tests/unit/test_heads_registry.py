"""HEAD_SCORES is one `Registry` of frozen specs: its names are exactly `HeadScoreName`'s, in the
Literal's order (the page's tabs and the CLI's JSON keys follow it), and each spec says what it reads."""

from __future__ import annotations

import dataclasses
from typing import get_args

import numpy as np
import pytest

from engine.core.errors import ConfigError
from engine.core.registry import Registry
from engine.interp.heads import (
    HEAD_SCORE_NAMES,
    HEAD_SCORES,
    HeadNeed,
    HeadProbe,
    HeadScoreName,
    HeadScoreSpec,
    get_head_score,
)
from engine.interp.probes import PROBE_BATCHES


def test_head_scores_match_their_literal_in_order() -> None:
    assert isinstance(HEAD_SCORES, Registry)
    HEAD_SCORES.check_literal(HeadScoreName)
    assert HEAD_SCORES.names() == get_args(HeadScoreName) == HEAD_SCORE_NAMES


def test_each_spec_says_what_it_needs() -> None:
    needs = {name: spec.needs for name, spec in HEAD_SCORES.items()}
    assert needs == {
        "induction": {"induction"},
        "prefix_matching": {"prefix"},
        "previous_token": {"induction"},
        "duplicate_token": {"induction"},
        "copying": {"weights"},
    }
    for name, spec in HEAD_SCORES.items():
        assert spec.name == name and spec.description
        assert spec.needs <= set(get_args(HeadNeed))
    assert set(get_args(HeadNeed)) - {"weights"} == PROBE_BATCHES


def test_specs_are_frozen_and_called_like_their_function() -> None:
    spec = get_head_score("copying")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.description = "changed"  # type: ignore[misc]
    with pytest.raises(ConfigError, match="weights"):
        spec(HeadProbe(induction=None))
    with pytest.raises(ConfigError, match=r"Unknown head score 'nope'\. Known: induction, prefix_matching"):
        get_head_score("nope")


def test_a_new_score_is_one_decorated_function() -> None:
    reg: Registry[HeadScoreSpec] = Registry("head score", make=HeadScoreSpec.of)

    @reg.register("uniform", needs=frozenset({"induction"}), description="the same for every head")
    def score_uniform(probe: HeadProbe) -> np.ndarray:
        return np.ones((2, 3))

    assert reg.lookup("uniform")(HeadProbe(induction=None)).shape == (2, 3)
    with pytest.raises(ValueError, match="unknown inputs"):
        reg.register("bad", needs=frozenset({"gradients"}), description="x")(score_uniform)
