"""Exceptions whose message is meant for the user (shown in the UI / CLI without a traceback)."""

from __future__ import annotations

from typing import TypeVar

from engine.models import ModelLoadError
from engine.prompts import PromptError


class ConfigError(ValueError):
    """An invalid setting (unknown strategy name, k larger than the pool, ...)."""


def _user_errors() -> tuple[type[Exception], ...]:
    errs: list[type[Exception]] = [ModelLoadError, PromptError, ConfigError]
    try:
        from engine.datasets import DataError

        errs.append(DataError)
    except ImportError:  # pragma: no cover - during bootstrap only
        pass
    return tuple(errs)


USER_ERRORS: tuple[type[Exception], ...] = _user_errors()


T = TypeVar("T")


def lookup(registry: dict[str, T], name: str, family: str) -> T:
    """Registry lookup that fails with the list of known names."""
    try:
        return registry[name]
    except KeyError:
        raise ConfigError(f"Unknown {family} {name!r}. Known: {', '.join(registry)}.") from None
