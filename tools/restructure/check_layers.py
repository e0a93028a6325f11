#!/usr/bin/env python3
"""Report engine/'s import graph against its layers: cycles, upward imports, UI imports.

Usage:  python check_layers.py REPO     (exit 1 when a cycle, upward or UI import is found)

The analysis lives in tests/unit/test_layers.py (the pytest module), so the report and the test
read the graph the same way. Layer order:
core < model < data, prompting < scoring, retrieval, generation, interp < evaluation < experiments < cli.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "unit"))

from test_layers import print_report


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    if not (root / "engine").is_dir():
        print(f"{root} has no engine/ folder", file=sys.stderr)
        return 2
    return 1 if print_report(root) else 0


if __name__ == "__main__":
    sys.exit(main())
