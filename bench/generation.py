"""Generation speed: greedy tokens/s of the default model with the KV-cached decoder.

Measures, on a 4-shot English -> French prompt (EOS ignored, so every run makes N tokens):

* greedy tokens/s of `engine.generation.decoders` (HFStepModel: prefill once, then one token per step),
  and the time to the first streamed token;
* the same with transformers' own `model.generate(do_sample=False)` (same model, same tokens),
  as a reference: the ratio says what our Python loop, per-token top-k alternatives and
  streaming detokenization cost;
* greedy without a KV cache (a full forward pass per token), the ratio says what the cache buys;
* with ``--all``, beam (4), sampling and contrastive decoding too.

    python bench/generation.py [--model smollm2-135m] [--new-tokens 32] [--repeats 3] [--all]

The last stdout line is a JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch

from engine.generation.decoders import DecodeConfig, FunctionStepModel, GenerationStream, HFStepModel
from engine.model.hf_runner import HFRunner
from engine.model.registry import load_runner
from engine.prompting.cot import GenDemo, GenFormat, build_gen_prompt


def bench_prompt() -> str:
    fmt = GenFormat(
        template="English: {input}\nFrench: {output}", instruction="Translate each English word into French."
    )
    demos = [
        GenDemo("house", "maison"),
        GenDemo("cat", "chat"),
        GenDemo("water", "eau"),
        GenDemo("book", "livre"),
    ]
    return build_gen_prompt(fmt, demos, "tree").text


def time_stream(model: object, prompt: str, cfg: DecodeConfig) -> tuple[float, float, int]:
    """(seconds, seconds to the first token, tokens) of one streamed generation."""
    t0 = time.perf_counter()
    stream = GenerationStream(model, prompt, cfg)  # type: ignore[arg-type]
    first = None
    n = 0
    for _tok in stream:
        n += 1
        if first is None:
            first = time.perf_counter() - t0
    res = stream.result()
    return time.perf_counter() - t0, first or 0.0, len(res.tokens) or n


def time_hf_generate(runner: HFRunner, prompt: str, n: int) -> tuple[float, list[int]]:
    ids = runner.tokenizer(prompt, return_tensors="pt")["input_ids"].to(runner.device)
    t0 = time.perf_counter()
    with runner.lock, torch.inference_mode():
        out = runner.model.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            do_sample=False,
            num_beams=1,
            max_new_tokens=n,
            min_new_tokens=n,
            pad_token_id=runner.tokenizer.eos_token_id,
        )
    if runner.device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0, out[0, ids.shape[1] :].tolist()


def no_cache_model(runner: HFRunner) -> FunctionStepModel:
    def logits(prefix: Sequence[int]) -> np.ndarray:
        with runner.lock, torch.inference_mode():
            out = runner.model(input_ids=torch.tensor([list(prefix)], device=runner.device), use_cache=False)
        return out.logits[0, -1].double().cpu().numpy()

    step = HFStepModel(runner)
    return FunctionStepModel(
        [""] * step.d_vocab,
        logits,
        encode=step.encode_prompt,
        decode=step.decode,
        eos_ids=sorted(step.eos_ids),
        n_ctx=step.n_ctx,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--device", default=None)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--all", action="store_true", help="also time beam, sample and contrastive")
    parser.add_argument("--skip-no-cache", action="store_true")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    runner = load_runner(args.model, device=args.device)
    model = HFStepModel(runner)
    prompt = bench_prompt()
    n = args.new_tokens
    print(
        f"model {args.model} on {runner.device} ({torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs); "
        f"prompt {len(runner.encode(prompt))} tokens; {n} new tokens; best and median of {args.repeats}"
    )
    greedy = DecodeConfig(max_new_tokens=n, stop_at_eos=False)
    time_stream(model, prompt, DecodeConfig(max_new_tokens=4, stop_at_eos=False))  # warm-up

    cpu0 = time.process_time()
    ours = [time_stream(model, prompt, greedy) for _ in range(args.repeats)]
    cpu_per_token = (time.process_time() - cpu0) / sum(k for _s, _f, k in ours)
    ours_tps = [k / s for s, _f, k in ours]
    first = statistics.median(f for _s, f, _k in ours)
    hf = [time_hf_generate(runner, prompt, n) for _ in range(args.repeats)]
    hf_tps = [n / s for s, _ids in hf]
    res_ids = [t.id for t in GenerationStream(model, prompt, greedy).result().tokens]
    same = res_ids == hf[0][1]

    figures: dict[str, float | bool | str] = {
        "model": args.model,
        "device": runner.device,
        "greedy_tokens_per_s": max(ours_tps),
        "greedy_tokens_per_s_median": statistics.median(ours_tps),
        "first_token_s": first,
        "greedy_cpu_ms_per_token": cpu_per_token * 1000,
        "hf_generate_tokens_per_s": max(hf_tps),
        "ratio_vs_hf_generate": max(ours_tps) / max(hf_tps),
        "same_tokens_as_hf_generate": same,
    }
    print(
        f"greedy (KV cache, streamed):  {max(ours_tps):6.1f} tokens/s best, {statistics.median(ours_tps):6.1f} median; "
        f"first token after {first * 1000:.0f} ms; {cpu_per_token * 1000:.0f} ms of CPU time per token "
        "(all threads; less sensitive than wall time to other processes on a shared machine)"
    )
    print(
        f"transformers generate():      {max(hf_tps):6.1f} tokens/s best  -> ours / generate = "
        f"{figures['ratio_vs_hf_generate']:.2f}  (same tokens: {same})"
    )

    if not args.skip_no_cache:
        plain = no_cache_model(runner)
        nc = [time_stream(plain, prompt, greedy) for _ in range(max(1, args.repeats - 1))]
        nc_tps = max(k / s for s, _f, k in nc)
        figures["no_cache_tokens_per_s"] = nc_tps
        figures["kv_cache_speedup"] = max(ours_tps) / nc_tps
        print(
            f"greedy without KV cache:      {nc_tps:6.1f} tokens/s       -> KV cache speed-up {max(ours_tps) / nc_tps:.2f}x"
        )

    if args.all:
        for name, cfg in {
            "beam4": DecodeConfig(strategy="beam", num_beams=4, max_new_tokens=n, stop_at_eos=False),
            "sample": DecodeConfig(strategy="sample", top_p=0.9, max_new_tokens=n, stop_at_eos=False),
            "contrastive": DecodeConfig(strategy="contrastive", max_new_tokens=n, stop_at_eos=False),
        }.items():
            s, _f, k = min((time_stream(model, prompt, cfg) for _ in range(args.repeats)), key=lambda r: r[0])
            figures[f"{name}_tokens_per_s"] = k / s
            print(f"{name:12s}                  {k / s:6.1f} tokens/s")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
