"""The one CSV / JSONL upload reader, shared by classification uploads and generation-task uploads.

`read_upload` turns a file's bytes into rows of named cells, for any `UploadSchema` (the columns a kind
of upload needs and how its messages name them): it refuses spreadsheets and files over the byte cap
before decoding, decodes (UTF-8 with or without BOM, else, when the schema allows, the best-fitting
8-bit code page with Windows-1252 winning ties), takes the format from the extension or the content, the
CSV delimiter from the header line, stops at the row cap, and reports every problem as a `DataError`
whose message is meant for the user (line numbers, the columns found). Column names match after
`normalise_label` and case folding; extra columns are kept and ignored by the callers.

`engine.data.classification_upload.parse_user_data` (``text`` / ``label``) and
`engine.data.gen_tasks.parse_gen_upload` (``input`` / ``output`` / ``reasoning``) build on it, and the
app's downloads (`dataset_to_jsonl`, `dataset_to_csv`, `engine.data.gen_tasks.gen_items_to_jsonl`) read
back through it unchanged (issue 12: JSONL is split on ``"\\n"`` only).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Literal

from engine.core.errors import DataError
from engine.core.text_safety import SURROGATE_HINT, has_lone_surrogate
from engine.data.types import listing, unique_in_order

# Upload caps: a shared server parses every upload; these keep one file from taking seconds and
# gigabytes per rerun. The UI sets Streamlit's server.maxUploadSize from MAX_UPLOAD_BYTES.
MAX_UPLOAD_BYTES = 20_000_000  # checked before decoding
MAX_ROWS = 50_000  # data rows, counted while parsing: the reader stops at the cap

UploadFormat = Literal["CSV", "JSONL"]
UNSUPPORTED_SUFFIXES = frozenset({".xlsx", ".xls", ".ods", ".parquet"})


@dataclass(frozen=True, slots=True)
class UploadSchema:
    """What one kind of upload must hold, and how its messages say so.

    Attributes:
        columns: The required columns (normalised, lower case), e.g. ``("text", "label")``.
        example: One JSONL object shown in messages, e.g. ``'{"text": "...", "label": "..."}'``.
        missing: The message for required columns that are absent: called with the format, the
            missing columns and the column (CSV) or field (JSONL) names found, as written.
        detect_encoding: Whether a file that is not UTF-8 is decoded with the best-fitting
            code page (True) or refused (False).
    """

    columns: tuple[str, ...]
    example: str
    missing: Callable[[UploadFormat, Sequence[str], Sequence[str]], str]
    detect_encoding: bool = True


@dataclass(frozen=True, slots=True)
class UploadRow:
    """One data row: the 1-based line where it starts, and its cells by normalised column name."""

    line: int
    fields: dict[str, Any]

    def cell(self, column: str) -> str:
        """The stripped text of a cell ("" when absent); numbers and booleans as text.

        Raises:
            DataError: For a lone surrogate, or a JSON value that is not a string or number.
        """
        return cell_text(self.fields.get(column), column, self.line)


@dataclass(frozen=True, slots=True)
class UploadTable:
    """The rows of an upload, with what the callers say about the file.

    Attributes:
        base: The file's base name ("upload" when it has none).
        kind: ``"CSV"`` or ``"JSONL"``.
        rows: The data rows (never empty).
        note: ``" (file decoded as <encoding>)"`` for a file that was not UTF-8, else "".
    """

    base: str
    kind: UploadFormat
    rows: tuple[UploadRow, ...]
    note: str


def read_upload(
    data: bytes,
    filename: str,
    schema: UploadSchema,
    *,
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_rows: int = MAX_ROWS,
) -> UploadTable:
    """Reads an uploaded CSV or JSONL file into rows of cells.

    The format comes from the extension (``.csv``/``.tsv``, ``.jsonl``/``.ndjson``/``.json``), else from the
    content (a first character ``{`` means JSONL). CSV delimiters other than a comma (tab, semicolon, bar)
    are taken from the header line when it has no comma.

    Raises:
        DataError: With a message for the user (ending in the decoding note, if any).
    """
    base = PurePath(filename).name or "upload"
    suffix = PurePath(base).suffix.lower()
    if suffix in UNSUPPORTED_SUFFIXES:
        raise DataError(f"{suffix} files are not supported; export the data as CSV (UTF-8) or JSONL.")
    if len(data) > max_bytes:
        raise DataError(
            f"The file is {size_text(len(data))}, over the {size_text(max_bytes)} limit; upload a smaller sample."
        )
    text, encoding = decode(data, detect=schema.detect_encoding)
    note = "" if encoding in {"utf-8", "utf-8-sig", "ascii"} else f" (file decoded as {encoding})"
    if not text.strip():
        raise DataError("The file is empty.")
    try:
        content = text.lstrip()
        kind: UploadFormat
        if suffix in {".jsonl", ".ndjson", ".json"} or (
            suffix not in {".csv", ".tsv"} and content.startswith("{")
        ):
            if content.startswith("["):
                raise DataError(
                    "The file is a JSON array; upload JSON Lines instead (one object per line, "
                    f"like {schema.example})."
                )
            rows, kind = _parse_jsonl(text, schema, max_rows), "JSONL"
        else:
            first_line = content.splitlines()[0]
            delimiter = "\t" if suffix == ".tsv" else ","
            if delimiter not in first_line:
                delimiter = next((d for d in ("\t", ";", "|") if d in first_line), delimiter)
            rows, kind = _parse_csv(text, delimiter, schema, max_rows), "CSV"
        if not rows:
            raise DataError(f"The {kind} file has no data rows.")
    except DataError as exc:
        raise DataError(f"{exc}{note}") from None
    return UploadTable(base=base, kind=kind, rows=tuple(rows), note=note)


# --- text of messages and cells ------------------------------------------------------------------------------


def plural(n: int, word: str) -> str:
    """``"1 line"``, ``"2 lines"``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def size_text(n_bytes: int) -> str:
    """A file size for a message: bytes, kB or MB."""
    if n_bytes < 1_000:
        return plural(n_bytes, "byte")
    if n_bytes < 1_000_000:
        return f"{n_bytes / 1e3:.1f} kB"
    return f"{n_bytes / 1e6:.1f} MB"


def lines_text(lines: Sequence[int]) -> str:
    """``"line 2"`` or ``"lines 2, 4, ... and N more"``."""
    return f"{'line' if len(lines) == 1 else 'lines'} {listing(list(lines))}"


def cell_text(value: Any, column: str, line: int) -> str:
    """A cell as stripped text ("" for a missing or null one); see `UploadRow.cell`."""
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


def normalise_label(text: str) -> str:
    """A label or column name as compared: NFC, no format characters (Unicode Cf: zero-width
    spaces, joiners, BOMs, direction marks), no surrounding whitespace.

    Why: ``pos`` and ``pos\u200b``, or NFC and NFD ``café``, look the same to a user but would
    count as different labels (or a `text` column would not be found).
    """
    if any(unicodedata.category(ch) == "Cf" for ch in text):
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    # NFC after the removal (a removed character may have kept two composable ones apart), so that
    # normalising twice changes nothing
    return unicodedata.normalize("NFC", text).strip()


def column_key(name: str) -> str:
    """A column name as matched: `normalise_label`, lower case."""
    return normalise_label(name).lower()


def split_jsonl_lines(text: str) -> list[str]:
    """The lines of a JSONL text: split on ``"\n"`` only, a trailing ``"\r"`` dropped from each.

    Why not ``str.splitlines``: it also breaks at U+2028, U+2029, U+0085 and other characters that
    JSON writes unescaped inside strings, which cut an object in two.
    """
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


# --- decoding ------------------------------------------------------------------------------------------------


def decode(data: bytes, *, detect: bool = True) -> tuple[str, str]:
    """Decodes uploaded bytes; returns (text, encoding name).

    Args:
        detect: When the bytes are not UTF-8, try the best-fitting other encoding (True) or refuse
            the file (False).
    """
    if not detect:
        try:
            return data.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise DataError(
                f"The file is not UTF-8 text (byte {exc.start} cannot be decoded). Save it as CSV (UTF-8) or JSONL."
            ) from None
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError:
            pass
    else:
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    has_utf16_bom = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if b"\x00" in data and not has_utf16_bom:
        raise DataError(
            "The file looks binary (it contains NUL bytes), not like a CSV or JSONL text file. "
            "Export the data as CSV (UTF-8) or JSONL."
        )
    import charset_normalizer  # lazily: only needed for non-UTF-8 uploads

    matches = charset_normalizer.from_bytes(data)
    best = matches.best()
    if best is None:
        raise DataError(
            "The file could not be decoded: it is not UTF-8 and no other text encoding fits. "
            "Save it as UTF-8 and upload it again."
        )
    # On a small file several 8-bit code pages fit equally well and the detector picks the first
    # (cp1250: "naïve" -> "naďve"). Windows-1252 is by far the most common of them (Excel's CSV
    # export in Western Europe and the Americas), so it wins every tie.
    tied = [m for m in matches if m.chaos <= best.chaos and m.coherence >= best.coherence]
    for m in tied:
        if m.encoding == "cp1252":
            return str(m), "cp1252"
    return str(best), str(best.encoding)


# --- the two formats -----------------------------------------------------------------------------------------


def _too_many_rows(max_rows: int) -> DataError:
    return DataError(
        f"The file has more than {max_rows:,} rows; upload at most {max_rows:,} (a sample of the data)."
    )


def _check_header(columns: list[str], schema: UploadSchema) -> dict[str, int]:
    """Checks a CSV header for duplicates and the required columns; returns name -> position."""
    normalised = [column_key(c) for c in columns]
    duplicates = unique_in_order(c for i, c in enumerate(normalised) if c and c in normalised[:i])
    if duplicates:
        raise DataError(
            f"The CSV header has duplicate column names: {listing(duplicates)}. Rename or drop them."
        )
    missing = [c for c in schema.columns if c not in normalised]
    if missing:
        raise DataError(schema.missing("CSV", missing, [c for c in columns if c.strip()]))
    return {c: i for i, c in enumerate(normalised)}


def _parse_csv(text: str, delimiter: str, schema: UploadSchema, max_rows: int) -> list[UploadRow]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    header_line = 1
    positions: dict[str, int] = {}
    rows: list[UploadRow] = []
    start = 1
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            if not record or all(not f.strip() for f in record):
                continue  # blank line
            if header is None:
                header, header_line = record, line
                positions = _check_header(header, schema)
                continue
            if len(record) != len(header):
                hint = (
                    " Put texts that contain the delimiter in double quotes."
                    if len(record) > len(header)
                    else ""
                )
                raise DataError(
                    f"Malformed CSV: line {line} has {plural(len(record), 'field')} but the header "
                    f"(line {header_line}) has {len(header)}.{hint}"
                )
            if len(rows) >= max_rows:
                raise _too_many_rows(max_rows)
            rows.append(UploadRow(line=line, fields={k: record[i] for k, i in positions.items()}))
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise DataError(
                f"Malformed CSV: the row starting on line {start} has a field that is too long."
            ) from None
        raise DataError(f"Malformed CSV: the row starting on line {start}: {exc}.") from None
    if header is None:
        need = " and ".join(f"`{c}`" for c in schema.columns)
        raise DataError(f"The file has no header row; the first line must name the {need} columns.")
    return rows


def _parse_jsonl(text: str, schema: UploadSchema, max_rows: int) -> list[UploadRow]:
    rows: list[UploadRow] = []
    keys: dict[str, None] = {}

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        names = [k for k, _ in pairs]
        duplicates = unique_in_order(k for i, k in enumerate(names) if k in names[:i])
        if duplicates:
            raise DataError(f"duplicate keys {listing(duplicates)}")
        return dict(pairs)

    for line_no, line in enumerate(split_jsonl_lines(text), start=1):
        if not line.strip():
            continue
        if len(rows) >= max_rows:
            raise _too_many_rows(max_rows)
        try:
            obj = json.loads(line, object_pairs_hook=no_duplicates)
        except DataError as exc:
            raise DataError(f"Line {line_no} has {exc}; each key may appear once per object.") from None
        except json.JSONDecodeError as exc:
            raise DataError(
                f"Malformed JSONL: line {line_no} is not valid JSON ({exc.msg}, column {exc.colno})."
            ) from None
        except RecursionError:
            raise DataError(
                f"Malformed JSONL: line {line_no} is nested too deeply; each line must be a flat object "
                f"like {schema.example}."
            ) from None
        if not isinstance(obj, dict):
            raise DataError(
                f"Malformed JSONL: line {line_no} holds a JSON {type(obj).__name__}; each line must be an "
                f"object like {schema.example}."
            )
        if any(has_lone_surrogate(str(k)) for k in obj):
            raise DataError(f"Line {line_no}: a field name contains {SURROGATE_HINT}; fix or remove it.")
        fields = {column_key(str(k)): v for k, v in obj.items()}
        if len(fields) != len(obj):
            raise DataError(
                f"Line {line_no} has keys that differ only in case or spaces: {listing(list(obj))}."
            )
        keys.update(dict.fromkeys(obj))
        rows.append(UploadRow(line=line_no, fields=fields))
    if rows:
        present = {column_key(k) for k in keys}
        missing = [c for c in schema.columns if c not in present]
        if missing:
            raise DataError(schema.missing("JSONL", missing, list(keys)))
    return rows
