"""`python -m engine generate`: generate from a prompt with one decoding strategy.

Contract (the last stdout line is one JSON object)::

    python -m engine generate --model M --prompt TEXT --strategy greedy|beam|sample|contrastive \\
        --max-new-tokens N --seed S --json
    {"text": ..., "tokens": [...], "token_logprobs": [...], "seconds": ...}

Without ``--json`` the text is streamed to stdout as it is generated, then the JSON line follows.
Progress and notes go to stderr. ``seconds`` is the generation time (model loading excluded).
"""

from __future__ import annotations

import argparse
import json
import sys

from engine.cli.common import (
    add_device_argument,
    add_json_argument,
    add_model_argument,
    add_seed_argument,
    load_model,
)
from engine.generation.decoders import STRATEGIES, DecodeConfig, GenerationStream, HFStepModel

HELP = "generate text from a prompt with a decoding strategy (greedy, beam, sample, contrastive)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser)
    parser.add_argument("--prompt", required=True, help="the text to continue")
    parser.add_argument("--strategy", choices=STRATEGIES, default="greedy")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    add_seed_argument(parser, "sampler seed (sample)")
    add_json_argument(parser, "print only the JSON result on stdout")
    parser.add_argument(
        "--stop", action="append", default=[], help="stop sequence (repeatable); \\n is a newline"
    )
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--top-k", type=int, default=None)
    parser.add_argument("--top-p", type=float, default=None)
    parser.add_argument("--presence-penalty", type=float, default=0.0)
    parser.add_argument("--frequency-penalty", type=float, default=0.0)
    parser.add_argument("--num-beams", type=int, default=4)
    parser.add_argument("--length-penalty", type=float, default=1.0)
    parser.add_argument("--alpha", type=float, default=0.1, help="contrastive plausibility cut-off")
    parser.add_argument("--amateur-layer", type=int, default=None, help="early-exit layer of the amateur")
    parser.add_argument("--amateur-model", default=None, help="a smaller model sharing the tokenizer")
    parser.add_argument("--amateur-temperature", type=float, default=1.0)
    parser.add_argument("--no-eos", action="store_true", help="do not stop at the end-of-sequence token")
    add_device_argument(parser, "cpu, cuda or auto (default)")


def run(args: argparse.Namespace) -> int:
    cfg = DecodeConfig(
        strategy=args.strategy,
        max_new_tokens=args.max_new_tokens,
        stop=tuple(s.replace("\\n", "\n") for s in args.stop),
        seed=args.seed,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        presence_penalty=args.presence_penalty,
        frequency_penalty=args.frequency_penalty,
        num_beams=args.num_beams,
        length_penalty=args.length_penalty,
        alpha=args.alpha,
        amateur_layer=args.amateur_layer,
        amateur_temperature=args.amateur_temperature,
        stop_at_eos=not args.no_eos,
    )
    runner = load_model(args.model, args.device)
    amateur = load_model(args.amateur_model, args.device, quiet=True) if args.amateur_model else None
    stream = GenerationStream(HFStepModel(runner, amateur), args.prompt, cfg)
    for tok in stream:
        if not args.json:
            print(tok.delta, end="", flush=True)
    result = stream.result()
    if not args.json:
        print()
    print(
        f"{len(result.tokens)} tokens in {result.seconds:.2f} s ({result.tokens_per_second:.1f} tokens/s), "
        f"stopped by {result.stop_reason}",
        file=sys.stderr,
    )
    print(
        json.dumps(
            {
                "text": result.text,
                "tokens": list(result.token_strings),
                "token_logprobs": list(result.token_logprobs),
                "seconds": result.seconds,
            },
            ensure_ascii=False,
        )
    )
    return 0
