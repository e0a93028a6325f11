"""`python -m engine evaluate`: in-context classification over a test set (JSON on the last line).

    python -m engine evaluate --model smollm2-135m --dataset sst2 --k 4 --scoring direct \\
        --calibration none --n-test 200 --seed 0 --out results.jsonl

Last stdout line: {"accuracy", "macro_f1", "ece", "n_test", "seconds", "tokens_processed"}.
Each line of ``--out`` is one query: {"id", "text", "gold", "pred", "demo_ids", "scores":
{label: score}, "prompts": {label: exact full text scored}, "probs": {label: probability}};
gold and pred are label names. ``scores`` are the scorer's raw values (direct / channel:
log-prob, higher wins; ppl: mean token NLL, lower wins); ``pred`` and ``probs`` are after
calibration. ``demo_ids`` are the demonstrations' ids in prompt order: rows of the benchmark's
source table, or 0-based data rows of the ``--pool`` file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.cli.common import (
    ProgressBar,
    add_device_argument,
    add_model_argument,
    add_seed_argument,
    load_model,
    unescape,
)
from engine.core.errors import ConfigError
from engine.retrieval import retrievers as retrieval

HELP = "evaluate in-context classification (direct / ppl / channel scoring, calibration) on a test set"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from engine.scoring.scorers import CALIBRATIONS, SCORERS

    add_model_argument(parser, "registered model, local dir, .gguf or cached HF id")
    data = parser.add_argument_group("data (a benchmark, or your own pool and test files)")
    data.add_argument("--dataset", default=None, help="benchmark name (default sst2 unless --pool/--test)")
    data.add_argument("--pool", type=Path, default=None, help="JSONL/CSV with text,label: demonstrations")
    data.add_argument("--test", type=Path, default=None, help="JSONL/CSV with text,label: test queries")
    parser.add_argument("--k", type=int, default=4, help="demonstrations per prompt")
    parser.add_argument("--scoring", default="direct", choices=list(SCORERS))
    parser.add_argument("--calibration", default="none", choices=list(CALIBRATIONS))
    parser.add_argument(
        "--normalize", default="sum", choices=["sum", "mean"], help="direct/channel: sum or mean over tokens"
    )
    parser.add_argument("--n-test", type=int, default=200, help="test queries (first rows of --test)")
    add_seed_argument(parser)
    parser.add_argument("--out", type=Path, default=None, help="write one JSON line per query here")
    parser.add_argument("--demos", default="per-query", choices=["per-query", "shared"])
    parser.add_argument("--retrieval", default="random", choices=list(retrieval.RETRIEVERS))
    parser.add_argument("--ordering", default="as_retrieved", choices=list(retrieval.ORDERINGS))
    parser.add_argument(
        "--fixed",
        default="",
        help="for --retrieval fixed: comma-separated pool indices in prompt order (rows of --pool)",
    )
    parser.add_argument(
        "--instruction", default=None, help="instruction (default: the dataset's); \\n allowed"
    )
    parser.add_argument("--template", default=None, help="demo template with {text} and {label}; \\n allowed")
    parser.add_argument("--separator", default=None, help="between demonstrations (default \\n\\n)")
    parser.add_argument(
        "--label-words",
        default=None,
        help="label words: 'w1,w2,...' in label order, or 'name=word,name=word'",
    )
    parser.add_argument("--channel-template", default=None, help="channel template ({label} before {text})")
    add_device_argument(parser)
    parser.add_argument(
        "--plain", action="store_true", help="no prefix sharing (one forward per text), for comparison"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def parse_label_words(
    spec: str | None, names: tuple[str, ...], default: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    """--label-words: 'w1,w2' in label order or 'name=word,...' (names not given keep their default)."""
    from engine.evaluation.run import label_words_from

    if spec is None or not spec.strip():
        return tuple(zip(names, default, strict=True))
    items = [s.strip() for s in spec.split(",")]
    if all("=" in s for s in items):
        mapping = dict(zip(names, default, strict=True))
        for item in items:
            name, word = (x.strip() for x in item.split("=", 1))
            if name not in mapping:
                raise ConfigError(f"--label-words names unknown label {name!r}; labels: {', '.join(names)}.")
            mapping[name] = word
        return label_words_from(names, mapping)
    return label_words_from(names, items)


def parse_fixed(spec: str, n_pool: int) -> tuple[int, ...]:
    """--fixed '3,17,42' -> (3, 17, 42), each a valid pool index."""
    if not spec.strip():
        return ()
    try:
        out = tuple(int(x) for x in spec.split(",") if x.strip())
    except ValueError:
        raise ConfigError(f"--fixed must be comma-separated integers, got {spec!r}.") from None
    bad = [i for i in out if not 0 <= i < n_pool]
    if bad:
        raise ConfigError(f"--fixed indices {bad} are outside the pool (0..{n_pool - 1}).")
    return out


def run(args: argparse.Namespace) -> int:
    from engine.data.datasets import load_dataset, parse_user_data, split_dataset
    from engine.evaluation.run import EvalConfig, evaluate
    from engine.prompting.prompts import DEFAULT_SEPARATOR, PromptFormat
    from engine.scoring.scorers import ScoringConfig

    if args.n_test < 0:
        raise ConfigError(f"--n-test must be 0 or more, got {args.n_test}.")
    if (args.pool is None) != (args.test is None):
        raise ConfigError("Give both --pool and --test (your own data), or neither (a benchmark).")
    if args.pool is not None:
        if args.dataset is not None:
            raise ConfigError("Give either --dataset or --pool/--test, not both.")
        for path in (args.pool, args.test):
            if not path.is_file():
                raise ConfigError(f"File not found: {path}")
        pool_ds = parse_user_data(args.pool.read_bytes(), args.pool.name)
        test_ds = parse_user_data(args.test.read_bytes(), args.test.name, label_names=pool_ds.label_names)
        pool, test = pool_ds.examples, test_ds.examples[: args.n_test]
        ds = pool_ds
        if len(test) < args.n_test:
            print(f"note: {args.test} has {len(test)} rows; evaluating all of them.", file=sys.stderr)
    else:
        ds = load_dataset(args.dataset or "sst2")
        split = split_dataset(ds, n_test=args.n_test, seed=args.seed)
        pool, test = split.pool, split.test

    fmt = PromptFormat(
        template=unescape(args.template) if args.template else ds.template,
        instruction=ds.instruction if args.instruction is None else unescape(args.instruction),
        separator=DEFAULT_SEPARATOR if args.separator is None else unescape(args.separator),
    )
    cfg = EvalConfig(
        fmt=fmt,
        label_words=parse_label_words(args.label_words, ds.label_names, ds.label_words),
        k=args.k,
        scoring=ScoringConfig(
            args.scoring, args.calibration, args.normalize, unescape(args.channel_template)
        ),
        demos=args.demos,
        retrieval=args.retrieval,
        ordering=args.ordering,
        seed=args.seed,
        fixed=parse_fixed(args.fixed, len(pool)),
    )
    bar = ProgressBar(args.quiet)
    runner = load_model(args.model, args.device, quiet=args.quiet)
    result = evaluate(runner, pool, test, cfg, fast=not args.plain, progress=bar)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("w", encoding="utf-8") as fh:
            for q in result.queries:
                fh.write(json.dumps(q.to_json(), ensure_ascii=False) + "\n")
    print(json.dumps(result.summary()))
    return 0
