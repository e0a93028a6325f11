"""`python -m engine heads`: score every attention head; optionally run the ablation experiment.

Last stdout line (one JSON object): ``{"induction": [[...]], "prefix_matching": ..., "previous_token":
..., "duplicate_token": ..., "copying": ...}``, each shaped ``[n_layers][n_heads]``. With
``--ablate-top N`` it gains an ``"ablation"`` key: accuracy with no ablation, with the top-N heads
(by ``--by``) ablated and with N random other heads ablated, on ``--dataset`` with k
demonstrations per query.

Examples:
    python -m engine heads --model smollm2-135m --seed 0 --json
    python -m engine heads --model gemma3-270m --top 5
    python -m engine heads --ablate-top 5 --dataset sst2 --k 8 --n-queries 200
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from engine.interp.heads import HEAD_SCORE_NAMES, ProbeConfig, head_label, score_heads

HELP = "score every attention head (induction, prefix matching, previous/duplicate token, copying)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", default="smollm2-135m", help="registry name, local dir, .gguf or cached HF id"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the random probe sequences (and the control)"
    )
    parser.add_argument("--json", action="store_true", help="print the JSON line only")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (1 is faster on a heavily shared machine)",
    )
    parser.add_argument(
        "--seq-len", type=int, default=50, help="T of the induction probes (BOS + 2 x T tokens)"
    )
    parser.add_argument("--n-seqs", type=int, default=4, help="probe sequences per batch")
    parser.add_argument("--top", type=int, default=5, help="heads listed per score in the text output")
    parser.add_argument("--scores", default=",".join(HEAD_SCORE_NAMES), help="comma-separated score names")
    abl = parser.add_argument_group("ablation experiment")
    abl.add_argument("--ablate-top", type=int, default=0, help="ablate the top N heads (and N random heads)")
    abl.add_argument("--by", default="induction", help="score that ranks the heads to ablate")
    abl.add_argument("--mode", default="zero", choices=["zero", "mean"], help="ablation mode")
    abl.add_argument("--dataset", default="sst2", help="data set for the evaluation")
    abl.add_argument("--k", type=int, default=8, help="demonstrations per query")
    abl.add_argument("--n-queries", type=int, default=200, help="test queries")
    abl.add_argument("--scorer", default="direct", help="scorer (direct, ppl, channel)")


def _progress(frac: float, msg: str) -> None:
    print(f"[{frac:5.1%}] {msg}", file=sys.stderr, flush=True)


def _ablation(args: argparse.Namespace, runner: Any, scores: Any) -> dict[str, Any]:
    from engine.core.errors import lookup
    from engine.data.datasets import load_dataset, split_dataset
    from engine.evaluation.run import EvalConfig, label_words_from
    from engine.experiments.ablation import AblationConfig, ablation_experiment
    from engine.interp.ablation import top_vs_random
    from engine.prompting.prompts import PromptFormat
    from engine.scoring.scorers import ScoringConfig

    ranking = lookup(scores.scores, args.by, "head score")
    top, control = top_vs_random(ranking, args.ablate_top, score_name=args.by, seed=args.seed)
    ds = load_dataset(args.dataset)
    split = split_dataset(ds, n_test=args.n_queries, seed=args.seed)
    cfg = EvalConfig(
        fmt=PromptFormat(template=ds.template, instruction=ds.instruction),
        label_words=label_words_from(ds.label_names, ds.label_word_map()),
        k=args.k,
        scoring=ScoringConfig(scorer=args.scorer),
        seed=args.seed,
    )
    res = ablation_experiment(
        runner, split.pool, split.test, cfg, AblationConfig((top, control), args.mode), progress=_progress
    )
    rows = res.summary()
    if not args.json:
        print(
            f"\nAblation on {ds.title} (k={args.k}, {len(split.test)} queries, {args.scorer}, {args.mode}):"
        )
        for r in rows:
            print(
                f"  {r['condition']:24} acc {r['accuracy']:.3f} (drop {r['accuracy_drop']:+.3f})  "
                f"p(gold) {r['mean_true_prob']:.3f}  {r['heads']}"
            )
    return {
        "dataset": args.dataset,
        "k": args.k,
        "n_queries": len(split.test),
        "scorer": args.scorer,
        "mode": args.mode,
        "by": args.by,
        "conditions": rows,
        "seconds": res.baseline.seconds + sum(r.result.seconds for r in res.runs),
    }


def run(args: argparse.Namespace) -> int:
    from engine.model.registry import load_runner

    if args.threads is not None:
        import torch

        torch.set_num_threads(max(1, args.threads))
    names = [n.strip() for n in args.scores.split(",") if n.strip()]
    config = ProbeConfig(seq_len=args.seq_len, n_seqs=args.n_seqs, seed=args.seed)
    runner = load_runner(args.model, device=args.device, progress=_progress)
    res = score_heads(runner, names, config, progress=_progress)
    out: dict[str, Any] = res.to_json()
    if not args.json:
        print(f"{res.model}: {res.n_layers} layers x {res.n_heads} heads, scored in {res.seconds:.2f} s")
        for name in res.scores:
            tops = ", ".join(f"{head_label(*h)} {v:.3f}" for h, v in res.top(name, args.top))
            print(f"  {name:16} {tops}")
    if args.ablate_top > 0:
        if args.by not in res.scores:
            res = score_heads(runner, [*names, args.by], config)
        out["ablation"] = _ablation(args, runner, res)
    print(json.dumps(out))
    return 0
