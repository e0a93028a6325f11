"""Direct-form texts: the prompt up to the label, with each label word filled in.

The ``direct`` scorer scores the label word after the prompt, ``ppl`` scores every token of the
same text (OpenICL's PPLInferencer), and contextual / domain calibration scores the label words
after the same prompt with a content-free input in the query slot; all three share the prompt
built here, which is fitted to the model's context with room for the longest label word::

    <instruction> SEP <demo 1> SEP ... SEP <query, template up to {label}> <label word>
    direct scores:                                                          ^^^^^^^^^^^^
    ppl scores:    every token but the first (nothing predicts it), label word included

The scorers are registered in `engine.scoring.scorers.SCORERS`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from engine.model.protocol import ModelRunner
from engine.prompting.prompts import (
    Demo,
    Prompt,
    PromptError,
    PromptFormat,
    build_prompt,
    label_continuation,
    render_query,
)
from engine.scoring.types import LabelText, PlanSettings, QueryPlan


def direct_prompt(
    runner: ModelRunner, fmt: PromptFormat, demos: Sequence[Demo], query: str, words: Mapping[str, str]
) -> Prompt:
    """The prompt up to the label, fitted to the context with room for the longest label word."""
    reserve = max(len(runner.encode(" " + w, add_special_tokens=False)) for w in words.values())
    return build_prompt(
        fmt,
        demos,
        query,
        words,
        count_tokens=lambda s: len(runner.encode(s)),
        max_tokens=runner.info.n_ctx,
        reserve_tokens=reserve,
    )


def label_texts(
    runner: ModelRunner, prompt_text: str, words: Mapping[str, str], *, whole: bool = False
) -> tuple[LabelText, ...]:
    """The prompt with each label word filled in, scored from the label on, or from the second
    token on (``whole``: ppl scores the whole sequence)."""
    out = []
    for name, word in words.items():
        context, continuation = label_continuation(prompt_text, word)
        if not whole:
            out.append(LabelText.split(runner, name, word, context, continuation))
            continue
        text = context + continuation
        ids = tuple(runner.encode(text))
        if len(ids) < 2:
            raise PromptError("Perplexity needs a text of at least two tokens.")
        out.append(LabelText(name, word, text, ids, 1))
    return tuple(out)


def _plan(
    runner: ModelRunner,
    fmt: PromptFormat,
    demos: Sequence[Demo],
    query: str,
    words: Mapping[str, str],
    *,
    whole: bool,
) -> QueryPlan:
    prompt = direct_prompt(runner, fmt, demos, query, words)
    return QueryPlan(query, label_texts(runner, prompt.text, words, whole=whole), prompt, prompt.n_dropped)


def plan_direct(
    runner: ModelRunner,
    fmt: PromptFormat,
    demos: Sequence[Demo],
    query: str,
    words: Mapping[str, str],
    cfg: PlanSettings,
) -> QueryPlan:
    """Direct scoring: each label word as the continuation of the prompt."""
    return _plan(runner, fmt, demos, query, words, whole=False)


def plan_ppl(
    runner: ModelRunner,
    fmt: PromptFormat,
    demos: Sequence[Demo],
    query: str,
    words: Mapping[str, str],
    cfg: PlanSettings,
) -> QueryPlan:
    """Perplexity: every token of the prompt with the label filled in (OpenICL PPLInferencer)."""
    return _plan(runner, fmt, demos, query, words, whole=True)


def content_free_texts(
    runner: ModelRunner, prompt: Prompt, fmt: PromptFormat, words: Mapping[str, str], cf: str
) -> tuple[LabelText, ...]:
    """Direct label texts of `prompt` with its query replaced by the content-free input `cf`.

    The query segment is re-rendered in place, so "" gives the template up to the label with an
    empty input (which `build_prompt` would refuse as a user query).
    """
    query_seg = [s for s in prompt.segments if s.kind == "query"]
    start = query_seg[-1].start if query_seg else 0
    text = prompt.text[:start] + render_query(fmt, cf)
    return label_texts(runner, text, words)
