#!/usr/bin/env python3
"""Prints the module map of engine/, components/ and pages/ (path, lines, first docstring line).

Usage:  python tools/module_map.py [REPO]   (docs/architecture.md embeds its output)
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def first_line(path: Path) -> str:
    try:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    except SyntaxError:
        return "(does not parse)"
    return (doc or "").strip().splitlines()[0] if doc else ""


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    for top in ("engine", "components", "pages"):
        for path in sorted((root / top).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            rel = path.relative_to(root).as_posix()
            n = sum(1 for _ in path.open(encoding="utf-8"))
            print(f"| `{rel}` | {n} | {first_line(path).replace('|', '/')} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
