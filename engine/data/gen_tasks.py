"""Generation tasks: a small built-in set written for this project, plus user uploads.

Built-in tasks (each item checked by hand; the addition items are computed, with their
digit-by-digit reasoning, from a fixed list of pairs):

* ``en_fr``: English word -> French word (nouns without article, common adjectives).
* ``past_tense``: English verb -> simple past (regular and irregular).
* ``capitals``: country -> capital city.
* ``addition``: two-digit addition with chain-of-thought reasoning (Wei et al. 2022 format).

Uploads are CSV or JSONL files with ``input`` and ``output`` columns (and optionally
``reasoning``), read by the shared reader `engine.data.uploads.read_upload`; problems are
reported as `engine.core.errors.DataError` with line numbers. The items of the built-in tasks
are in `engine.data.gen_task_items`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Literal, get_args

import numpy as np

from engine.core.errors import ConfigError, DataError, lookup
from engine.core.fingerprint import content_fingerprint
from engine.data.gen_task_items import ADDITION_PAIRS as ADDITION_PAIRS  # re-exported
from engine.data.gen_task_items import CAPITALS as CAPITALS  # re-exported
from engine.data.gen_task_items import EN_FR as EN_FR  # re-exported
from engine.data.gen_task_items import PAST_TENSE as PAST_TENSE  # re-exported
from engine.data.gen_task_items import addition_reasoning as addition_reasoning  # re-exported
from engine.data.uploads import UploadFormat, UploadSchema, column_key, lines_text, read_upload
from engine.prompting.cot import DEFAULT_TEMPLATE, GenDemo, parse_gen_template
from engine.prompting.prompts import PromptError

GenTaskName = Literal["en_fr", "past_tense", "capitals", "addition"]
UPLOAD_COLUMNS = ("input", "output")


@dataclass(frozen=True, slots=True)
class GenItem:
    """One input with its reference output (and reference reasoning for CoT tasks)."""

    input: str
    output: str
    reasoning: str = ""
    id: int = 0

    def as_demo(self) -> GenDemo:
        return GenDemo(self.input, self.output, self.reasoning)


@dataclass(frozen=True, slots=True)
class GenTask:
    """A generation task with its default prompt format.

    Attributes:
        name, title, description: identifier and texts for the UI.
        instruction: default instruction.
        template: default template (see `engine.prompting.cot`).
        items: the items, in source order.
        answer_pattern: default regex reading the answer from generated text (None = first line).
        stop: default stop sequences.
        source: ``"builtin:<name>"`` or ``"upload:<filename>"`` (a name: never a cache key).
        fingerprint: sha256 of everything above (computed); caches and "same task?" checks
            key on it, so two uploads with one file name never pass for each other.
    """

    name: str
    title: str
    description: str
    instruction: str
    template: str
    items: tuple[GenItem, ...]
    answer_pattern: str | None = None
    stop: tuple[str, ...] = ("\n",)
    source: str = ""
    fingerprint: str = field(init=False, default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "fingerprint",
            content_fingerprint(
                [
                    self.name,
                    self.title,
                    self.description,
                    self.instruction,
                    self.template,
                    [[it.input, it.output, it.reasoning, it.id] for it in self.items],
                    self.answer_pattern,
                    list(self.stop),
                    self.source,
                ]
            ),
        )
        try:
            fields = parse_gen_template(self.template)
        except PromptError as exc:
            raise DataError(f"Task {self.name!r}: {exc}") from None
        if not self.items:
            raise DataError(f"Task {self.name!r} has no items.")
        if "reasoning" in fields:
            missing = [it.id for it in self.items if not it.reasoning.strip()]
            if missing:
                raise DataError(f"Task {self.name!r} uses {{reasoning}} but items {missing[:5]} have none.")

    @property
    def has_reasoning(self) -> bool:
        return all(it.reasoning.strip() for it in self.items)


@dataclass(frozen=True, slots=True)
class GenSplit:
    """Demonstration pool and test items, disjoint."""

    pool: tuple[GenItem, ...]
    test: tuple[GenItem, ...]


def _items(pairs: Sequence[tuple[str, str]]) -> tuple[GenItem, ...]:
    return tuple(GenItem(a, b, "", i) for i, (a, b) in enumerate(pairs))


def _addition_items() -> tuple[GenItem, ...]:
    return tuple(
        GenItem(f"{a} + {b}", str(a + b), addition_reasoning(a, b), i)
        for i, (a, b) in enumerate(ADDITION_PAIRS)
    )


def _task_en_fr() -> GenTask:
    return GenTask(
        "en_fr",
        "English → French words",
        "Translate single English words into French (no article).",
        "Translate each English word into French.",
        "English: {input}\nFrench: {output}",
        _items(EN_FR),
        source="builtin:en_fr",
    )


def _task_past_tense() -> GenTask:
    return GenTask(
        "past_tense",
        "Past tense",
        "Give the simple past of English verbs, regular and irregular.",
        "Give the simple past tense of each English verb.",
        "Verb: {input}\nPast tense: {output}",
        _items(PAST_TENSE),
        source="builtin:past_tense",
    )


def _task_capitals() -> GenTask:
    return GenTask(
        "capitals",
        "Capital cities",
        "Name the capital city of a country.",
        "Name the capital city of each country.",
        "Country: {input}\nCapital: {output}",
        _items(CAPITALS),
        source="builtin:capitals",
    )


def _task_addition() -> GenTask:
    return GenTask(
        "addition",
        "Two-digit addition (with reasoning)",
        "Add two two-digit numbers, with digit-by-digit reasoning (chain of thought).",
        "Add the two numbers, digit by digit.",
        "Question: What is {input}?\nAnswer: {reasoning} So the answer is {output}.",
        _addition_items(),
        answer_pattern=r"(?i)answer is\s*(?P<answer>-?\d+)",
        source="builtin:addition",
    )


GEN_TASKS: dict[str, Callable[[], GenTask]] = {
    "en_fr": _task_en_fr,
    "past_tense": _task_past_tense,
    "capitals": _task_capitals,
    "addition": _task_addition,
}


def gen_task_names() -> list[str]:
    return list(get_args(GenTaskName))


def load_gen_task(name: str) -> GenTask:
    """A built-in task by name; unknown names raise `ConfigError` with the known names."""
    return lookup(GEN_TASKS, name, "generation task")()


def split_gen_task(task: GenTask, *, n_test: int | None = None, seed: int = 0) -> GenSplit:
    """Shuffles the items (seeded) into a demonstration pool and test items.

    Args:
        n_test: test items; None = half of the items (at least one item stays in the pool).
    """
    n = len(task.items)
    if n < 2:
        raise DataError(
            f"Task {task.name!r} has {n} item; at least 2 are needed (demonstrations and a query)."
        )
    n_test = n // 2 if n_test is None else n_test
    if not 1 <= n_test < n:
        raise ConfigError(f"The number of test items must be between 1 and {n - 1}, got {n_test}.")
    order = np.random.default_rng(seed).permutation(n)
    test = tuple(task.items[int(i)] for i in sorted(order[:n_test]))
    pool = tuple(task.items[int(i)] for i in sorted(order[n_test:]))
    return GenSplit(pool, test)


# --------------------------------------------------------------------------- uploads
UPLOAD_COLUMNS = ("input", "output")


def _missing(kind: UploadFormat, missing: Sequence[str], found: Sequence[str]) -> str:
    need = " and ".join(f"`{c}`" for c in missing)
    names = ", ".join(dict.fromkeys(column_key(c) for c in found if c.strip())) or "none"
    where = "The CSV header has" if kind == "CSV" else "The JSONL objects have"
    return (
        f"{where} no {need} column{'s' if len(missing) > 1 else ''}; columns found: {names}. "
        "A generation file needs an `input` and an `output` column (and optionally `reasoning`)."
    )


GENERATION_SCHEMA = UploadSchema(
    columns=UPLOAD_COLUMNS,
    example='{"input": "...", "output": "..."}',
    missing=_missing,
    detect_encoding=False,
)


def gen_items_to_jsonl(items: Sequence[GenItem]) -> str:
    """Items as JSONL ``{"input", "output"[, "reasoning"]}`` lines; reads back with `parse_gen_upload`."""
    with_reasoning = any(it.reasoning for it in items)
    lines = []
    for it in items:
        obj = {"input": it.input, "output": it.output}
        if with_reasoning:
            obj["reasoning"] = it.reasoning
        lines.append(json.dumps(obj, ensure_ascii=False) + "\n")
    return "".join(lines)


def gen_items_to_csv(items: Sequence[GenItem]) -> str:
    """Items as CSV with an ``input,output[,reasoning]`` header, every field quoted; reads back
    with `parse_gen_upload`."""
    with_reasoning = any(it.reasoning for it in items)
    out = io.StringIO(newline="")
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(["input", "output", "reasoning"] if with_reasoning else ["input", "output"])
    for it in items:
        writer.writerow([it.input, it.output, it.reasoning] if with_reasoning else [it.input, it.output])
    return out.getvalue()


def parse_gen_upload(
    data: bytes,
    filename: str,
    *,
    template: str = DEFAULT_TEMPLATE,
    instruction: str = "",
    max_bytes: int = 5_000_000,
    max_chars: int = 5_000,
) -> GenTask:
    """Parses a CSV or JSONL file with `input` and `output` columns (optional `reasoning`).

    The format comes from the extension (``.jsonl``/``.json`` = JSON Lines, else CSV; a
    delimiter other than a comma is taken from a header line without commas). Column names
    match case-insensitively; other columns are ignored.

    Raises:
        DataError: with a message for the user (missing columns, empty cells with their line
            numbers, malformed rows, wrong encoding, too large).
    """
    table = read_upload(data, filename, GENERATION_SCHEMA, max_bytes=max_bytes)
    base, kind = table.base, table.kind
    items: list[GenItem] = []
    empty_in: list[int] = []
    empty_out: list[int] = []
    too_long: list[int] = []
    for i, row in enumerate(table.rows):
        inp, out, reasoning = row.cell("input"), row.cell("output"), row.cell("reasoning")
        if not inp:
            empty_in.append(row.line)
        if not out:
            empty_out.append(row.line)
        if max(len(inp), len(out), len(reasoning)) > max_chars:
            too_long.append(row.line)
        items.append(GenItem(inp, out, reasoning, i))
    if empty_in:
        raise DataError(f"Empty `input` on {lines_text(empty_in)}; fill in or remove these rows.")
    if empty_out:
        raise DataError(f"Empty `output` on {lines_text(empty_out)}; fill in or remove these rows.")
    if too_long:
        raise DataError(f"Cells longer than {max_chars:,} characters on {lines_text(too_long)}.")
    if len(items) < 2:
        raise DataError("The file has one row; at least 2 are needed (a demonstration and a query).")
    has_reasoning = all(it.reasoning for it in items)
    stem = PurePath(base).stem or "upload"
    return GenTask(
        name=stem,
        title=base,
        description=f"Uploaded from {base}: {len(items)} rows, {kind}{', with reasoning' if has_reasoning else ''}.",
        instruction=instruction,
        template=template,
        items=tuple(items),
        answer_pattern=None,
        stop=("\n\n",),
        source=f"upload:{base}",
    )
