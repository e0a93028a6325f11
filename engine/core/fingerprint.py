"""Content fingerprints: the key of every cache that holds data a user can supply.

A cache keyed by a name hands one user's data to another who used the same name (every pasted
CSV is called ``pasted.csv``). Keys built here depend on the content only: two objects share a
fingerprint exactly when everything that determines a result from them is equal.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def content_fingerprint(parts: Iterable[Any]) -> str:
    """sha256 (hex) of `parts` in a canonical JSON encoding.

    Each part must be JSON-serialisable (str, numbers, bools, None, lists, tuples, dicts with
    str keys). ``ensure_ascii`` escapes every non-ASCII character, lone surrogates included, so
    any Python string hashes without an encoding error. Parts are written one per line, so
    ``("ab", "c")`` and ``("a", "bc")`` differ.
    """
    h = hashlib.sha256()
    for part in parts:
        h.update(json.dumps(part, ensure_ascii=True, sort_keys=True).encode("ascii"))
        h.update(b"\n")
    return h.hexdigest()


def bytes_fingerprint(data: bytes) -> str:
    """sha256 (hex) of raw bytes (an uploaded file, before parsing)."""
    return hashlib.sha256(data).hexdigest()


def path_stamp(path: str) -> str:
    """A cheap stamp of a model's weights on disk: size and mtime of the file, or of each
    ``config.json`` / ``*.safetensors`` / ``*.gguf`` in a directory ("" when it cannot be read).

    Keys the model cache and every result cache by what the weights are now, not by the name a
    user typed: a directory overwritten with other weights under the same path gets new keys.
    Hashing gigabytes of weights on every rerun is not affordable; size + mtime_ns changes with
    every rewrite.
    """
    p = Path(path)
    try:
        if p.is_file():
            files = [p]
        elif p.is_dir():
            files = sorted(
                f for f in p.iterdir() if f.name == "config.json" or f.suffix in (".safetensors", ".gguf")
            )
        else:
            return ""
        return ";".join(f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files)
    except OSError:
        return ""
