"""Time to score every attention head of a model (induction, prefix matching, previous/duplicate
token, copying).

The fast path (`engine.interp.heads.score_heads`) runs the induction batch (4 x BOS + 2 x 50 random
tokens) and the prefix-matching batch (4 x BOS + 4 x 25) together in ONE batched forward pass
through the decoder only (no unembedding: only attention patterns are read), and computes the
copying score from the weights once per model. The naive way it is compared with runs each
sequence through the full causal LM on its own (logits included) and recomputes the copying
score every time.

    python bench/heads.py [--model smollm2-135m] [--repeats 3]

Target: under 3 s for the default model on a 2-core CPU (warm: copying score cached; the cold
figure includes computing it). The machine's load average is printed, since other processes
sharing the cores slow every figure down.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch

from engine.interp import heads
from engine.interp.heads import HEAD_SCORES, HeadProbe, ProbeBatch, ProbeConfig, collect_probes, score_heads
from engine.model.registry import load_runner

TARGET_S = 3.0


def naive(runner: heads.HFRunner, cfg: ProbeConfig) -> float:
    """Each probe sequence through the full causal LM alone; copying recomputed."""
    import numpy as np

    t0 = time.perf_counter()
    cands = heads.runner_candidates(runner)
    rng = np.random.default_rng(cfg.seed)
    bos = heads.bos_token_id(runner.tokenizer)
    batches = []
    for t, reps in ((cfg.seq_len, 2), (cfg.prefix_seq_len, cfg.prefix_repeats)):
        toks = heads.random_repeated_tokens(cands, cfg.n_seqs, t, reps, bos, rng)
        pats = []
        for row in toks:
            with runner.lock, torch.inference_mode():
                out = runner.model(input_ids=torch.as_tensor(row[None]), output_attentions=True)
            pats.append(torch.stack([a[0] for a in out.attentions]).numpy())
        batches.append(ProbeBatch(toks, np.stack(pats), t))
    probe = HeadProbe(batches[0], batches[1], runner)
    heads.clear_caches()
    for fn in HEAD_SCORES.values():
        fn(probe)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()

    runner = load_runner(args.model)
    cfg = ProbeConfig()
    print(
        f"model {args.model}: {runner.info.n_layers} layers x {runner.info.n_heads} heads, "
        f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f}"
    )
    score_heads(runner, config=ProbeConfig(seq_len=5, n_seqs=1, prefix_seq_len=5), use_cache=False)  # warm-up

    heads.clear_caches()
    t0 = time.perf_counter()
    score_heads(runner, config=cfg, use_cache=False)
    cold = time.perf_counter() - t0

    warm, warm_cpu, fwd, copy = [], [], [], []
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        score_heads(runner, config=cfg, use_cache=False)
        warm.append(time.perf_counter() - t0)
        warm_cpu.append(time.process_time() - c0)
        t0 = time.perf_counter()
        collect_probes(runner, cfg)
        fwd.append(time.perf_counter() - t0)
    for _ in range(args.repeats):
        heads.clear_caches()
        t0 = time.perf_counter()
        heads.copying_scores(runner)
        copy.append(time.perf_counter() - t0)
    t_warm = statistics.median(warm)
    print(f"score all heads, cold (copying computed): {cold:6.2f} s")
    print(f"score all heads, warm (copying cached):   {t_warm:6.2f} s   (median of {args.repeats})")
    print(f"  CPU time of that run (all threads):     {statistics.median(warm_cpu):6.2f} s")
    print(f"  of which the batched forward pass:      {statistics.median(fwd):6.2f} s")
    print(f"  copying score from weights (once/model): {statistics.median(copy):6.2f} s")
    if not args.skip_naive:
        t_naive = naive(runner, cfg)
        print(f"naive (one full-LM forward per sequence, copying recomputed): {t_naive:6.2f} s")
        print(f"speed-up warm vs naive: {t_naive / t_warm:5.1f}x   cold vs naive: {t_naive / cold:5.1f}x")
    verdict = "PASS" if t_warm < TARGET_S else "FAIL"
    print(f"target < {TARGET_S:.0f} s (warm): {verdict}   cold: {'PASS' if cold < TARGET_S else 'FAIL'}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
