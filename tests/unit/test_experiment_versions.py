"""Experiment files from other versions: older schemas and other app versions load, newer schemas do not."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from engine.core.errors import ConfigError
from engine.experiments.share import APP_VERSION, SCHEMA_VERSION, dumps, loads, version_note
from tests.unit.experiments import make_experiment

EXP = make_experiment()


def _with(**fields: object) -> str:
    d = json.loads(dumps(EXP))
    d.update(fields)
    return json.dumps(d)


def test_newer_schema_is_refused() -> None:
    with pytest.raises(ConfigError, match=f"newer than this app understands \\({SCHEMA_VERSION}\\)"):
        loads(_with(schema_version=SCHEMA_VERSION + 1))


@pytest.mark.parametrize("bad", [True, "1", 1.0, None])
def test_invalid_schema_version_is_refused_as_invalid(bad: object) -> None:
    with pytest.raises(ConfigError, match="schema_version") as info:
        loads(_with(schema_version=bad))
    assert "newer" not in str(info.value)


def test_missing_schema_version_is_refused_as_invalid() -> None:
    d = json.loads(dumps(EXP))
    del d["schema_version"]
    with pytest.raises(ConfigError, match="no valid 'schema_version'"):
        loads(json.dumps(d))


def test_other_app_version_loads_and_is_noted() -> None:
    exp = loads(_with(app_version="0.0.1-old"))
    assert exp.app_version == "0.0.1-old"
    note = version_note(exp)
    assert note is not None and "0.0.1-old" in note and APP_VERSION in note
    assert version_note(loads(dumps(EXP))) is None
    unknown = json.loads(dumps(EXP))
    del unknown["app_version"]
    assert "unknown" in (version_note(loads(json.dumps(unknown))) or "")


def test_saving_writes_the_current_versions() -> None:
    d = json.loads(dumps(replace(loads(_with(app_version="0.0.1-old")), app_version=APP_VERSION)))
    assert d["schema_version"] == SCHEMA_VERSION and d["app_version"] == APP_VERSION
