"""Generation tasks: a small built-in set written for this project, plus user uploads.

Built-in tasks (each item checked by hand; the addition items are computed, with their
digit-by-digit reasoning, from a fixed list of pairs):

* ``en_fr``: English word -> French word (nouns without article, common adjectives).
* ``past_tense``: English verb -> simple past (regular and irregular).
* ``capitals``: country -> capital city.
* ``addition``: two-digit addition with chain-of-thought reasoning (Wei et al. 2022 format).

Uploads are CSV or JSONL files with ``input`` and ``output`` columns (and optionally
``reasoning``); problems are reported as `engine.data.datasets.DataError` with line numbers.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Literal, get_args

import numpy as np

from engine.core.errors import ConfigError, lookup
from engine.core.fingerprint import content_fingerprint
from engine.core.text_safety import SURROGATE_HINT, has_lone_surrogate
from engine.data.datasets import MAX_ROWS, DataError, normalise_label, split_jsonl_lines
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


EN_FR: tuple[tuple[str, str], ...] = (
    ("house", "maison"),
    ("cat", "chat"),
    ("dog", "chien"),
    ("water", "eau"),
    ("bread", "pain"),
    ("apple", "pomme"),
    ("book", "livre"),
    ("tree", "arbre"),
    ("sun", "soleil"),
    ("moon", "lune"),
    ("car", "voiture"),
    ("school", "école"),
    ("red", "rouge"),
    ("black", "noir"),
    ("cheese", "fromage"),
    ("milk", "lait"),
    ("hand", "main"),
    ("head", "tête"),
    ("sea", "mer"),
    ("window", "fenêtre"),
    ("door", "porte"),
    ("chair", "chaise"),
    ("bird", "oiseau"),
    ("flower", "fleur"),
    ("night", "nuit"),
    ("horse", "cheval"),
    ("king", "roi"),
    ("garden", "jardin"),
    ("bed", "lit"),
    ("egg", "œuf"),
    ("butter", "beurre"),
    ("wine", "vin"),
    ("mountain", "montagne"),
    ("hospital", "hôpital"),
)

PAST_TENSE: tuple[tuple[str, str], ...] = (
    ("go", "went"),
    ("eat", "ate"),
    ("see", "saw"),
    ("walk", "walked"),
    ("play", "played"),
    ("run", "ran"),
    ("write", "wrote"),
    ("take", "took"),
    ("give", "gave"),
    ("buy", "bought"),
    ("think", "thought"),
    ("bring", "brought"),
    ("swim", "swam"),
    ("sing", "sang"),
    ("drink", "drank"),
    ("begin", "began"),
    ("fly", "flew"),
    ("drive", "drove"),
    ("speak", "spoke"),
    ("break", "broke"),
    ("choose", "chose"),
    ("forget", "forgot"),
    ("catch", "caught"),
    ("teach", "taught"),
    ("sleep", "slept"),
    ("keep", "kept"),
    ("stop", "stopped"),
    ("cry", "cried"),
    ("try", "tried"),
    ("jump", "jumped"),
    ("dance", "danced"),
    ("cook", "cooked"),
)

CAPITALS: tuple[tuple[str, str], ...] = (
    ("France", "Paris"),
    ("Germany", "Berlin"),
    ("Italy", "Rome"),
    ("Spain", "Madrid"),
    ("Portugal", "Lisbon"),
    ("Japan", "Tokyo"),
    ("China", "Beijing"),
    ("Russia", "Moscow"),
    ("Egypt", "Cairo"),
    ("Canada", "Ottawa"),
    ("Australia", "Canberra"),
    ("Argentina", "Buenos Aires"),
    ("Kenya", "Nairobi"),
    ("Greece", "Athens"),
    ("Norway", "Oslo"),
    ("Sweden", "Stockholm"),
    ("Finland", "Helsinki"),
    ("Poland", "Warsaw"),
    ("Austria", "Vienna"),
    ("Ireland", "Dublin"),
    ("Belgium", "Brussels"),
    ("Turkey", "Ankara"),
    ("India", "New Delhi"),
    ("Thailand", "Bangkok"),
    ("Vietnam", "Hanoi"),
    ("South Korea", "Seoul"),
    ("Peru", "Lima"),
    ("Chile", "Santiago"),
    ("Cuba", "Havana"),
    ("Hungary", "Budapest"),
    ("Denmark", "Copenhagen"),
    ("Iran", "Tehran"),
    ("Morocco", "Rabat"),
    ("Nigeria", "Abuja"),
    ("Czech Republic", "Prague"),
)

ADDITION_PAIRS: tuple[tuple[int, int], ...] = (
    (23, 45),
    (37, 48),
    (56, 29),
    (14, 72),
    (68, 57),
    (91, 34),
    (45, 45),
    (19, 83),
    (62, 31),
    (77, 66),
    (38, 14),
    (50, 49),
    (26, 97),
    (83, 18),
    (44, 53),
    (65, 27),
    (12, 39),
    (99, 11),
    (71, 24),
    (58, 36),
    (33, 67),
    (87, 95),
    (40, 35),
    (16, 28),
    (74, 82),
    (29, 64),
    (52, 17),
    (95, 46),
    (61, 78),
    (47, 21),
)


def addition_reasoning(a: int, b: int) -> str:
    """Digit-by-digit reasoning for a + b (two-digit numbers), ending with the tens sum."""
    if not (10 <= a <= 99 and 10 <= b <= 99):
        raise ValueError(f"two-digit numbers expected, got {a} and {b}")
    ones = a % 10 + b % 10
    carry = ones // 10
    tens = a // 10 + b // 10 + carry
    if carry:
        ones_text = f"Ones: {a % 10} + {b % 10} = {ones}, write {ones % 10} and carry 1."
        tens_text = f"Tens: {a // 10} + {b // 10} + 1 = {tens}."
    else:
        ones_text = f"Ones: {a % 10} + {b % 10} = {ones}."
        tens_text = f"Tens: {a // 10} + {b // 10} = {tens}."
    return f"{ones_text} {tens_text}"


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
def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"The file is not UTF-8 text (byte {exc.start} cannot be decoded). Save it as CSV (UTF-8) or JSONL."
        ) from None


def _cell(value: Any, column: str, line: int) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        if has_lone_surrogate(value):
            raise DataError(f"Line {line}: `{column}` contains {SURROGATE_HINT}; fix or remove it.")
        return value.strip()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    raise DataError(
        f"Line {line}: `{column}` must be a string or a number, got a JSON {type(value).__name__}."
    )


def _too_many_rows() -> DataError:
    return DataError(f"The file has more than {MAX_ROWS:,} rows; upload at most {MAX_ROWS:,}.")


def _rows_csv(text: str, delimiter: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    rows: list[tuple[int, dict[str, Any]]] = []
    start = 1
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            if not record or all(not f.strip() for f in record):
                continue
            if header is None:
                header = [normalise_label(c).lower() for c in record]
                dup = sorted({c for c in header if c and header.count(c) > 1})
                if dup:
                    raise DataError(f"The CSV header has duplicate columns: {', '.join(dup)}.")
                _check_columns(header, "The CSV header")
                continue
            if len(record) != len(header):
                raise DataError(
                    f"Malformed CSV: line {line} has {len(record)} fields but the header has {len(header)}. "
                    "Put texts that contain the delimiter in double quotes."
                )
            if len(rows) >= MAX_ROWS:
                raise _too_many_rows()
            rows.append((line, dict(zip(header, record, strict=True))))
    except csv.Error as exc:
        raise DataError(f"Malformed CSV: the row starting on line {start}: {exc}.") from None
    if header is None:
        raise DataError(
            "The file has no header row; the first line must name the `input` and `output` columns."
        )
    return rows


def _check_columns(columns: Sequence[str], where: str) -> None:
    missing = [c for c in UPLOAD_COLUMNS if c not in columns]
    if missing:
        found = ", ".join(c for c in columns if c) or "none"
        need = " and ".join(f"`{c}`" for c in missing)
        raise DataError(
            f"{where} has no {need} column{'s' if len(missing) > 1 else ''}; columns found: {found}. "
            "A generation file needs an `input` and an `output` column (and optionally `reasoning`)."
        )


def _rows_jsonl(text: str) -> list[tuple[int, dict[str, Any]]]:
    rows: list[tuple[int, dict[str, Any]]] = []
    for line_no, line in enumerate(split_jsonl_lines(text), start=1):
        if not line.strip():
            continue
        if len(rows) >= MAX_ROWS:
            raise _too_many_rows()
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"Malformed JSONL: line {line_no} is not valid JSON ({exc.msg}, column {exc.colno})."
            ) from None
        except RecursionError:
            raise DataError(f"Malformed JSONL: line {line_no} is nested too deeply.") from None
        if not isinstance(obj, dict):
            raise DataError(
                f"Malformed JSONL: line {line_no} holds a JSON {type(obj).__name__}; each line must be an object "
                'like {"input": "...", "output": "..."}.'
            )
        if any(has_lone_surrogate(str(k)) for k in obj):
            raise DataError(f"Line {line_no}: a field name contains {SURROGATE_HINT}; fix or remove it.")
        rows.append((line_no, {normalise_label(str(k)).lower(): v for k, v in obj.items()}))
    if rows:
        keys = sorted({k for _, r in rows for k in r})
        _check_columns(keys, "The JSONL objects")
    return rows


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


def _line_list(lines: Sequence[int]) -> str:
    shown = ", ".join(str(n) for n in lines[:5])
    more = f" and {len(lines) - 5} more" if len(lines) > 5 else ""
    return f"line{'s' if len(lines) > 1 else ''} {shown}{more}"


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
    base = PurePath(filename).name or "upload"
    suffix = PurePath(base).suffix.lower()
    if suffix in {".xlsx", ".xls", ".ods", ".parquet"}:
        raise DataError(f"{suffix} files are not supported; export the data as CSV (UTF-8) or JSONL.")
    if len(data) > max_bytes:
        raise DataError(f"The file is {len(data) / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit.")
    text = _decode(data)
    if not text.strip():
        raise DataError("The file is empty.")
    content = text.lstrip()
    if suffix in {".jsonl", ".ndjson", ".json"} or (
        suffix not in {".csv", ".tsv"} and content.startswith("{")
    ):
        if content.startswith("["):
            raise DataError("The file is a JSON array; upload JSON Lines instead (one object per line).")
        rows, kind = _rows_jsonl(text), "JSONL"
    else:
        first = content.splitlines()[0]
        delimiter = "\t" if suffix == ".tsv" else ","
        if delimiter not in first:
            delimiter = next((d for d in ("\t", ";", "|") if d in first), delimiter)
        rows, kind = _rows_csv(text, delimiter), "CSV"
    if not rows:
        raise DataError(f"The {kind} file has no data rows.")
    items: list[GenItem] = []
    empty_in: list[int] = []
    empty_out: list[int] = []
    too_long: list[int] = []
    for i, (line, fields) in enumerate(rows):
        inp = _cell(fields.get("input"), "input", line)
        out = _cell(fields.get("output"), "output", line)
        reasoning = _cell(fields.get("reasoning"), "reasoning", line)
        if not inp:
            empty_in.append(line)
        if not out:
            empty_out.append(line)
        if max(len(inp), len(out), len(reasoning)) > max_chars:
            too_long.append(line)
        items.append(GenItem(inp, out, reasoning, i))
    if empty_in:
        raise DataError(f"Empty `input` on {_line_list(empty_in)}; fill in or remove these rows.")
    if empty_out:
        raise DataError(f"Empty `output` on {_line_list(empty_out)}; fill in or remove these rows.")
    if too_long:
        raise DataError(f"Cells longer than {max_chars:,} characters on {_line_list(too_long)}.")
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
