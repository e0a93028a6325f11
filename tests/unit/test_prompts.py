"""Prompt assembly and template parsing (no model)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.prompting.prompts import (
    Demo,
    PromptError,
    PromptFormat,
    build_prompt,
    clean_label_words,
    label_continuation,
    parse_template,
    split_template,
)

WORDS = {"neg": "negative", "pos": "positive"}
FMT = PromptFormat(template="Review: {text}\nSentiment: {label}", instruction="Classify.")


def test_zero_one_few_shot_layout() -> None:
    p0 = build_prompt(FMT, [], "fine", WORDS)
    assert p0.text == "Classify.\n\nReview: fine\nSentiment: "
    p2 = build_prompt(FMT, [Demo("good", "pos"), Demo("bad", "neg")], "fine", WORDS)
    assert p2.text == (
        "Classify.\n\nReview: good\nSentiment: positive\n\nReview: bad\nSentiment: negative\n\n"
        "Review: fine\nSentiment: "
    )
    kinds = [s.kind for s in p2.segments if s.kind != "separator"]
    assert kinds == ["instruction", "demo", "demo", "query"]
    demo0 = p2.segments[2]
    assert p2.text[demo0.label_start : demo0.label_end] == "positive"  # type: ignore[misc]


def test_label_words_with_leading_space_are_normalised() -> None:
    a = build_prompt(FMT, [Demo("good", "pos")], "x", {"pos": " positive", "neg": "negative "})
    b = build_prompt(FMT, [Demo("good", "pos")], "x", WORDS)
    assert a.text == b.text
    assert label_continuation(a.text, " positive") == (a.text.rstrip(" "), " positive")
    # a template with no space before the label gives a continuation without one
    tight = PromptFormat(template="{text} =>{label}")
    p = build_prompt(tight, [], "x", WORDS)
    assert label_continuation(p.text, "positive") == ("x =>", "positive")


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("Sentiment: {label}", "{text}"),
        ("Review: {text}", "{label}"),
        ("{text} {label} {label}", "exactly once"),
        ("{label} {text}", "after"),
        ("{text} {foo} {label}", "unknown field {foo}"),
        ("{text} {label", "not valid"),
        ("{text} {} {label}", "empty field"),
    ],
)
def test_bad_templates_are_explained(template: str, message: str) -> None:
    with pytest.raises(PromptError, match=message.replace("{", r"\{").replace("}", r"\}")):
        parse_template(template)


def test_literal_braces() -> None:
    fmt = PromptFormat(template="{{json}} {text} -> {label} {{end}}")
    p = build_prompt(fmt, [Demo("a", "pos")], "b", WORDS)
    assert p.text == "{json} a -> positive {end}\n\n{json} b -> "
    assert split_template("{{label}} {text} {label}!") == ("{{label}} {text} ", "!")


def test_empty_demo_and_query_and_labels() -> None:
    with pytest.raises(PromptError, match="Demonstration 2 has empty text"):
        build_prompt(FMT, [Demo("ok", "pos"), Demo("  ", "neg")], "q", WORDS)
    with pytest.raises(PromptError, match="query is empty"):
        build_prompt(FMT, [], " ", WORDS)
    with pytest.raises(PromptError, match="No label word"):
        build_prompt(FMT, [Demo("ok", "other")], "q", WORDS)
    with pytest.raises(PromptError, match="same word"):
        clean_label_words({"a": "yes", "b": " yes"})
    with pytest.raises(PromptError, match="empty"):
        clean_label_words({"a": " ", "b": "no"})


def test_drops_far_demonstrations_to_fit_context() -> None:
    demos = [Demo(f"demo number {i}", "pos") for i in range(6)]

    def count(s: str) -> int:
        return len(s.split())

    full = build_prompt(FMT, demos, "query", WORDS, count_tokens=count)
    assert full.n_dropped == 0 and full.n_tokens == count(full.text)
    limit = full.n_tokens - 5
    fitted = build_prompt(FMT, demos, "query", WORDS, count_tokens=count, max_tokens=limit, reserve_tokens=1)
    assert fitted.n_dropped >= 1
    assert fitted.demos == tuple(demos[fitted.n_dropped :])  # the nearest demos are kept
    assert (fitted.n_tokens or 0) + 1 <= limit
    with pytest.raises(PromptError, match="too long"):
        build_prompt(FMT, demos, "a very long query " * 50, WORDS, count_tokens=count, max_tokens=20)


_text = st.text(min_size=1, max_size=40).filter(lambda s: s.strip() != "")


@settings(max_examples=200, deadline=None)
@given(
    texts=st.lists(_text, max_size=5),
    query=_text,
    instr=st.text(max_size=30),
    sep=st.sampled_from(["\n\n", "\n", " | "]),
)
def test_assembly_roundtrip_with_arbitrary_unicode(
    texts: list[str], query: str, instr: str, sep: str
) -> None:
    fmt = PromptFormat(template="Input: {text}\nLabel: {label}", instruction=instr, separator=sep)
    demos = [Demo(t, "pos" if i % 2 else "neg") for i, t in enumerate(texts)]
    p = build_prompt(fmt, demos, query, WORDS)
    assert p.text.endswith("Input: " + query + "\nLabel: ")
    for seg in p.segments:
        assert 0 <= seg.start <= seg.end <= len(p.text)
        if seg.kind == "demo" and seg.demo_index is not None:
            d = demos[seg.demo_index]
            assert p.text[seg.start : seg.end] == f"Input: {d.text}\nLabel: {WORDS[d.label]}"
    # segments tile the text with no gaps
    assert "".join(p.text[s.start : s.end] for s in p.segments) == p.text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_template_parser_never_crashes(template: str) -> None:
    try:
        names = parse_template(template)
    except PromptError:
        return
    assert "text" in names and "label" in names
    before, after = split_template(template)
    assert before.format(text="T").endswith("") and isinstance(after, str)


def test_token_count_is_what_the_model_reads_before_the_label() -> None:
    """Issue 22 (7e): the Prompt Lab counted the trailing space before the label as a token, the
    Attention page (which runs the prompt as it is scored, the space moved into the label word)
    did not: one token fewer for the same prompt."""
    demos = [Demo("good film", "pos")]

    def count(s: str) -> int:  # a trailing space is a token of its own, as in byte-level BPE
        return len(s.split()) + (1 if s.endswith(" ") else 0)

    for kw in ({}, {"max_tokens": 1000}):
        p = build_prompt(FMT, demos, "a query", WORDS, count_tokens=count, **kw)  # type: ignore[arg-type]
        assert p.text.endswith(" ")
        context, _ = label_continuation(p.text, "pos")
        assert p.n_tokens == count(context) == count(p.text) - 1
