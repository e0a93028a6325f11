"""Noisy channel scoring (Min et al. 2022): log P(query text | demonstrations, label).

Instead of asking which label follows the input, the channel scorer asks how likely the input
is after each label: the demonstrations are written in channel form too (label first, then
text), the query is rendered up to ``{text}`` with each candidate label filled in, and the
query's text is the scored continuation. Highest wins; normalised over the labels this is
P(y | x) by Bayes with a uniform prior.

The channel template is derived from the user's template ``A{text}B{label}C``: B is cut at its
last newline into ``B1 + "\\n" + B2`` (no newline: B1 = "", B2 = B without leading whitespace)
and the channel template is ``B2{label}C + "\\n" + A{text}B1``. So "Review: {text}\\nSentiment:
{label}" becomes "Sentiment: {label}\\nReview: {text}"::

    direct:   Review: {text}\\nSentiment: {label}
                      A      B1         B2
    channel:  Sentiment: {label}\\nReview: {text}
              B2                  A

The scorer is registered as ``channel`` in `engine.scoring.scorers.SCORERS`.

References:
    Min et al. 2022, "Noisy Channel Language Model Prompting for Few-Shot Text Classification" (ACL).
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence

from engine.model.protocol import ModelRunner
from engine.prompting.prompts import (
    MAX_QUERY_CHARS,
    Demo,
    PromptError,
    PromptFormat,
    build_prompt,
    check_demo_count,
    check_prompt_size,
    fewest_dropped,
    split_template,
)
from engine.scoring.types import LabelText, PlanSettings, QueryPlan


def _split_field(template: str, name: str) -> tuple[str, str]:
    """Raw (escaped) parts of `template` before and after its real ``{name}`` field."""
    pos = 0
    needle = "{" + name + "}"
    while True:
        idx = template.find(needle, pos)
        if idx < 0:
            raise PromptError(f"The template must contain {needle}.")
        n_braces = len(template[:idx]) - len(template[:idx].rstrip("{"))
        if n_braces % 2 == 0:
            return template[:idx], template[idx + len(needle) :]
        pos = idx + 1


def channel_template(template: str) -> str:
    """Derives the channel template from a direct one (see the module docstring).

    >>> channel_template("Review: {text}\\nSentiment: {label}")
    'Sentiment: {label}\\nReview: {text}'
    """
    before, c_part = split_template(template)
    a_part, b_part = _split_field(before, "text")
    cut = b_part.rfind("\n")
    if cut >= 0:
        b1, b2 = b_part[:cut], b_part[cut + 1 :]
    else:
        b1, b2 = "", b_part.lstrip()
    return b2 + "{label}" + c_part + "\n" + a_part + "{text}" + b1


def parse_channel_template(template: str) -> tuple[str, str, str]:
    """Splits a channel template ``X{label}Y{text}Z`` into raw (X, Y, Z); raises `PromptError`."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise PromptError(f"The channel template is not valid: {exc}.") from exc
    if sorted(fields) != ["label", "text"]:
        raise PromptError("The channel template must contain {label} and {text} exactly once each.")
    x, rest = _split_field(template, "label")
    if len(_split_field(template, "text")[0]) < len(x):
        raise PromptError("In a channel template {label} must come before {text}.")
    y, z = _split_field(rest, "text")
    return x, y, z


def _render(part: str, **fields: str) -> str:
    return part.format(**fields)


def build_channel_texts(
    runner: ModelRunner,
    fmt: PromptFormat,
    demos: Sequence[Demo],
    query: str,
    words: Mapping[str, str],
    *,
    template: str | None = None,
) -> tuple[list[tuple[str, str]], int]:
    """Channel-form (context, continuation) per label and the number of demos dropped to fit.

    The layout mirrors `build_prompt`: instruction, demonstrations, query, joined by the
    separator; each demonstration renders the channel template with its own label word, and the
    query renders ``X{label}Y`` with each candidate label; its text is the continuation.
    """
    ct = template if template is not None else channel_template(fmt.template)
    x, y, _z = parse_channel_template(ct)
    check_demo_count(len(demos))
    check_prompt_size(query, "The query", MAX_QUERY_CHARS)
    head_parts = [fmt.instruction.strip()] if fmt.instruction.strip() else []
    rendered = [_render(ct, label=words[d.label], text=d.text) for d in demos]

    def texts(n_dropped: int) -> list[tuple[str, str]]:
        parts = [*head_parts, *rendered[n_dropped:]]
        head = fmt.separator.join(parts)
        return [
            ((head + fmt.separator if parts else "") + _render(x) + word + _render(y), query)
            for word in words.values()
        ]

    def longest(n_dropped: int) -> int:
        return max(len(runner.encode(c + q)) for c, q in texts(n_dropped))

    n_dropped, n_tokens = fewest_dropped(len(demos), longest, runner.info.n_ctx)
    if n_tokens > runner.info.n_ctx:
        raise PromptError(
            f"The channel prompt is too long ({n_tokens} tokens) for the model's context "
            f"({runner.info.n_ctx}) even without demonstrations. Shorten the query or instruction."
        )
    return texts(n_dropped), n_dropped


def plan_channel(
    runner: ModelRunner,
    fmt: PromptFormat,
    demos: Sequence[Demo],
    query: str,
    words: Mapping[str, str],
    cfg: PlanSettings,
) -> QueryPlan:
    """Noisy channel: the query text as the continuation of channel-form demos + label.

    The plan's `prompt` is the direct prompt (what the UI shows and where content-free inputs
    would go); the scored texts are the channel ones.
    """
    prompt = build_prompt(fmt, demos, query, words)
    pairs, n_dropped = build_channel_texts(runner, fmt, demos, query, words, template=cfg.channel_template)
    texts = tuple(
        LabelText.split(runner, name, word, context, continuation)
        for (name, word), (context, continuation) in zip(words.items(), pairs, strict=True)
    )
    return QueryPlan(query, texts, prompt, n_dropped)
