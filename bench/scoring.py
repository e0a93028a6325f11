"""Scoring speed: the shared-prefix fast path against the plain way, on SST-2.

    python bench/scoring.py                     # k = 8, 200 test queries, default model, CPU
    python bench/scoring.py --n-test 20         # quick run

For each demonstration setting (one shared draw; a fresh draw per query) and each scorer
(direct, ppl, channel) it runs `engine.evaluation.run.evaluate` twice on the same prompts:

* fast: `HFRunner.score_spans` (shared prefixes once, single-token labels from one next-token
  distribution, vocabulary projection only where needed), span cache cleared first;
* plain: one full forward per query and label with the full vocabulary projection at every
  position, which is what OpenICL's inferencers do (batched by length, as OpenICL batches).

It prints wall times, their ratio, tokens through the model, tokens/s, and whether the
predictions are identical (and the largest score difference). Before that it measures the
model's raw forward throughput on this machine (batched full forwards of the same prompts), so
tokens/s of each path can be read against it. The last stdout line is one JSON object.

Targets (issue 3): >= 10x for direct and ppl with shared demonstrations, >= 1.8x with a fresh
draw per query, identical predictions.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

TARGETS = {
    ("shared", "direct"): 10.0,
    ("shared", "ppl"): 10.0,
    ("per-query", "direct"): 1.8,
    ("per-query", "ppl"): 1.8,
}


def raw_throughput(runner: Any, texts: list[str], seconds: float = 20.0) -> float:
    """Tokens/s of plain batched forward passes (logits at every position) over `texts`."""
    import torch

    seqs = [runner.encode(t) for t in texts]
    batches = runner._batches([len(s) for s in seqs])
    runner.forward_logits([seqs[i] for i in batches[0][:2]])  # warm-up
    n_tokens = 0
    t0 = time.perf_counter()
    for idx in batches:
        with torch.inference_mode():
            runner.forward_logits([seqs[i] for i in idx])
        n_tokens += sum(len(seqs[i]) for i in idx)
        if time.perf_counter() - t0 > seconds:
            break
    return n_tokens / (time.perf_counter() - t0)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--dataset", default="sst2")
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--n-test", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scorers", default="direct,ppl,channel")
    parser.add_argument("--modes", default="shared,per-query")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--max-batch-tokens", type=int, default=None)
    args = parser.parse_args()

    import numpy as np
    import torch

    from engine.data.datasets import load_dataset, split_dataset
    from engine.evaluation.run import EvalConfig, draw_demos, evaluate, plan_queries
    from engine.model.registry import load_runner
    from engine.prompting.prompts import PromptFormat
    from engine.retrieval.retrievers import build_context
    from engine.scoring.scorers import ScoringConfig

    if args.threads:
        torch.set_num_threads(args.threads)
    runner = load_runner(args.model, device=args.device)
    if args.max_batch_tokens:
        runner.max_batch_tokens = args.max_batch_tokens
    ds = load_dataset(args.dataset)
    split = split_dataset(ds, n_test=args.n_test, seed=args.seed)
    fmt = PromptFormat(ds.template, ds.instruction)
    words = tuple(ds.label_word_map().items())
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"model {args.model} on {runner.device} ({torch.get_num_threads()} threads, load avg {load:.1f}); "
        f"{args.dataset}: {len(split.test)} test queries, k = {args.k}, {len(ds.label_names)} labels",
        flush=True,
    )

    probe_cfg = EvalConfig(fmt, words, k=args.k, demos="per-query", seed=args.seed)
    probe_queries = split.test[: min(32, len(split.test))]
    ctx = build_context(split.pool, retrieval="random")
    probe = plan_queries(
        runner, split.pool, probe_queries, draw_demos(ctx, probe_queries, probe_cfg), probe_cfg
    )
    raw = raw_throughput(runner, [p.texts[0].text for p in probe])
    print(
        f"raw forward throughput: {raw:,.0f} tokens/s (batched full forwards of k-shot prompts)", flush=True
    )

    header = f"{'demos':10} {'scorer':8} {'fast s':>8} {'plain s':>8} {'ratio':>6} {'fast tok':>9} {'plain tok':>10} {'fast tok/s':>10} {'plain tok/s':>11} {'same preds':>10} {'max |d|':>8}"
    print(header, flush=True)
    rows = []
    for mode in args.modes.split(","):
        for scorer in args.scorers.split(","):
            cfg = EvalConfig(fmt, words, k=args.k, scoring=ScoringConfig(scorer), demos=mode, seed=args.seed)
            runner.span_cache.clear()
            fast = evaluate(runner, split.pool, split.test, cfg)
            plain = evaluate(runner, split.pool, split.test, cfg, fast=False)
            same = [q.pred for q in fast.queries] == [q.pred for q in plain.queries]
            diff = max(
                abs(a.score - b.score)
                for qa, qb in zip(fast.queries, plain.queries, strict=True)
                for a, b in zip(qa.label_scores, qb.label_scores, strict=True)
            )
            row = {
                "demos": mode,
                "scorer": scorer,
                "fast_s": round(fast.seconds, 2),
                "plain_s": round(plain.seconds, 2),
                "ratio": round(plain.seconds / fast.seconds, 2),
                "fast_tokens": fast.tokens_processed,
                "plain_tokens": plain.tokens_processed,
                "fast_tok_s": round(fast.tokens_processed / fast.seconds),
                "plain_tok_s": round(plain.tokens_processed / plain.seconds),
                "same_predictions": same,
                "max_score_diff": float(diff),
                "accuracy": fast.metrics.accuracy,
                "target": TARGETS.get((mode, scorer)),
            }
            rows.append(row)
            print(
                f"{mode:10} {scorer:8} {row['fast_s']:8.1f} {row['plain_s']:8.1f} {row['ratio']:5.1f}x "
                f"{row['fast_tokens']:9d} {row['plain_tokens']:10d} {row['fast_tok_s']:10,d} {row['plain_tok_s']:11,d} "
                f"{same!s:>10} {diff:8.1e}",
                flush=True,
            )
    met = [r for r in rows if r["target"] is not None]
    ok = all(r["ratio"] >= r["target"] and r["same_predictions"] for r in met)
    print(
        "targets (10x shared direct/ppl, 1.8x per-query direct/ppl, identical predictions): "
        + ("met" if ok else "NOT met"),
        flush=True,
    )
    print(
        json.dumps(
            {
                "raw_tok_s": round(raw),
                "n_test": len(split.test),
                "k": args.k,
                "load_avg": load,
                "rows": rows,
                "targets_met": ok,
                "accuracy_direct_shared": next(
                    (r["accuracy"] for r in rows if r["demos"] == "shared" and r["scorer"] == "direct"),
                    np.nan,
                ),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
