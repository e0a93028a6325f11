"""The classification data types: `Example`, `Dataset` (with its content fingerprint) and `Split`.

A `Dataset` checks itself on construction (label names, label words, template fields, every example's
label), so a bundled benchmark and an upload are checked by the same code. Its ``fingerprint`` is a
sha256 of everything that determines results, so caches key on content, never on a name (issue 12).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine.core.errors import DataError
from engine.core.fingerprint import content_fingerprint

MAX_LISTED = 5  # how many line numbers / values an error message lists before "and N more"


def unique_in_order(items: Iterable[str]) -> list[str]:
    """The distinct items, in order of first appearance."""
    return list(dict.fromkeys(items))


def listing(items: Sequence[object], limit: int = MAX_LISTED) -> str:
    """Items for a message: strings quoted with ``repr``, numbers as they are, then "and N more"."""
    shown = ", ".join(repr(x) if isinstance(x, str) else str(x) for x in items[:limit])
    more = len(items) - limit
    return f"{shown} and {more} more" if more > 0 else shown


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled input.

    Attributes:
        text: The input text (stripped, never empty).
        label: The label name, one of ``Dataset.label_names``.
        id: Row index in the source (StaICC table row, or 0-based data row of an upload); stable.
    """

    text: str
    label: str
    id: int


@dataclass(frozen=True, slots=True)
class Dataset:
    """A labelled classification data set with its default prompt format.

    Attributes:
        name: Short identifier (registry key, or the upload's name).
        title: Human-readable title.
        description: One line for the UI.
        label_names: The classes, in the source's label order.
        label_words: Default verbaliser, same order as ``label_names``.
        instruction: Default instruction put before the demonstrations (may be empty).
        template: Demonstration format with ``{text}`` and ``{label}`` fields.
        examples: All rows, in source order.
        source: ``"StaICC:<name>"`` or ``"upload:<filename>"`` (a name: never a cache key).
        fingerprint: sha256 of everything above (computed): two data sets with the same
            fingerprint give the same splits, prompts and results, so caches key on it.
    """

    name: str
    title: str
    description: str
    label_names: tuple[str, ...]
    label_words: tuple[str, ...]
    instruction: str
    template: str
    examples: tuple[Example, ...]
    source: str
    fingerprint: str = dataclasses.field(init=False, default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "fingerprint",
            content_fingerprint(
                [
                    self.name,
                    self.title,
                    self.description,
                    list(self.label_names),
                    list(self.label_words),
                    self.instruction,
                    self.template,
                    self.source,
                    [[ex.text, ex.label, ex.id] for ex in self.examples],
                ]
            ),
        )
        check_label_format(self.name, self.label_names, self.label_words, self.template)
        if not self.examples:
            raise DataError(f"Data set {self.name!r} has no examples.")
        known = set(self.label_names)
        stray = unique_in_order(ex.label for ex in self.examples if ex.label not in known)
        if stray:
            raise DataError(
                f"Data set {self.name!r} has examples with labels not in label_names: {listing(stray)}."
            )

    def label_word_map(self) -> dict[str, str]:
        """Maps each label name to its default label word."""
        return dict(zip(self.label_names, self.label_words, strict=True))


@dataclass(frozen=True, slots=True)
class Split:
    """A disjoint split of a data set's examples.

    Attributes:
        pool: Demonstration pool (examples retrievers may pick from).
        test: Queries to evaluate on.
    """

    pool: tuple[Example, ...]
    test: tuple[Example, ...]


def check_label_format(
    name: str, label_names: tuple[str, ...], label_words: tuple[str, ...], template: str
) -> None:
    """Raises `DataError` unless there are label names, as many distinct ones as label words, and the
    template holds ``{text}`` and ``{label}`` (shared by `Dataset` and the benchmark specs)."""
    if len(label_names) < 1:
        raise DataError(f"Data set {name!r} has no label names.")
    if len(set(label_names)) != len(label_names):
        raise DataError(f"Data set {name!r} has duplicate label names: {list(label_names)}.")
    if len(label_words) != len(label_names):
        raise DataError(
            f"Data set {name!r} has {len(label_words)} label words for {len(label_names)} label names."
        )
    for field in ("{text}", "{label}"):
        if field not in template:
            raise DataError(f"The template of data set {name!r} must contain {field}.")
