"""What the sub-commands share: the default model, the common arguments, progress on stderr, the
model load with its note, and the ``\\n`` / ``\\t`` a shell user types.

Each command keeps its own help texts (they are part of its ``--help`` contract), so the helpers
take the help string; the defaults are the wording most commands use.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING, overload

from engine.model.registry import DEFAULT_MODEL as DEFAULT_MODEL  # re-exported: one default model

if TYPE_CHECKING:
    from engine.model.hf_runner import HFRunner

DEVICE_HELP = "cpu or cuda (default: cuda when present)"
MODEL_HELP = "registered name, local dir, .gguf or cached HF id"


def add_model_argument(parser: argparse.ArgumentParser, help: str = MODEL_HELP) -> None:
    """``--model``, defaulting to `DEFAULT_MODEL`."""
    parser.add_argument("--model", default=DEFAULT_MODEL, help=help)


def add_device_argument(parser: argparse.ArgumentParser, help: str = DEVICE_HELP) -> None:
    """``--device`` (None: the loader picks cuda when present)."""
    parser.add_argument("--device", default=None, help=help)


def add_seed_argument(parser: argparse.ArgumentParser, help: str | None = None) -> None:
    """``--seed`` (default 0); `engine.cli.main` checks its range for every command."""
    parser.add_argument("--seed", type=int, default=0, help=help)


def add_json_argument(parser: argparse.ArgumentParser, help: str = "print only the JSON line") -> None:
    """``--json``: only the machine-readable last line on stdout."""
    parser.add_argument("--json", action="store_true", help=help)


@overload
def unescape(text: str) -> str: ...
@overload
def unescape(text: None) -> None: ...
def unescape(text: str | None) -> str | None:
    """``\\n`` and ``\\t`` typed on a command line become real newlines and tabs (None stays None)."""
    if text is None:
        return None
    return text.replace("\\n", "\n").replace("\\t", "\t")


def load_model(name: str, device: str | None, *, quiet: bool = False) -> HFRunner:
    """Load `name` on `device`, saying so on stderr first (a first load can take a minute)."""
    from engine.model.registry import load_runner

    if not quiet:
        print(f"loading {name}...", file=sys.stderr, flush=True)
    return load_runner(name, device=device)


class StepPrinter:
    """A `ProgressFn` printing ``[ 40%] message`` lines on stderr, one each time the fraction done
    has grown by `step` since the last line, and always the last one (fraction 1)."""

    def __init__(self, step: float, digits: int = 0) -> None:
        self.step = step
        self.digits = digits
        self.last = -1.0

    def __call__(self, frac: float, msg: str) -> None:
        if frac - self.last >= self.step or frac >= 1.0:
            self.last = frac
            print(f"[{frac:5.{self.digits}%}] {msg}", file=sys.stderr, flush=True)


class ProgressBar:
    """A `ProgressFn` drawing a one-line progress bar on stderr (redrawn per 1 % of progress)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.t0 = time.perf_counter()
        self.last = -1.0

    def __call__(self, frac: float, msg: str) -> None:
        if self.quiet or (frac - self.last < 0.01 and frac < 1.0):
            return
        self.last = frac
        width = 30
        fill = round(frac * width)
        sys.stderr.write(
            f"\r[{'#' * fill}{'.' * (width - fill)}] {frac * 100:5.1f}% "
            f"{time.perf_counter() - self.t0:6.1f}s {msg[:40]:40}"
        )
        if frac >= 1.0:
            sys.stderr.write("\n")
        sys.stderr.flush()
