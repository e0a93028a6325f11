"""`Registry`: one named family of strategies (retrievers, orderings, scorers, head scores...).

Every strategy family of the engine is one `Registry`: a read-only mapping from a name to the
family's frozen spec (or plain function), filled by a decorator next to each strategy, so a new
strategy is one decorated function in one file::

    RETRIEVERS = Registry[RetrieverSpec]("retriever", make=RetrieverSpec.of)

    @RETRIEVERS.register("mmr", needs=frozenset({"index"}), description="...")
    def retrieve_mmr(query, k, ctx, rng): ...

Why one type: an unknown name fails the same way in every family (`lookup`, a `ConfigError`
that lists the known names, shown to the user as is), a duplicate name fails at import time
instead of silently replacing a strategy, and one test checks each family against its ``Literal``
of names (`check_literal`), so the type checker and the registry cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar, get_args

from engine.core.errors import ConfigError

S = TypeVar("S")
F = TypeVar("F", bound=Callable[..., Any])


class Registry(Mapping[str, S], Generic[S]):
    """A named family of strategies: read like a dict, filled by `add` or `register`.

    Args:
        family: what one entry is called in messages ("retriever", "head score").
        make: builds the entry from a decorated function and the decorator's keyword fields;
            without it, `register` stores the function itself.
    """

    def __init__(self, family: str, *, make: Callable[..., S] | None = None) -> None:
        self.family = family
        self._make = make
        self._entries: dict[str, S] = {}

    # ------------------------------------------------------------------ filling
    def add(self, name: str, entry: S) -> S:
        """Adds `entry` under `name`; a second entry of the same name is a programming error."""
        if name in self._entries:
            raise ValueError(f"{self.family} {name!r} is registered twice.")
        self._entries[name] = entry
        return entry

    def register(self, name: str, **fields: Any) -> Callable[[F], F]:
        """Decorator: registers the function (through `make` with `fields`, when given)."""

        def deco(fn: F) -> F:
            if self._make is None:
                if fields:
                    raise TypeError(f"the {self.family} registry takes no spec fields: {sorted(fields)}")
                self.add(name, fn)  # type: ignore[arg-type]
            else:
                self.add(name, self._make(fn, name=name, **fields))
            return fn

        return deco

    # ------------------------------------------------------------------ reading
    def lookup(self, name: str) -> S:
        """The entry called `name`, or a `ConfigError` that lists the known names."""
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise ConfigError(f"Unknown {self.family} {name!r}. Known: {', '.join(self._entries)}.") from None

    def names(self) -> tuple[str, ...]:
        """Registered names, in registration order (the order the UI lists them in)."""
        return tuple(self._entries)

    def check_literal(self, literal: Any) -> None:
        """Raises ValueError unless the registered names are exactly the ``Literal``'s values."""
        declared = set(get_args(literal))
        have = set(self._entries)
        if declared != have:
            raise ValueError(
                f"{self.family} registry and its Literal differ: only registered {sorted(have - declared)}, "
                f"only declared {sorted(declared - have)}"
            )

    def __getitem__(self, name: str) -> S:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.family!r}, {list(self._entries)})"
