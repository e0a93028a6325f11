"""`python -m engine models`: list the registered models (JSON on the last line)."""

from __future__ import annotations

import argparse
import json

from engine.model.registry import MODELS

HELP = "list the registered models"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON only")


def run(args: argparse.Namespace) -> int:
    rows = [{"name": s.name, "title": s.title, "description": s.description} for s in MODELS.values()]
    if not args.json:
        for r in rows:
            print(f"{r['name']:16} {r['title']}: {r['description']}")
    print(json.dumps(rows))
    return 0
