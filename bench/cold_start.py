"""Cold start: wall time from a fresh Python process to the first scored prompt.

Runs a child process that imports the engine, loads the default model and scores one SST-2
4-shot prompt (both labels), twice: with an empty weight cache (the GGUF file is dequantised)
and with the cache warm (safetensors). Prints both figures and their ratio.

    python bench/cold_start.py [--model smollm2-135m] [--skip-cold]

Target: under 5 s with the cache on a 2-core laptop CPU. The default model starts on the lean
Llama path (`engine.model.lean_llama`: no transformers model class is imported before the first
score); the benchmark also prints the time with the transformers model loaded at once
(``ICL_LEAN=0``) for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, sys, time
t0 = float(sys.argv[1])
from engine.model.registry import load_runner
from engine.prompting.prompts import Demo, PromptFormat, build_prompt, label_continuation
from engine.model.hf_runner import ScoreRequest
t_import = time.time() - t0
runner = load_runner(sys.argv[2])
t_load = time.time() - t0
fmt = PromptFormat("Review: {text}\nSentiment: {label}")
demos = [Demo("a gorgeous film", "positive"), Demo("dull and slow", "negative"),
         Demo("funny and warm", "positive"), Demo("a mess", "negative")]
words = {"negative": "negative", "positive": "positive"}
prompt = build_prompt(fmt, demos, "a moving story", words)
runner.score([ScoreRequest(*label_continuation(prompt.text, w)) for w in words.values()])
print(json.dumps({"import_s": t_import, "load_s": t_load, "total_s": time.time() - t0,
                  "lean": not runner.model_loaded}))
"""


def run_child(model: str, cache: str, lean: bool = True) -> dict[str, float]:
    env = dict(os.environ, ICL_CACHE_DIR=cache, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env["ICL_LEAN"] = "1" if lean else "0"
    root = Path(__file__).resolve().parent.parent
    env["PYTHONPATH"] = str(root)
    t0 = time.time()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, repr(t0), model],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--skip-cold", action="store_true", help="only measure with the warm cache")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warm_cache = os.environ.get("ICL_CACHE_DIR") or str(Path.home() / ".cache" / "icl-explorer")
    cold = None
    if not args.skip_cold:
        with tempfile.TemporaryDirectory() as empty:
            cold = run_child(args.model, empty)
            print(
                f"without weight cache: {cold['total_s']:.2f} s to first scored prompt "
                f"(imports {cold['import_s']:.2f} s, model ready at {cold['load_s']:.2f} s)"
            )
    run_child(args.model, warm_cache)  # make sure the cache exists
    warm = [run_child(args.model, warm_cache) for _ in range(args.repeats)]
    best = min(warm, key=lambda r: r["total_s"])
    med = sorted(r["total_s"] for r in warm)[len(warm) // 2]
    print(
        f"with weight cache:    {best['total_s']:.2f} s best, {med:.2f} s median of {len(warm)} "
        f"(imports {best['import_s']:.2f} s, model ready at {best['load_s']:.2f} s)"
    )
    path = (
        "lean Llama path, no transformers model class imported" if best.get("lean") else "transformers model"
    )
    print(f"  (scored on the {path})")
    full = [run_child(args.model, warm_cache, lean=False) for _ in range(args.repeats)]
    full_best = min(r["total_s"] for r in full)
    print(
        f"with weight cache, transformers model loaded at once (ICL_LEAN=0): {full_best:.2f} s best; "
        f"the lean start is {full_best / best['total_s']:.2f}x faster"
    )
    if cold:
        print(f"speed-up from the cache: {cold['total_s'] / best['total_s']:.1f}x")
    print(f"target < 5 s with cache: {'met' if best['total_s'] < 5 else 'NOT met'}")


if __name__ == "__main__":
    main()
