"""Classification uploads: a CSV or JSONL file with ``text`` and ``label`` columns becomes a `Dataset`.

The file is read by the shared reader (`engine.data.uploads.read_upload`); this module adds what a
classification task needs: non-empty texts and labels, a cap on text length and on distinct labels, the
labels checked against given label names, at least two labels. `dataset_to_jsonl` and `dataset_to_csv`
write the app's downloads, which read back here unchanged.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import PurePath

from engine.core.errors import DataError
from engine.data.types import Dataset, Example, listing, unique_in_order
from engine.data.uploads import (
    MAX_ROWS,
    MAX_UPLOAD_BYTES,
    UploadFormat,
    UploadRow,
    UploadSchema,
    lines_text,
    normalise_label,
    read_upload,
)

UPLOAD_TEMPLATE = "Input: {text}\nLabel: {label}"
MAX_LABELS = 50  # distinct labels of a classification upload


def _missing(kind: UploadFormat, missing: Sequence[str], found: Sequence[str]) -> str:
    need = " and ".join(f"`{c}`" for c in missing)
    s = "s" if len(missing) > 1 else ""
    if kind == "CSV":
        return (
            f"The CSV header has no {need} column{s}; columns found: {listing(found) or 'none'}. "
            "The file needs a `text` and a `label` column."
        )
    return (
        f"The JSONL objects have no {need} field{s}; fields found: {listing(found) or 'none'}. "
        "Each line needs a `text` and a `label` field."
    )


CLASSIFICATION_SCHEMA = UploadSchema(
    columns=("text", "label"), example='{"text": "...", "label": "..."}', missing=_missing
)


def parse_user_data(
    data: bytes,
    filename: str,
    *,
    label_names: Sequence[str] | None = None,
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_text_chars: int = 10_000,
    max_rows: int = MAX_ROWS,
    max_labels: int = MAX_LABELS,
    name: str | None = None,
) -> Dataset:
    """Parses an uploaded CSV or JSONL file with ``text`` and ``label`` columns into a data set.

    The format comes from the extension (``.csv``/``.tsv``, ``.jsonl``/``.ndjson``/``.json``), else from the
    content (a first character ``{`` means JSONL). Column names match case-insensitively; extra columns are
    ignored. Texts and labels are stripped. CSV delimiters other than a comma (tab, semicolon) are taken from
    the header line when it has no comma.

    Args:
        data: The file's bytes.
        filename: The file's name (used for the format, the source and the default name).
        label_names: Allowed labels, in order; if None, the labels found in order of first appearance.
        max_bytes: Largest accepted file size.
        max_text_chars: Longest accepted text, in characters.
        max_rows: Most data rows; the reader stops and refuses the file at the next one.
        max_labels: Most distinct labels (given or found).
        name: Name of the data set; defaults to the file name without extension.

    Returns:
        The data set, with label words equal to the label names, template ``"Input: {text}\\nLabel: {label}"``
        and no instruction.

    Raises:
        DataError: With a message for the user, for any problem with the file.
    """
    if label_names is not None:  # the arguments first: they are no fault of the file
        label_names = [normalise_label(str(x)) for x in label_names]
        if not label_names or any(not x for x in label_names):
            raise DataError("The label names must be non-empty strings.")
        if len(set(label_names)) != len(label_names):
            raise DataError(f"The label names contain duplicates: {label_names}.")
        if len(label_names) > max_labels:
            raise DataError(f"{len(label_names)} label names are too many; use at most {max_labels}.")
    table = read_upload(data, filename, CLASSIFICATION_SCHEMA, max_bytes=max_bytes, max_rows=max_rows)
    rows, note = table.rows, table.note
    try:
        texts = [r.cell("text") for r in rows]
        labels = [normalise_label(r.cell("label")) for r in rows]
        empty_text = [r.line for r, t in zip(rows, texts, strict=True) if not t]
        if empty_text:
            raise DataError(f"Empty text on {lines_text(empty_text)}; fill in or remove these rows.")
        empty_label = [r.line for r, lab in zip(rows, labels, strict=True) if not lab]
        if empty_label:
            raise DataError(f"Empty label on {lines_text(empty_label)}; fill in or remove these rows.")
        too_long = [r.line for r, t in zip(rows, texts, strict=True) if len(t) > max_text_chars]
        if too_long:
            raise DataError(
                f"Text longer than {max_text_chars:,} characters on {lines_text(too_long)}; shorten or remove these rows."
            )
        names = _label_names(rows, labels, label_names, max_labels)
    except DataError as exc:
        raise DataError(f"{exc}{note}") from None

    base = table.base
    stem = PurePath(base).stem or "upload"
    return Dataset(
        name=name or stem,
        title=name or base,
        description=f"Uploaded from {base}: {len(rows)} rows, {len(names)} labels, {table.kind}{note or ', UTF-8'}.",
        label_names=names,
        label_words=names,
        instruction="",
        template=UPLOAD_TEMPLATE,
        examples=tuple(
            Example(text=t, label=lab, id=i) for i, (t, lab) in enumerate(zip(texts, labels, strict=True))
        ),
        source=f"upload:{base}",
    )


def _label_names(
    rows: Sequence[UploadRow], labels: list[str], given: Sequence[str] | None, max_labels: int
) -> tuple[str, ...]:
    """The data set's label names: the given ones (every label must be one of them), else the labels
    found, in order of first appearance (at least two, at most `max_labels`)."""
    if given is not None:
        allowed = set(given)
        unknown = unique_in_order(lab for lab in labels if lab not in allowed)
        if unknown:
            where = [r.line for r, lab in zip(rows, labels, strict=True) if lab not in allowed]
            raise DataError(
                f"Labels not among the label names ({listing(list(given), 20)}): {listing(unknown)} "
                f"(on {lines_text(where)})."
            )
        return tuple(given)
    names = tuple(unique_in_order(labels))
    if len(names) > max_labels:
        raise DataError(
            f"The file has {len(names):,} distinct labels; a classification upload may have at most "
            f"{max_labels} (is the `label` column the right one?)."
        )
    if len(names) < 2:
        raise DataError(
            f"The file has only one label ({names[0]!r}); a classification task needs at least two."
        )
    return names


def dataset_to_jsonl(examples: Iterable[Example]) -> str:
    """Serialises examples as JSONL lines ``{"text": ..., "label": ...}`` (UTF-8 text, for download).

    The result reads back with :func:`parse_user_data` (which splits lines on ``"\n"`` only, so
    texts holding U+2028, U+2029 or U+0085, which JSON leaves unescaped, survive the round trip).
    """
    return "".join(
        json.dumps({"text": ex.text, "label": ex.label}, ensure_ascii=False) + "\n" for ex in examples
    )


def dataset_to_csv(examples: Iterable[Example]) -> str:
    """Serialises examples as CSV with a ``text,label`` header (UTF-8 text, for download).

    Every field is quoted, so commas, quotes and line breaks inside texts read back exactly
    with :func:`parse_user_data`.
    """
    out = io.StringIO(newline="")
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(["text", "label"])
    writer.writerows([ex.text, ex.label] for ex in examples)
    return out.getvalue()
