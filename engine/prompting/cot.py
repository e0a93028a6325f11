"""Generation prompts: <input, reasoning, output> demonstrations, zero-shot chain of thought, answer parsing.

A generation template has the fields ``{input}``, ``{output}`` and, for chain-of-thought (CoT)
prompts, ``{reasoning}`` between them (literal braces are written ``{{`` and ``}}``)::

    Question: {input}\\nAnswer: {reasoning} So the answer is {output}.

A demonstration renders the whole template; the query renders it up to the first field after
``{input}``, so the model continues with the reasoning (CoT) or the output::

    <instruction> SEP <demo 1> SEP ... SEP <demo k> SEP <template up to {reasoning}/{output}>

The "zero-shot CoT" switch (Kojima et al. 2022) appends a trigger such as "Let's think step by
step." to the query, so the model writes reasoning before its answer even without
demonstrations. The final answer is then read from the generated text with a user-set regular
expression (group ``answer``, else group 1, else the whole match); without a pattern it is the
first non-empty line.

Trailing spaces of the prompt are moved out of it (``GenPrompt.continuation_prefix``), as with
label words: "Answer: " would end the prompt on a lone space token, which the model hardly ever
saw before a word; it generates " 85" after "Answer:" instead. The gold completion used for
the reference perplexity starts with that prefix.

References:
    Wei et al. 2022, "Chain-of-Thought Prompting Elicits Reasoning in Large Language Models", NeurIPS.
    Kojima et al. 2022, "Large Language Models are Zero-Shot Reasoners", NeurIPS.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from engine.prompting.prompts import (
    DEFAULT_SEPARATOR,
    MAX_QUERY_CHARS,
    PromptError,
    check_demo_count,
    check_prompt_size,
    check_prompt_text,
    fewest_dropped,
)

GEN_FIELDS = ("input", "reasoning", "output")
DEFAULT_TEMPLATE = "Input: {input}\nOutput: {output}"
DEFAULT_COT_TEMPLATE = "Question: {input}\nAnswer: {reasoning} So the answer is {output}."
ZERO_SHOT_TRIGGER = "Let's think step by step."
DEFAULT_COT_PATTERN = r"(?i)answer is\s*(?P<answer>[^\n]+?)\s*\.?\s*$"


@dataclass(frozen=True, slots=True)
class GenDemo:
    """One generation demonstration: input, optional reasoning, output."""

    input: str
    output: str
    reasoning: str = ""


@dataclass(frozen=True, slots=True)
class GenFormat:
    """Layout of a generation prompt. Validated on construction (`PromptError`).

    Attributes:
        template: one demonstration, with ``{input}``, optional ``{reasoning}`` and ``{output}``.
        instruction: put first ("" for none).
        separator: between instruction, demonstrations and query.
        zero_shot_cot: append `trigger` after the query (Kojima et al. 2022).
        trigger: the zero-shot CoT trigger sentence.
    """

    template: str = DEFAULT_TEMPLATE
    instruction: str = ""
    separator: str = DEFAULT_SEPARATOR
    zero_shot_cot: bool = False
    trigger: str = ZERO_SHOT_TRIGGER

    def __post_init__(self) -> None:
        check_prompt_text(self.template, "The template")
        check_prompt_text(self.instruction, "The instruction")
        check_prompt_text(self.separator, "The separator")
        check_prompt_text(self.trigger, "The chain-of-thought trigger")
        check_prompt_size(self.template, "The template")
        check_prompt_size(self.instruction, "The instruction")
        check_prompt_size(self.separator, "The separator")
        check_prompt_size(self.trigger, "The chain-of-thought trigger")
        parse_gen_template(self.template)
        if self.zero_shot_cot and not self.trigger.strip():
            raise PromptError(
                "The zero-shot chain-of-thought trigger is empty; type one (e.g. 'Let's think step by step.')."
            )

    @property
    def uses_reasoning(self) -> bool:
        return "reasoning" in parse_gen_template(self.template)


@dataclass(frozen=True, slots=True)
class GenPrompt:
    """An assembled generation prompt, ending where the model continues.

    Attributes:
        text: the prompt, without trailing spaces/tabs.
        demos: demonstrations kept, in prompt order.
        n_dropped: demonstrations dropped from the far end to fit the context.
        continuation_prefix: the spaces/tabs removed from the end (the gold completion starts with them).
        n_tokens: token count of `text` when a counter was given.
    """

    text: str
    demos: tuple[GenDemo, ...]
    n_dropped: int = 0
    continuation_prefix: str = ""
    n_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class ParsedAnswer:
    """The final answer read from a generated text.

    Attributes:
        answer: the answer (stripped); the first non-empty line when the pattern did not match.
        matched: whether the pattern matched (always True without a pattern and non-empty text).
        span: character span of the answer in the text, when found.
    """

    answer: str
    matched: bool
    span: tuple[int, int] | None = None


def _parse(template: str) -> list[tuple[str, str | None]]:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise PromptError(
            f"The template is not valid: {exc}. Use {{input}}, {{reasoning}} and {{output}}; write literal "
            "braces as {{ and }}."
        ) from exc
    out: list[tuple[str, str | None]] = []
    for literal, name, spec, conv in parsed:
        if name is not None and (spec or conv):
            raise PromptError(f"Field {{{name}}} must not have a format spec or conversion.")
        out.append((literal, name))
    return out


def parse_gen_template(template: str) -> list[str]:
    """Returns the template's field names in order; raises `PromptError` for bad templates."""
    names = [name for _lit, name in _parse(template) if name is not None]
    for name in names:
        if name == "":
            raise PromptError("The template has an empty field {}; use {input}, {reasoning} and {output}.")
        if name not in GEN_FIELDS:
            raise PromptError(
                f"The template has an unknown field {{{name}}}. Only {{input}}, {{reasoning}} and {{output}} are allowed."
            )
    for name in GEN_FIELDS:
        if names.count(name) > 1:
            raise PromptError(f"The template must contain {{{name}}} at most once.")
    if "input" not in names:
        raise PromptError("The template must contain {input}, where the input goes.")
    if "output" not in names:
        raise PromptError("The template must contain {output}, where the answer goes.")
    if names.index("output") < names.index("input"):
        raise PromptError("{output} must come after {input} in the template (the model writes the output).")
    if "reasoning" in names and not names.index("input") < names.index("reasoning") < names.index("output"):
        raise PromptError("{reasoning} must come between {input} and {output} in the template.")
    return names


def _render(template: str, values: Mapping[str, str], stop_at: frozenset[str] = frozenset()) -> str:
    parts: list[str] = []
    for literal, name in _parse(template):
        parts.append(literal)
        if name is None:
            continue
        if name in stop_at:
            break
        parts.append(values[name])
    return "".join(parts)


def render_gen_demo(fmt: GenFormat, demo: GenDemo) -> str:
    """The whole template filled with a demonstration."""
    return _render(fmt.template, {"input": demo.input, "reasoning": demo.reasoning, "output": demo.output})


def render_gen_query(fmt: GenFormat, query: str) -> str:
    """The template up to the first field after ``{input}`` (plus the zero-shot trigger)."""
    head = _render(fmt.template, {"input": query}, frozenset({"reasoning", "output"}))
    if fmt.zero_shot_cot:
        trigger = fmt.trigger.strip()
        head = head + trigger if head[-1:].isspace() or not head else f"{head} {trigger}"
    return head


def gold_completion(fmt: GenFormat, output: str, reasoning: str = "") -> str | None:
    """The text a demonstration would have after the query part (reference for perplexity).

    Returns None when it is not defined: zero-shot CoT (the prompt already holds the trigger and
    there is no reference reasoning), or a CoT template with no reasoning given.
    """
    if fmt.zero_shot_cot or (fmt.uses_reasoning and not reasoning.strip()):
        return None
    values = {"input": "\x00", "reasoning": reasoning.strip(), "output": output.strip()}
    full = _render(fmt.template, values)
    head = _render(fmt.template, values, frozenset({"reasoning", "output"}))
    completion = full[len(head) :]
    spaces = head[len(head.rstrip(" \t")) :]
    return spaces + completion


def validate_gen_demos(fmt: GenFormat, demos: Sequence[GenDemo]) -> None:
    check_demo_count(len(demos))
    for i, d in enumerate(demos, start=1):
        for part in (d.input, d.output, d.reasoning):
            check_prompt_size(part, f"Demonstration {i}")
            check_prompt_text(part, f"Demonstration {i}")
        if not d.input.strip():
            raise PromptError(f"Demonstration {i} has an empty input; fill it in or delete the row.")
        if not d.output.strip():
            raise PromptError(f"Demonstration {i} has an empty output; fill it in or delete the row.")
        if fmt.uses_reasoning and not d.reasoning.strip():
            raise PromptError(
                f"Demonstration {i} has no reasoning, but the template has {{reasoning}}: write the steps, "
                "or use a template without {reasoning}."
            )


def build_gen_prompt(
    fmt: GenFormat,
    demos: Sequence[GenDemo],
    query: str,
    *,
    count_tokens: Callable[[str], int] | None = None,
    max_tokens: int | None = None,
    reserve_tokens: int = 0,
) -> GenPrompt:
    """Assembles instruction, demonstrations and query; drops far demonstrations to fit.

    Args:
        fmt: template, instruction, separator and the zero-shot CoT switch.
        demos: demonstrations in prompt order (first = farthest from the query).
        query: the input to generate for.
        count_tokens: token counter (e.g. ``lambda s: len(runner.encode(s))``).
        max_tokens: context limit; needs `count_tokens`.
        reserve_tokens: tokens kept free for generation.

    Raises:
        PromptError: empty query, incomplete demonstration, or a query that does not fit alone.
    """
    if not query.strip():
        raise PromptError("The query is empty; type an input to generate for.")
    check_prompt_size(query, "The query", MAX_QUERY_CHARS)
    check_prompt_text(query, "The query")
    validate_gen_demos(fmt, demos)
    stripped = [GenDemo(d.input.strip(), d.output.strip(), d.reasoning.strip()) for d in demos]
    head = [fmt.instruction.strip()] if fmt.instruction.strip() else []
    rendered = [render_gen_demo(fmt, d) for d in stripped]
    tail = render_gen_query(fmt, query.strip())

    def assemble(n_dropped: int) -> tuple[str, str]:
        full = fmt.separator.join([*head, *rendered[n_dropped:], tail])
        text = full.rstrip(" \t")
        return text, full[len(text) :]

    if count_tokens is None:
        text, prefix = assemble(0)
        return GenPrompt(text, tuple(stripped), 0, prefix, None)
    counter = count_tokens
    if max_tokens is None:
        text, prefix = assemble(0)
        return GenPrompt(text, tuple(stripped), 0, prefix, counter(text))
    n_dropped, n_tokens = fewest_dropped(
        len(stripped), lambda d: counter(assemble(d)[0]), max_tokens - reserve_tokens
    )
    if n_tokens + reserve_tokens > max_tokens:
        raise PromptError(
            f"The prompt is too long: the query alone takes {n_tokens} tokens (+{reserve_tokens} to "
            f"generate) but the model's context is {max_tokens} tokens. Shorten the query or instruction."
        )
    text, prefix = assemble(n_dropped)
    return GenPrompt(text, tuple(stripped[n_dropped:]), n_dropped, prefix, n_tokens)


def compile_answer_pattern(pattern: str) -> re.Pattern[str]:
    """Compiles a user's answer pattern; an invalid one raises `PromptError` saying where it fails."""
    try:
        return re.compile(pattern, re.MULTILINE)
    except re.error as exc:
        where = f" at position {exc.pos}" if exc.pos is not None else ""
        raise PromptError(
            f"The answer pattern {pattern!r} is not a valid regular expression: {exc.msg}{where}."
        ) from None


def _first_line(text: str) -> tuple[str, tuple[int, int] | None]:
    pos = 0
    for line in text.splitlines(keepends=True):
        if line.strip():
            start = pos + len(line) - len(line.lstrip())
            stripped = line.strip()
            return stripped, (start, start + len(stripped))
        pos += len(line)
    return "", None


def parse_answer(
    text: str, pattern: str | None = None, *, which: Literal["first", "last"] = "first"
) -> ParsedAnswer:
    """Reads the final answer from generated text.

    Args:
        text: the generated text.
        pattern: regular expression; the answer is its group ``answer``, else group 1, else the
            whole match. None or blank: the first non-empty line.
        which: use the first or the last match.

    Raises:
        PromptError: the pattern is not a valid regular expression.
    """
    if pattern is None or not pattern.strip():
        answer, span = _first_line(text)
        return ParsedAnswer(answer, bool(answer), span)
    rx = compile_answer_pattern(pattern)
    matches = list(rx.finditer(text))
    if not matches:
        answer, span = _first_line(text)
        return ParsedAnswer(answer, False, span)
    m = matches[0] if which == "first" else matches[-1]
    group: int | str = "answer" if "answer" in rx.groupindex else (1 if rx.groups else 0)
    value = m.group(group)
    if value is None:  # an optional group that did not take part
        return ParsedAnswer("", False, None)
    start = m.start(group)
    lead = len(value) - len(value.lstrip())
    return ParsedAnswer(value.strip(), True, (start + lead, start + lead + len(value.strip())))
