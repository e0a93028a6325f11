"""How long loading a model takes on this machine: measured, recorded, and said before it starts.

Issue 22: the first Gemma-3-270M load took 265 s while the spinner promised 15-60 s. A first
load of a bundled GGUF model converts its tokenizer from the GGUF file (most of the time: the
Python conversion of Gemma's 262k-token vocabulary), dequantises the weights and saves them as
safetensors; later loads read the saved weights in seconds. Every load writes its wall time to
``<cache>/load_times.json``; `expected_seconds` gives the median of the recent ones for that
model and kind, or, before any load on this machine, the figure measured on the project's
2-core development machine (`MEASURED_FIRST_LOAD_S`).
"""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path
from typing import Literal

LoadKind = Literal["first", "cached"]

# measured 2026-12-02 with a fresh ICL_CACHE_DIR on the 2-core development machine while other
# work ran beside it (load average 5-6): a first `load_runner(name)`, the figure that
# `python bench/cold_start.py --model <name>` prints as "without weight cache"
MEASURED_FIRST_LOAD_S: dict[str, float] = {"smollm2-135m": 66.0, "gemma3-270m": 177.0}
KEEP = 5  # recent loads kept per (model, kind)


def _file(cache: Path) -> Path:
    return cache / "load_times.json"


def _read(cache: Path) -> dict[str, list[float]]:
    try:
        data = json.loads(_file(cache).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    out: dict[str, list[float]] = {}
    for key, values in data.items():
        if isinstance(key, str) and isinstance(values, list):
            out[key] = [float(v) for v in values if isinstance(v, int | float) and v >= 0][-KEEP:]
    return out


def _key(name: str, kind: LoadKind) -> str:
    return f"{name}|{kind}"


def record_load(cache: Path, name: str, kind: LoadKind, seconds: float) -> None:
    """Adds one measured load to the record (best effort: an unwritable cache is ignored)."""
    data = _read(cache)
    data[_key(name, kind)] = [*data.get(_key(name, kind), []), round(float(seconds), 1)][-KEEP:]
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = _file(cache).with_name(f"load_times.json.tmp{os.getpid()}")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(_file(cache))
    except OSError:
        pass


def expected_seconds(cache: Path, name: str, kind: LoadKind) -> tuple[float, bool] | None:
    """(seconds, measured here) a load of `name` is expected to take, or None when unknown.

    The median of the loads recorded on this machine (measured here: True); else, for a first
    load of a bundled model, the development machine's figure (False).
    """
    recent = _read(cache).get(_key(name, kind), [])
    if recent:
        return statistics.median(recent), True
    if kind == "first" and name in MEASURED_FIRST_LOAD_S:
        return MEASURED_FIRST_LOAD_S[name], False
    return None
