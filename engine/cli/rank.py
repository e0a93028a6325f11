"""`python -m engine rank`: rank candidate responses to an instruction by log P(R | I).

Contract (the last stdout line is one JSON object)::

    python -m engine rank --model M --instruction TEXT --good R1 R2 --bad R3 --tau 1.0 --json
    {"scores": {"R1": s1, "R2": s2, "R3": s3}, "contrastive_loss": L}

``s`` is the summed log-prob (``--score mean`` switches to the per-token mean). The chat
template is used when the model has one, unless ``--no-chat-template``. Without ``--json`` a
table is printed first.
"""

from __future__ import annotations

import argparse
import json

from engine.cli.common import add_device_argument, add_json_argument, add_model_argument, load_model
from engine.experiments.ranking import SCORE_KINDS, Candidate, RankConfig, rank_responses

HELP = "rank candidate responses to an instruction by log P(response | instruction), with a contrastive loss"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser)
    parser.add_argument("--instruction", required=True)
    parser.add_argument("--good", nargs="+", default=[], help="responses marked good")
    parser.add_argument("--bad", nargs="*", default=[], help="responses marked bad")
    parser.add_argument("--tau", type=float, default=1.0, help="temperature of the contrastive loss")
    parser.add_argument("--score", choices=SCORE_KINDS, default="sum", help="sum or per-token mean log-prob")
    parser.add_argument(
        "--demo",
        nargs=2,
        action="append",
        default=[],
        metavar=("INSTRUCTION", "RESPONSE"),
        help="a few-shot example put before the instruction (repeatable)",
    )
    chat = parser.add_mutually_exclusive_group()
    chat.add_argument(
        "--chat-template",
        dest="chat",
        action="store_true",
        default=None,
        help="use the model's chat template (default when it has one)",
    )
    chat.add_argument(
        "--no-chat-template", dest="chat", action="store_false", help="plain Instruction/Response layout"
    )
    add_json_argument(parser, "print only the JSON result on stdout")
    add_device_argument(parser, "cpu, cuda or auto (default)")


def run(args: argparse.Namespace) -> int:
    runner = load_model(args.model, args.device)
    use_chat = runner.info.has_chat_template if args.chat is None else bool(args.chat)
    cfg = RankConfig(
        instruction=args.instruction,
        candidates=tuple([Candidate(r, True) for r in args.good] + [Candidate(r, False) for r in args.bad]),
        demos=tuple((d[0], d[1]) for d in args.demo),
        use_chat_template=use_chat,
    )
    result = rank_responses(runner, cfg, score_kind=args.score, tau=args.tau)
    if not args.json:
        print(f"{'rank':>4}  {'mark':4}  {'sum':>9}  {'mean':>8}  response")
        for i in result.order:
            r = result.responses[i]
            print(
                f"{r.rank:>4}  {'good' if r.good else 'bad':4}  {r.logprob:9.3f}  {r.mean_logprob:8.3f}  {r.text}"
            )
        print(f"contrastive loss (tau={args.tau}, {args.score}): {result.contrastive_loss:.4f}")
    print(
        json.dumps(
            {
                "scores": {r.text: r.score(args.score) for r in result.responses},
                "contrastive_loss": result.contrastive_loss,
            },
            ensure_ascii=False,
        )
    )
    return 0
