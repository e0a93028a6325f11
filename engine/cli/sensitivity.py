"""`python -m engine sensitivity`: how fragile is a prompt? One experiment, its table as JSON.

    python -m engine sensitivity --experiment order --model smollm2-135m --dataset sst2 \\
        --scoring direct --k 4 --n 20 --n-test 200 --seed 0 --json

The last stdout line is ``{"experiment", "rows": [{"setting", "accuracy", "macro_f1", "n",
"seconds", "tokens", ...}], "summary", "n_test", "seconds", "tokens_processed", ...}`` with one
row per order (``order``), draw (``selection``), scorer and k (``kcurve``), label condition
(``labels``), word set (``label_words``) or format (``format``); see `engine.experiments.sensitivity`.

``--dataset`` is a registered benchmark or a CSV / JSONL file with ``text`` and ``label``
columns. The test set is the first ``--n-test`` examples of a seeded shuffle
(``--split-seed``); demonstrations come from the rest. ``--scoring`` takes a comma-separated
list for the k-curve (``direct,channel``). Templates and separators understand ``\\n``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from engine.cli.common import (
    StepPrinter,
    add_device_argument,
    add_json_argument,
    add_model_argument,
    load_model,
    unescape,
)
from engine.core.errors import ConfigError

if TYPE_CHECKING:
    from engine.data.datasets import Dataset

HELP = "order / selection / k-curve / labels / label-word / format sensitivity (JSON on the last line)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from engine.experiments.sensitivity import EXPERIMENTS
    from engine.scoring.scorers import CALIBRATIONS, SCORERS

    parser.add_argument("--experiment", required=True, help=f"one of: {', '.join(EXPERIMENTS)}")
    add_model_argument(parser, "registered model name, local path or cached HF id")
    parser.add_argument("--dataset", default="sst2", help="registered data set or a CSV / JSONL file")
    parser.add_argument(
        "--scoring", default="direct", help=f"one of: {', '.join(SCORERS)} (kcurve: comma-separated list)"
    )
    parser.add_argument("--calibration", default="none", help=f"one of: {', '.join(CALIBRATIONS)}")
    parser.add_argument(
        "--normalize", default="sum", choices=["sum", "mean"], help="label log-prob over tokens"
    )
    parser.add_argument("--k", type=int, default=4, help="demonstrations per prompt (kcurve: see --ks)")
    parser.add_argument(
        "--n",
        type=int,
        default=10,
        help="orders (order), draws (selection), seeded draws per setting (others)",
    )
    parser.add_argument("--n-test", type=int, default=100, help="test queries")
    parser.add_argument("--seed", type=int, default=0, help="seeds draws, orders and relabelling")
    parser.add_argument("--split-seed", type=int, default=0, help="seed of the pool / test split")
    parser.add_argument(
        "--draw",
        default="label_balanced",
        choices=["random", "label_balanced"],
        help="how demonstrations are drawn",
    )
    parser.add_argument("--ks", default="0,1,2,4,8,16,32", help="kcurve: k values, comma-separated")
    parser.add_argument("--template", default=None, help="base template with {text} and {label}")
    parser.add_argument("--instruction", default=None, help="base instruction (default: the data set's)")
    parser.add_argument("--separator", default="\\n\\n", help="between instruction, demonstrations and query")
    parser.add_argument(
        "--words",
        default="",
        help="base label words: label=word pairs or words in label order, comma-separated",
    )
    parser.add_argument(
        "--label-words",
        action="append",
        default=[],
        metavar="WORDS",
        help="label_words: one of your word sets (label=word pairs or words in label order); repeatable",
    )
    parser.add_argument(
        "--unrelated-words",
        default="",
        help="label_words: the unrelated set (default foo,bar,... in label order)",
    )
    parser.add_argument(
        "--templates",
        action="append",
        default=[],
        metavar="TEMPLATE",
        help="format: one of your templates; repeatable",
    )
    add_device_argument(parser)
    add_json_argument(parser)


def parse_words(text: str, labels: tuple[str, ...], *, base: dict[str, str] | None = None) -> tuple[str, ...]:
    """Label words in label order from ``a,b`` (label order) or ``label=word,...`` (with `base` filling gaps)."""
    items = [p.strip() for p in text.split(",") if p.strip()]
    if items and all("=" in p for p in items):
        words = dict(base or {})
        for pair in items:
            name, _, word = pair.partition("=")
            if name.strip() not in labels:
                raise ConfigError(f"Unknown label {name.strip()!r} in {text!r}; labels: {', '.join(labels)}.")
            words[name.strip()] = word.strip()
        missing = [lab for lab in labels if lab not in words]
        if missing:
            raise ConfigError(f"No word for {', '.join(map(repr, missing))} in {text!r}.")
        return tuple(words[lab] for lab in labels)
    if len(items) != len(labels):
        raise ConfigError(
            f"{text!r} has {len(items)} words for {len(labels)} labels ({', '.join(labels)}); give one word "
            "per label in label order, or label=word pairs."
        )
    return tuple(items)


def parse_ints(text: str, what: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.replace(" ", "").split(",") if x)
    except ValueError:
        raise ConfigError(f"{what} expects comma-separated whole numbers, got {text!r}.") from None


def load_data(name: str) -> Dataset:
    from engine.data.datasets import DATASETS, DataError, load_dataset, parse_user_data

    if name in DATASETS:
        return load_dataset(name)
    path = Path(name)
    if not path.exists():
        raise DataError(f"Unknown data set {name!r}: not a file, and not one of {', '.join(DATASETS)}.")
    try:
        return parse_user_data(path.read_bytes(), path.name)
    except OSError as exc:
        raise DataError(f"Cannot read {path}: {exc.strerror or exc}.") from None


def run(args: argparse.Namespace) -> int:
    from engine.core.errors import lookup
    from engine.data.datasets import split_dataset
    from engine.experiments.sensitivity import EXPERIMENTS, SensitivityConfig, run_experiment
    from engine.prompting.prompts import PromptFormat
    from engine.scoring.scorers import ScoringConfig

    lookup(EXPERIMENTS, args.experiment, "experiment")
    scorers = tuple(s.strip() for s in args.scoring.split(",") if s.strip())
    if not scorers:
        raise ConfigError("--scoring is empty.")
    if len(scorers) > 1 and args.experiment != "kcurve":
        raise ConfigError("Several scorers are compared in the kcurve experiment only; give one --scoring.")
    ds = load_data(args.dataset)
    labels = ds.label_names
    base_words = ds.label_word_map()
    words = parse_words(args.words, labels, base=base_words) if args.words.strip() else ds.label_words
    fmt = PromptFormat(
        template=unescape(args.template) if args.template else ds.template,
        instruction=unescape(args.instruction) if args.instruction is not None else ds.instruction,
        separator=unescape(args.separator),
    )
    cfg = SensitivityConfig(
        experiment=args.experiment,
        fmt=fmt,
        label_words=tuple(zip(labels, words, strict=True)),
        scoring=ScoringConfig(scorer=scorers[0], calibration=args.calibration, normalize=args.normalize),
        k=args.k,
        n=args.n,
        seed=args.seed,
        draw=args.draw,
        scorers=scorers if args.experiment == "kcurve" else (),
        ks=parse_ints(args.ks, "--ks"),
        alt_label_words=tuple(
            parse_words(w, labels, base=dict(zip(labels, words, strict=True))) for w in args.label_words
        ),
        unrelated_words=parse_words(args.unrelated_words, labels) if args.unrelated_words.strip() else None,
        templates=tuple(unescape(t) for t in args.templates),
    )
    split = split_dataset(ds, n_test=args.n_test, seed=args.split_seed)
    runner = load_model(args.model, args.device)
    result = run_experiment(runner, split.pool, split.test, cfg, progress=StepPrinter(0.05))
    if not args.json:
        print(f"{EXPERIMENTS[args.experiment].title} on {ds.title}, {result.n_test} test queries:")
        for row in result.rows:
            spread = f" ± {100 * row.accuracy_std:.1f}" if row.runs > 1 else ""
            print(f"  {row.setting:40} accuracy {row.accuracy:6.1%}{spread}  macro-F1 {row.macro_f1:6.1%}")
        print(result.summary)
        for note in result.notes:
            print(f"note: {note}")
        print(f"{result.tokens_processed:,} tokens through the model in {result.seconds:.1f} s.")
    print(json.dumps(result.to_json(), ensure_ascii=False))
    return 0
