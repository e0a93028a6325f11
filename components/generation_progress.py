"""The count, rate and time left of a generation or evaluation under way, and the notes on a
stopped one (issue 22, long work), in the UI language."""

from __future__ import annotations

import math
from typing import Any

from components.i18n import t
from components.run_control import duration_text
from engine.core.progress import eta_seconds
from engine.generation.config import GenerationResult
from engine.generation.metrics import GenEvalResult


def _rate(tokens_per_second: float) -> str:
    return "–" if math.isnan(tokens_per_second) else f"{tokens_per_second:.1f}"


def generation_progress(label: str, done: int, total: int, rate: float, elapsed: float) -> str:
    """ "A: greedy · 12 / at most 64 tokens · 8.1 tokens/s · about 7 s left at most".

    `done` counts the decoding steps of the whole run (every strategy), `total` the most it can
    make (a strategy may end sooner: EOS or a stop sequence), so the time left, at the pace so
    far (`elapsed` wall seconds for `done`), is an upper estimate. `rate` is the decoding rate
    of the strategy under way.
    """
    left = eta_seconds(done, total, elapsed)
    if left is None or done >= total:
        return t(
            "{label} · {done} / at most {total} tokens · {rate} tokens/s",
            label=label,
            done=done,
            total=total,
            rate=_rate(rate),
        )
    return t(
        "{label} · {done} / at most {total} tokens · {rate} tokens/s · about {left} left at most",
        label=label,
        done=done,
        total=total,
        rate=_rate(rate),
        left=duration_text(left),
    )


def eval_progress(done: int, total: int, item_tokens: int, rate: float, elapsed: float) -> str:
    """ "2 / 10 items · item 3: 14 tokens · 8.1 tokens/s · about 40 s left" (the time left once an
    item is done, at the pace of the items done: `elapsed` wall seconds for `done`)."""
    left = eta_seconds(done, total, elapsed)
    fields = {"done": done, "total": total, "item": done + 1, "tokens": item_tokens, "rate": _rate(rate)}
    if left is None or done >= total:
        return t("{done} / {total} items · item {item}: {tokens} tokens · {rate} tokens/s", **fields)
    return t(
        "{done} / {total} items · item {item}: {tokens} tokens · {rate} tokens/s · about {left} left",
        left=duration_text(left),
        **fields,
    )


def stopped_generation_text(last: dict[str, Any]) -> str:
    """The note on a stopped generation: tokens made of the most it could make, strategies finished."""
    results: dict[str, GenerationResult] = last["results"]
    done = sum(len(r.tokens) for r in results.values())
    finished = sum(not r.partial for r in results.values())
    return t(
        "Stopped after {done} of at most {total} tokens: partial result ({finished} of {n} strategies "
        "finished). The text shown is what was generated before Stop, and its metrics are over that text; "
        "press **Generate with both strategies** to run again.",
        done=done,
        total=last["max_total"],
        finished=finished,
        n=last["n_strategies"],
    )


def stopped_eval_text(result: GenEvalResult) -> str:
    return t(
        "Stopped after {done} of {total} items: partial result. The metrics are over the {done} items done; "
        "press **Evaluate** to run them all.",
        done=result.n_done,
        total=result.n_total,
    )


def stop_reason_titles() -> dict[str, str]:
    """Why a generation ended, in the UI language."""
    return {
        "eos": t("end of sequence"),
        "stop_sequence": t("stop sequence"),
        "max_new_tokens": t("max new tokens"),
        "context_full": t("full context"),
        "stopped": t("Stop (partial)"),
    }
