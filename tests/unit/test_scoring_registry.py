"""The scoring registries: one frozen spec per name, names equal to their Literal, lookups that list
the known names, and specs that say what each strategy does (content-free inputs, prior, direction)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from engine.core.errors import ConfigError
from engine.core.registry import Registry
from engine.scoring.calibration import CALIBRATIONS, contextual_inputs, domain_inputs
from engine.scoring.channel import plan_channel
from engine.scoring.direct import plan_direct, plan_ppl
from engine.scoring.scorers import SCORERS, ScoringConfig, value_logprob, value_ppl
from engine.scoring.types import CONTENT_FREE, CalibrationName, ScorerName


def test_registries_match_their_literals_in_ui_order() -> None:
    assert isinstance(SCORERS, Registry) and isinstance(CALIBRATIONS, Registry)
    SCORERS.check_literal(ScorerName)
    CALIBRATIONS.check_literal(CalibrationName)
    assert SCORERS.names() == ("direct", "ppl", "channel")
    assert CALIBRATIONS.names() == ("none", "contextual", "domain", "batch")


def test_specs_are_frozen_and_named_by_their_key() -> None:
    for family in (SCORERS, CALIBRATIONS):
        for name in family:
            spec = family[name]
            assert spec.name == name
            with pytest.raises(dataclasses.FrozenInstanceError):
                spec.name = "other"  # type: ignore[misc]


def test_scorer_specs_point_at_their_plans_and_values() -> None:
    assert [SCORERS[n].plan for n in SCORERS] == [plan_direct, plan_ppl, plan_channel]
    assert [SCORERS[n].value for n in SCORERS] == [value_logprob, value_ppl, value_logprob]
    assert [SCORERS[n].higher_is_better for n in SCORERS] == [True, False, True]


def test_calibration_specs_say_their_inputs_and_prior() -> None:
    assert [CALIBRATIONS[n].prior for n in CALIBRATIONS] == ["none", "content_free", "content_free", "batch"]
    assert [CALIBRATIONS[n].needs_content_free for n in CALIBRATIONS] == [False, True, True, False]
    assert CALIBRATIONS["contextual"].content_free is contextual_inputs
    assert CALIBRATIONS["domain"].content_free is domain_inputs
    assert (
        contextual_inputs(["ignored"], 5, np.random.default_rng(0)) == CONTENT_FREE == ("N/A", "", "[MASK]")
    )
    strings = domain_inputs(["a b", "c d"], 4, np.random.default_rng(0))
    assert len(strings) == 4 and all(len(s.split()) == 2 for s in strings)


def test_unknown_names_fail_with_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"Unknown scorer 'nope'\. Known: direct, ppl, channel\."):
        SCORERS.lookup("nope")
    with pytest.raises(
        ConfigError, match=r"Unknown calibration 'x'\. Known: none, contextual, domain, batch\."
    ):
        ScoringConfig("direct", "x")


def test_every_spec_description_has_chinese_and_the_ui_takes_it_from_the_spec(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import components.i18n as i18n
    from components.i18n_zh import ZH
    from components.scoring_views import calibration_descriptions, scorer_descriptions

    for family in (SCORERS, CALIBRATIONS):
        for spec in family.values():
            assert spec.description in ZH, spec.description
    monkeypatch.setattr(i18n, "lang", lambda: "en")
    assert scorer_descriptions() == {n: s.description for n, s in SCORERS.items()}
    monkeypatch.setattr(i18n, "lang", lambda: "zh")
    assert calibration_descriptions() == {n: ZH[s.description] for n, s in CALIBRATIONS.items()}
    assert list(scorer_descriptions()) == list(SCORERS)
