"""`python -m engine <command> ...`: the engine's command line (stable contracts, see README)."""

from __future__ import annotations

import sys

from engine.cli import main

if __name__ == "__main__":
    sys.exit(main())
