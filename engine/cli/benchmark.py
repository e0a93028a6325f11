"""`python -m engine benchmark`: StaICC's standard Normal protocol through the engine's scorer.

Last stdout line (one JSON object)::

    {"model": ..., "k": 4, "standard": true, "datasets": [{"dataset": "sst2", "staicc_name": ...,
     "n": 1024, "accuracy": ..., "accuracy_ci": [lo, hi], "macro_f1": ..., "macro_f1_ci": [lo, hi],
     "ece": ..., "ece_ci": [lo, hi], "seconds": ..., "stopped": false}, ...]}

``standard`` is false when ``--k`` is not 4 or ``--limit`` cuts the prompts (then the numbers are
not StaICC's standard protocol, only the same experiment objects). ``--csv PATH`` also writes one
row per data set.

Examples:
    python -m engine benchmark --model smollm2-135m --datasets sst2,trec --json
    python -m engine benchmark --datasets sst2 --limit 128 --json
"""

from __future__ import annotations

import argparse
import csv
import json
import sys

from engine.core.errors import ConfigError
from engine.experiments.benchmark import DEFAULT_RESAMPLES, STAICC_LOADERS, BenchmarkConfig, run_benchmark

HELP = "run StaICC's standard benchmark (k = 4, its demonstrations, test sets and metrics) with intervals"

CSV_FIELDS = ("dataset", "staicc_name", "n", "accuracy", "accuracy_lo", "accuracy_hi", "macro_f1",
              "macro_f1_lo", "macro_f1_hi", "ece", "ece_lo", "ece_hi", "seconds", "stopped")  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", default="smollm2-135m", help="registry name, local dir, .gguf or cached HF id"
    )
    parser.add_argument(
        "--datasets",
        default=",".join(STAICC_LOADERS),
        help=f"comma-separated, of: {', '.join(STAICC_LOADERS)}",
    )
    parser.add_argument("--k", type=int, default=4, help="demonstrations per prompt (StaICC's standard: 4)")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N prompts per data set")
    parser.add_argument("--resamples", type=int, default=DEFAULT_RESAMPLES, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    parser.add_argument("--csv", default=None, help="also write one CSV row per data set to this path")
    parser.add_argument("--json", action="store_true", help="print the JSON line only")


def _progress(frac: float, msg: str) -> None:
    print(f"[{frac:5.1%}] {msg}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from engine.model.registry import load_runner

    names = tuple(d.strip() for d in str(args.datasets).split(",") if d.strip())
    config = BenchmarkConfig(
        datasets=names, k=args.k, limit=args.limit, resamples=args.resamples, seed=args.seed
    )
    runner = load_runner(args.model, device=args.device, progress=_progress)
    result = run_benchmark(runner, config, progress=_progress)
    rows = [r.as_json() for r in result.results]
    if args.csv:
        try:
            with open(args.csv, "w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(CSV_FIELDS)
                for r in rows:
                    acc, f1, ece = r["accuracy_ci"], r["macro_f1_ci"], r["ece_ci"]
                    w.writerow([r["dataset"], r["staicc_name"], r["n"], r["accuracy"], acc[0], acc[1], r["macro_f1"],
                                f1[0], f1[1], r["ece"], ece[0], ece[1], r["seconds"], r["stopped"]])  # fmt: skip
        except OSError as exc:
            raise ConfigError(f"Could not write {args.csv}: {exc.strerror}.") from None
    if not args.json:
        std = (
            "StaICC standard protocol"
            if config.standard
            else "NOT the standard protocol (k or --limit changed)"
        )
        print(f"{result.model}, k = {config.k}: {std}")
        for r in rows:
            lo, hi = r["accuracy_ci"]
            print(
                f"  {r['dataset']:<22} n = {r['n']:>5}  accuracy {r['accuracy']:.3f} [{lo:.3f}, {hi:.3f}]"
                f"  macro-F1 {r['macro_f1']:.3f}  ECE {r['ece']:.3f}  ({r['seconds']:.1f} s)"
            )
    print(json.dumps({"model": result.model, "k": config.k, "standard": config.standard, "datasets": rows}))
    return 0
