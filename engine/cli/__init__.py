"""Command-line entry point: one module per sub-command under `engine.cli`.

Each module defines ``HELP: str``, ``add_arguments(parser) -> None`` and ``run(args) -> int``.
A sub-command prints progress on stderr and its machine-readable result as the *last* line of
stdout (one JSON value), so scripts can read ``stdout.splitlines()[-1]``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

MAX_SEED = 2**32 - 1  # seeds are passed to numpy / torch generators as unsigned 32-bit values

# name -> module; a new sub-command is one entry here plus its module.
COMMANDS: dict[str, str] = {
    "evaluate": "engine.cli.evaluate",
    "retrieve": "engine.cli.retrieve",
    "heads": "engine.cli.heads",
    "sensitivity": "engine.cli.sensitivity",
    "generate": "engine.cli.generate",
    "rank": "engine.cli.rank",
    "models": "engine.cli.models",
    "benchmark": "engine.cli.benchmark",
}


def _available() -> dict[str, object]:
    mods: dict[str, object] = {}
    for name, mod in COMMANDS.items():
        try:
            mods[name] = importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise
    return mods


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = argparse.ArgumentParser(prog="python -m engine", description="ICL Explorer engine")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, mod in _available().items():
        p = sub.add_parser(name, help=getattr(mod, "HELP", ""))
        mod.add_arguments(p)  # type: ignore[attr-defined]
        p.set_defaults(_run=mod.run)  # type: ignore[attr-defined]
    args = parser.parse_args(argv)
    seed = getattr(args, "seed", None)
    if isinstance(seed, int) and not 0 <= seed <= MAX_SEED:
        # numpy's generators take 0 .. 2**32 - 1 here; a bare ValueError would be a traceback
        print(f"error: --seed must be an integer from 0 to {MAX_SEED}, got {seed}.", file=sys.stderr)
        return 2
    try:
        return int(args._run(args))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # user-facing errors: one line, no traceback
        from engine.core.errors import USER_ERRORS

        if isinstance(exc, USER_ERRORS):
            print(f"error: {exc}", file=sys.stderr)
            return 2
        raise
