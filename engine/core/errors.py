"""Exceptions whose message is meant for the user (shown in the UI / CLI without a traceback).

Every such error derives from `UserError`, so one ``except USER_ERRORS`` (or ``except UserError``)
catches all of them; the families keep their historic bases (``ValueError``, ``RuntimeError``) so
callers that caught those still do. They live here, in the bottom layer, so that any layer can raise
them without importing the layer that owns the concept (the old layout had this module import the
model registry, the prompt builder and the data loader, i.e. the base importing the top).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar


class UserError(Exception):
    """Root of every error whose message is written for the person using the app or the CLI."""


class ConfigError(UserError, ValueError):
    """An invalid setting (unknown strategy name, k larger than the pool, ...)."""


class PromptError(UserError, ValueError):
    """Invalid template, demonstration or prompt; the message is meant for the user."""


class DataError(UserError, ValueError):
    """A data set could not be loaded, parsed or split; the message is meant for the user."""


class ModelLoadError(UserError, RuntimeError):
    """A model could not be found or loaded; the message is meant for the user."""


USER_ERRORS: tuple[type[Exception], ...] = (UserError,)


T = TypeVar("T")


def lookup(registry: Mapping[str, T], name: str, family: str) -> T:
    """Registry lookup that fails with the list of known names."""
    try:
        return registry[name]
    except KeyError:
        raise ConfigError(f"Unknown {family} {name!r}. Known: {', '.join(registry)}.") from None
