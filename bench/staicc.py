"""StaICC's Normal protocol on one data set: the engine's scorer against a plain transformers forward.

Both score the same prompts (StaICC's own experiment objects build them) and the same label words;
StaICC's functions compute the metrics. The plain forward runs one full forward pass per prompt
and label (what StaICC's examples do); the engine shares each prompt's demonstrations between its
labels and batches prompts. Prints both accuracies (they must agree) and both times with the ratio.

Usage:  python bench/staicc.py [--dataset sst2] [--limit 256] [--model smollm2-135m]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch

from engine.experiments.benchmark import (
    STAICC_LOADERS,
    BenchmarkConfig,
    _safe_staicc,
    run_benchmark,
    staicc_prompts,
)
from engine.model.registry import load_runner


def plain_scores(runner: object, prompts: list[str], labels: list[str]) -> np.ndarray:
    """One full forward per prompt and label; summed log-probs of the label's tokens."""
    tok, model = runner.tokenizer, runner.model  # type: ignore[attr-defined]
    out = np.zeros((len(prompts), len(labels)))
    for i, prompt in enumerate(prompts):
        context = prompt.rstrip(" ")
        n_ctx = len(tok(context)["input_ids"])
        for j, label in enumerate(labels):
            full = tok(context + " " + label)["input_ids"]
            with torch.inference_mode():
                lp = torch.log_softmax(model(input_ids=torch.tensor([full])).logits[0].double(), dim=-1)
            out[i, j] = float(sum(lp[t - 1, full[t]] for t in range(n_ctx, len(full))))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="sst2", choices=list(STAICC_LOADERS))
    ap.add_argument("--limit", type=int, default=256)
    ap.add_argument("--model", default="smollm2-135m")
    args = ap.parse_args()
    runner = load_runner(args.model, device="cpu")
    runner.model  # noqa: B018  (the plain path needs the transformers model; load it before timing)
    t0 = time.perf_counter()
    res = run_benchmark(runner, BenchmarkConfig(datasets=(args.dataset,), limit=args.limit)).results[0]
    engine_s = time.perf_counter() - t0 - 0.0
    staicc = _safe_staicc()
    exp = staicc.Normal(
        k=4, datasets=[getattr(staicc.util.hgf_dataset_loader, STAICC_LOADERS[args.dataset])]
    )[0]
    prompts, gold = staicc_prompts(exp, args.limit)
    t1 = time.perf_counter()
    plain = plain_scores(runner, prompts, list(exp.get_label_space()))
    plain_s = time.perf_counter() - t1
    from StaICC.util import functional

    plain_acc = functional.accuracy(gold, plain.tolist())
    same = int((np.argmax(res.label_logprobs, axis=1) == np.argmax(plain, axis=1)).sum())
    lo, hi = res.accuracy_ci
    print(f"{args.dataset}, {res.n} prompts of StaICC's Normal protocol (k = 4), {args.model}")
    print(
        f"  engine : accuracy {res.accuracy:.4f} [{lo:.4f}, {hi:.4f}]  macro-F1 {res.macro_f1:.4f}  {engine_s:.1f} s"
    )
    print(f"  plain  : accuracy {plain_acc:.4f}                      {plain_s:.1f} s")
    print(
        f"  same prediction on {same} / {res.n} prompts; max |score difference| "
        f"{np.abs(np.array(res.label_logprobs) - plain).max():.2e}; plain / engine time {plain_s / engine_s:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
