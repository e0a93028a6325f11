"""The one registry type: lookup lists known names, duplicates fail, Literal check catches drift."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pytest

from engine.core.errors import ConfigError
from engine.core.registry import Registry


@dataclass(frozen=True)
class _Spec:
    name: str
    fn: Any
    description: str


def test_register_plain_and_lookup_lists_known_names() -> None:
    reg: Registry[Any] = Registry("widget")

    @reg.register("a")
    def a() -> int:
        return 1

    reg.add("b", lambda: 2)
    assert reg.names() == ("a", "b")
    assert reg.lookup("a")() == 1 and reg["b"]() == 2 and "a" in reg and len(reg) == 2
    with pytest.raises(ConfigError, match=r"Unknown widget 'c'\. Known: a, b\."):
        reg.lookup("c")
    with pytest.raises(ValueError, match="registered twice"):
        reg.add("a", a)


def test_register_with_spec_fields() -> None:
    reg: Registry[_Spec] = Registry("gadget", make=lambda fn, name, description: _Spec(name, fn, description))

    @reg.register("x", description="the x one")
    def x() -> str:
        return "x"

    assert reg.lookup("x") == _Spec("x", x, "the x one")
    with pytest.raises(TypeError):
        Registry[Any]("plain").register("y", description="no spec type")(x)


def test_check_literal_reports_both_sides() -> None:
    reg: Registry[Any] = Registry("thing")
    reg.add("a", 1)
    reg.add("b", 2)
    reg.check_literal(Literal["a", "b"])
    with pytest.raises(ValueError, match=r"only registered \['b'\], only declared \['c'\]"):
        reg.check_literal(Literal["a", "c"])
