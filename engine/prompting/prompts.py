"""Prompt assembly: instruction + k demonstrations + query, rendered by a template.

A template is a string with exactly the fields ``{text}`` and ``{label}`` (literal braces are
written ``{{`` and ``}}``). A demonstration renders the whole template; the query renders only
the part before ``{label}``, so the model is asked to continue with the label word::

    <instruction> SEP <demo 1> SEP ... SEP <demo k> SEP <template up to {label}, with the query>

The label is scored as the continuation: trailing spaces of the prompt move into it
(``"Sentiment: " + "positive"`` is scored as ``"Sentiment:" + " positive"``), which is why label
words are stored without surrounding whitespace; the template decides the spacing.

When the prompt does not fit the model's context, demonstrations are dropped from the far end
(the first ones, farthest from the query) and the result says how many were dropped; the query
and the label are never cut. How many to drop is found by a binary search over the number
dropped (`fewest_dropped`): O(log k) tokenisations instead of one per dropped demonstration.

Inputs are capped before anything is tokenised (`MAX_DEMOS`, `MAX_QUERY_CHARS`, `MAX_TEXT_CHARS`),
so a pasted novel or a hand-edited experiment file with thousands of demonstrations is refused
with a message instead of costing the server minutes and gigabytes.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from engine.core.errors import PromptError as PromptError  # re-exported: its historic home
from engine.core.text_safety import check_prompt_text as check_prompt_text

SegmentKind = Literal["instruction", "demo", "query", "separator"]
DEFAULT_SEPARATOR = "\n\n"
ALLOWED_FIELDS = ("text", "label")
MAX_DEMOS = 512  # demonstrations in one prompt; far above any context this app's models have
MAX_QUERY_CHARS = 20_000  # characters of a query
MAX_TEXT_CHARS = 20_000  # characters of one demonstration text, the instruction or the template


def check_prompt_size(value: str, what: str, limit: int = MAX_TEXT_CHARS) -> str:
    """Refuses text over `limit` characters before it reaches the tokenizer."""
    if len(value) > limit:
        raise PromptError(f"{what} is too long ({len(value):,} characters; at most {limit:,}). Shorten it.")
    return value


def check_demo_count(n: int) -> None:
    """Refuses more than `MAX_DEMOS` demonstrations before any is rendered or tokenised."""
    if n > MAX_DEMOS:
        raise PromptError(f"{n:,} demonstrations are too many for one prompt; use at most {MAX_DEMOS}.")


def fewest_dropped(n: int, n_tokens: Callable[[int], int], budget: int) -> tuple[int, int]:
    """The fewest far demonstrations to drop so that the prompt fits, by binary search.

    Args:
        n: number of demonstrations.
        n_tokens: token count of the prompt with the first ``d`` demonstrations dropped.
        budget: the most tokens the prompt may have.

    Returns:
        ``(d, n_tokens(d))`` for the smallest ``d`` in ``0..n`` with ``n_tokens(d) <= budget``, or
        ``(n, n_tokens(n))`` when even the query alone does not fit (the caller reports it).

    The count shrinks as far demonstrations are dropped (the kept prompt is a suffix of the
    longer one), so the smallest fitting ``d`` is the one dropping them one at a time would
    find; this costs at most ``2 + ceil(log2(n + 1))`` counts instead of up to ``n + 1``.
    """
    counts: dict[int, int] = {}

    def count(d: int) -> int:
        if d not in counts:
            counts[d] = n_tokens(d)
        return counts[d]

    if count(0) <= budget or n == 0:
        return 0, count(0)
    if count(n) > budget:
        return n, count(n)
    lo, hi = 0, n  # count(lo) > budget >= count(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if count(mid) <= budget:
            hi = mid
        else:
            lo = mid
    return hi, count(hi)


@dataclass(frozen=True, slots=True)
class Demo:
    """One demonstration: input text and its label NAME (mapped to a word when rendered)."""

    text: str
    label: str
    pool_index: int | None = None  # index in the demonstration pool, when it came from one


@dataclass(frozen=True, slots=True)
class PromptFormat:
    """How a prompt is laid out. Validated on construction.

    Attributes:
        template: one demonstration, with ``{text}`` and ``{label}``.
        instruction: text put first, before the demonstrations ("" for none).
        separator: between instruction, demonstrations and query.
    """

    template: str = "Input: {text}\nLabel: {label}"
    instruction: str = ""
    separator: str = DEFAULT_SEPARATOR

    def __post_init__(self) -> None:
        check_prompt_text(self.template, "The template")
        check_prompt_text(self.instruction, "The instruction")
        check_prompt_text(self.separator, "The separator")
        check_prompt_size(self.template, "The template")
        check_prompt_size(self.instruction, "The instruction")
        check_prompt_size(self.separator, "The separator")
        parse_template(self.template)

    @property
    def query_template(self) -> str:
        """The template up to (not including) ``{label}``."""
        return split_template(self.template)[0]


@dataclass(frozen=True, slots=True)
class Segment:
    """A character span of the prompt and what it is (for attention and prompt views)."""

    kind: SegmentKind
    start: int
    end: int
    demo_index: int | None = None  # position among the demonstrations kept
    label_start: int | None = None  # span of the label word inside a demonstration
    label_end: int | None = None


@dataclass(frozen=True, slots=True)
class Prompt:
    """An assembled prompt, ending right where the label word goes.

    Attributes:
        text: the prompt (instruction, demonstrations, query with the label left open).
        demos: the demonstrations kept, in prompt order.
        n_dropped: demonstrations dropped from the far end to fit the context.
        segments: character spans of each part.
        n_tokens: when a counter was given, the tokens the model reads before the label word:
            `text` without its trailing spaces (they are scored with the word, see
            `label_continuation`), with whatever special tokens (BOS) the counter's tokenizer adds;
            the Attention page runs exactly these tokens. Else None.
    """

    text: str
    demos: tuple[Demo, ...]
    n_dropped: int = 0
    segments: tuple[Segment, ...] = field(default_factory=tuple)
    n_tokens: int | None = None

    def with_label(self, label_word: str) -> str:
        """The full text scored for one label: prompt followed by the label word."""
        context, continuation = label_continuation(self.text, label_word)
        return context + continuation


def parse_template(template: str) -> list[str]:
    """Returns the template's field names; raises `PromptError` for bad templates."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise PromptError(
            f"The template is not valid: {exc}. Use {{text}} and {{label}}; write literal braces as {{{{ }}}}."
        ) from exc
    names: list[str] = []
    for _literal, name, spec, conv in parsed:
        if name is None:
            continue
        if name == "":
            raise PromptError("The template has an empty field {}; use {text} and {label}.")
        if name not in ALLOWED_FIELDS:
            raise PromptError(
                f"The template has an unknown field {{{name}}}. Only {{text}} and {{label}} are allowed."
            )
        if spec or conv:
            raise PromptError(f"Field {{{name}}} must not have a format spec or conversion.")
        names.append(name)
    if "text" not in names:
        raise PromptError("The template must contain {text}, where the input goes.")
    if "label" not in names:
        raise PromptError("The template must contain {label}, where the label word goes.")
    if names.count("label") > 1:
        raise PromptError("The template must contain {label} exactly once.")
    if names.index("label") < names.index("text"):
        raise PromptError("{label} must come after {text} in the template (the model predicts the label).")
    return names


def split_template(template: str) -> tuple[str, str]:
    """Splits a template into the part before ``{label}`` and the part after it (both raw)."""
    parse_template(template)
    # find the real {label} field, not a literal "{{label}}"
    pos = 0
    while True:
        idx = template.find("{label}", pos)
        if idx < 0:
            raise PromptError("The template must contain {label}.")
        n_braces = len(template[:idx]) - len(template[:idx].rstrip("{"))
        if n_braces % 2 == 0:
            return template[:idx], template[idx + len("{label}") :]
        pos = idx + 1


def _fmt(part: str, **fields: str) -> str:
    used = {k: v for k, v in fields.items() if "{" + k + "}" in part}
    return part.format(**used) if used or "{" in part or "}" in part else part


def render_demo(fmt: PromptFormat, text: str, label_word: str) -> tuple[str, int, int]:
    """Renders one demonstration; returns (text, label_start, label_end) within it."""
    before, after = split_template(fmt.template)
    head = _fmt(before, text=text)
    tail = _fmt(after, text=text)
    return head + label_word + tail, len(head), len(head) + len(label_word)


def render_query(fmt: PromptFormat, text: str) -> str:
    before, _ = split_template(fmt.template)
    return _fmt(before, text=text)


def clean_label_words(words: Mapping[str, str]) -> dict[str, str]:
    """Strips whitespace from label words and checks they are non-empty and distinct."""
    for name, w in words.items():
        check_prompt_text(name, "A label name")
        check_prompt_text(w, f"The label word for {name!r}")
    cleaned = {name: w.strip() for name, w in words.items()}
    empty = [n for n, w in cleaned.items() if not w]
    if empty:
        raise PromptError(f"Label word for {', '.join(repr(e) for e in empty)} is empty.")
    seen: dict[str, str] = {}
    for name, word in cleaned.items():
        if word in seen:
            raise PromptError(
                f"Labels {seen[word]!r} and {name!r} have the same word {word!r}; label words must differ."
            )
        seen[word] = name
    return cleaned


def label_continuation(prompt_text: str, label_word: str) -> tuple[str, str]:
    """(context, continuation) for scoring a label: trailing spaces move into the continuation."""
    context = prompt_text.rstrip(" \t")
    return context, prompt_text[len(context) :] + label_word.strip()


def validate_demos(demos: Sequence[Demo], label_names: Sequence[str] | None = None) -> None:
    check_demo_count(len(demos))
    for i, d in enumerate(demos):
        check_prompt_size(d.text, f"Demonstration {i + 1}")
        check_prompt_size(d.label, f"The label of demonstration {i + 1}")
        check_prompt_text(d.text, f"Demonstration {i + 1}")
        check_prompt_text(d.label, f"The label of demonstration {i + 1}")
        if not d.text.strip():
            raise PromptError(f"Demonstration {i + 1} has empty text; fill it in or delete the row.")
        if not d.label.strip():
            raise PromptError(f"Demonstration {i + 1} has no label.")
        if label_names is not None and d.label not in label_names:
            raise PromptError(
                f"Demonstration {i + 1} has label {d.label!r}, which is not one of: {', '.join(label_names)}."
            )


def build_prompt(
    fmt: PromptFormat,
    demos: Sequence[Demo],
    query: str,
    label_words: Mapping[str, str],
    *,
    count_tokens: Callable[[str], int] | None = None,
    max_tokens: int | None = None,
    reserve_tokens: int = 0,
) -> Prompt:
    """Assembles instruction, demonstrations and query; drops far demonstrations to fit.

    Args:
        fmt: template, instruction and separator.
        demos: demonstrations in prompt order (first = farthest from the query).
        query: the input to classify.
        label_words: label name -> word; every demo label must have one.
        count_tokens: token counter (e.g. ``lambda s: len(runner.encode(s))``).
        max_tokens: context limit; needs `count_tokens`.
        reserve_tokens: tokens kept free for the label continuation.

    Raises:
        PromptError: empty query or demonstration, unknown label, or a prompt that does not fit
            even with every demonstration dropped.
    """
    if not query.strip():
        raise PromptError("The query is empty; type an input to classify.")
    check_prompt_size(query, "The query", MAX_QUERY_CHARS)
    check_prompt_text(query, "The query")
    validate_demos(demos)
    words = clean_label_words(label_words)
    missing = sorted({d.label for d in demos} - set(words))
    if missing:
        raise PromptError(f"No label word for label(s): {', '.join(missing)}.")
    if count_tokens is None:
        prompt = _assemble(fmt, demos, query, words)
        return Prompt(prompt.text, prompt.demos, 0, prompt.segments, None)
    counter = count_tokens
    if max_tokens is None:
        prompt = _assemble(fmt, demos, query, words)
        return Prompt(prompt.text, prompt.demos, 0, prompt.segments, _context_tokens(counter, prompt.text))
    n_dropped, n_tokens = fewest_dropped(
        len(demos),
        lambda d: counter(_assemble(fmt, demos[d:], query, words).text),
        max_tokens - reserve_tokens,
    )
    if n_tokens + reserve_tokens > max_tokens:
        raise PromptError(
            f"The prompt is too long: the query alone takes {n_tokens} tokens (+{reserve_tokens} for "
            f"the label) but the model's context is {max_tokens} tokens. Shorten the query or instruction."
        )
    prompt = _assemble(fmt, demos[n_dropped:], query, words)
    return Prompt(
        prompt.text, prompt.demos, n_dropped, prompt.segments, _context_tokens(counter, prompt.text, n_tokens)
    )


def _context_tokens(counter: Callable[[str], int], text: str, n_text: int | None = None) -> int:
    """Tokens of `text` as the model reads it before a label (trailing spaces go with the label);
    `n_text`: the count of `text` itself when known (one tokenisation saved when nothing trails)."""
    context = label_continuation(text, "")[0]
    if context == text and n_text is not None:
        return n_text
    return counter(context)


def _assemble(fmt: PromptFormat, demos: Sequence[Demo], query: str, words: Mapping[str, str]) -> Prompt:
    parts: list[str] = []
    segments: list[Segment] = []
    pos = 0

    def add(
        kind: SegmentKind, text: str, demo_index: int | None = None, span: tuple[int, int] | None = None
    ) -> None:
        nonlocal pos
        if parts:
            parts.append(fmt.separator)
            segments.append(Segment("separator", pos, pos + len(fmt.separator)))
            pos += len(fmt.separator)
        parts.append(text)
        label_span = (pos + span[0], pos + span[1]) if span else (None, None)
        segments.append(Segment(kind, pos, pos + len(text), demo_index, label_span[0], label_span[1]))
        pos += len(text)

    if fmt.instruction.strip():
        add("instruction", fmt.instruction.strip())
    for i, d in enumerate(demos):
        text, a, b = render_demo(fmt, d.text, words[d.label])
        add("demo", text, i, (a, b))
    add("query", render_query(fmt, query))
    return Prompt("".join(parts), tuple(demos), 0, tuple(segments))
