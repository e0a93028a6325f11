"""`python -m engine retrieve`: choose and order demonstrations for one query from a pool file.

    python -m engine retrieve --pool pool.jsonl --query "a gripping film" \\
        --retrieval topk --ordering similar_last --k 4 --seed 0 --json

Pool lines are ``{"text": ..., "label": ...}`` (CSV with the same columns works too). The last
stdout line is the chosen demonstrations in prompt order (first = farthest from the query):
``[{"pool_index", "text", "label", "similarity"}]`` where similarity is the cosine of the
MiniLM embeddings of the demonstration and the query. Model-based strategies (mdl, global_e,
local_e) load ``--model`` and render prompts with ``--template`` / ``--label-words``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.cli.common import (
    StepPrinter,
    add_device_argument,
    add_json_argument,
    add_model_argument,
    add_seed_argument,
    load_model,
)
from engine.core.errors import ConfigError

HELP = "choose and order demonstrations for one query (JSON on the last line)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from engine.retrieval.retrievers import OPTIONS, ORDERINGS, RETRIEVERS

    parser.add_argument("--pool", required=True, help="JSONL (or CSV) file with text and label per line")
    parser.add_argument("--query", required=True, help="the input to find demonstrations for")
    parser.add_argument("--retrieval", default="topk", help=f"one of: {', '.join(RETRIEVERS)}")
    parser.add_argument("--ordering", default="as_retrieved", help=f"one of: {', '.join(ORDERINGS)}")
    parser.add_argument("--k", type=int, default=4, help="number of demonstrations")
    add_seed_argument(parser)
    add_json_argument(parser)
    parser.add_argument("--fixed", default="", help="pool indices for --retrieval fixed, e.g. 0,3,5")
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=f"strategy option, repeatable; known: {', '.join(OPTIONS)}",
    )
    parser.add_argument("--mmr-lambda", type=float, default=None, help="shortcut for --option mmr_lambda=X")
    add_model_argument(parser, "model for mdl / global_e / local_e")
    add_device_argument(parser)
    parser.add_argument("--template", default=None, help="prompt template with {text} and {label}")
    parser.add_argument("--instruction", default="", help="text put before the demonstrations")
    parser.add_argument("--label-words", default="", help="label=word pairs, comma-separated")


def _parse_options(pairs: list[str], mmr_lambda: float | None) -> dict[str, float | int | str]:
    out: dict[str, float | int | str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--option expects NAME=VALUE, got {pair!r}.")
        out[name.strip()] = value.strip()
    if mmr_lambda is not None:
        out["mmr_lambda"] = mmr_lambda
    return out


def _parse_fixed(text: str) -> list[int]:
    try:
        return [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise ConfigError(f"--fixed expects comma-separated pool indices, got {text!r}.") from None


def run(args: argparse.Namespace) -> int:
    from engine.data.datasets import DataError, parse_user_data
    from engine.prompting.prompts import PromptFormat
    from engine.retrieval.retrievers import (
        NEEDS_MODEL,
        build_context,
        get_ordering,
        get_retriever,
        select_demos,
    )

    get_retriever(args.retrieval)
    get_ordering(args.ordering)
    if not args.query.strip():
        raise ConfigError("The query is empty.")
    path = Path(args.pool)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"Cannot read the pool file {path}: {exc.strerror or exc}.") from None
    ds = parse_user_data(data, path.name)
    pool = ds.examples
    words = ds.label_word_map()
    for pair in [p for p in args.label_words.split(",") if p.strip()]:
        name, sep, word = pair.partition("=")
        if not sep or name.strip() not in words:
            raise ConfigError(
                f"--label-words expects label=word with labels from: {', '.join(words)}; got {pair!r}."
            )
        words[name.strip()] = word.strip()
    fmt = PromptFormat(template=args.template or ds.template, instruction=args.instruction)

    runner = None
    if {args.retrieval, args.ordering} & NEEDS_MODEL:
        runner = load_model(args.model, args.device)

    ctx = build_context(
        pool,
        retrieval=args.retrieval,
        ordering=args.ordering,
        runner=runner,
        fmt=fmt,
        label_words=words,
        fixed=_parse_fixed(args.fixed),
        options=_parse_options(args.option, args.mmr_lambda),
        progress=StepPrinter(0.1),
        device=args.device,
        need_index=True,  # similarities are always reported
    )
    chosen = select_demos(
        args.query, args.k, ctx, retrieval=args.retrieval, ordering=args.ordering, seed=args.seed
    )
    assert ctx.index is not None
    sims = ctx.index.similarities(args.query, chosen) if chosen else []
    rows = [
        {"pool_index": int(i), "text": pool[i].text, "label": pool[i].label, "similarity": round(float(s), 6)}
        for i, s in zip(chosen, sims, strict=True)
    ]
    if not args.json:
        print(
            f"{len(rows)} demonstrations ({args.retrieval}, {args.ordering}), farthest from the query first:"
        )
        for pos, r in enumerate(rows):
            text = str(r["text"])
            print(f"{pos + 1:3}. #{r['pool_index']:<6} {r['similarity']:+.3f} [{r['label']}] {text[:90]}")
    print(json.dumps(rows, ensure_ascii=False))
    return 0
