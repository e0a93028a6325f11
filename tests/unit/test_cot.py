"""Chain-of-thought prompts and answer parsing (engine.prompting.cot)."""

from __future__ import annotations

import pytest

from engine.prompting.cot import (
    DEFAULT_COT_PATTERN,
    DEFAULT_COT_TEMPLATE,
    GenDemo,
    GenFormat,
    build_gen_prompt,
    compile_answer_pattern,
    gold_completion,
    parse_answer,
    parse_gen_template,
    render_gen_query,
)
from engine.prompting.prompts import PromptError

COT = GenFormat(template=DEFAULT_COT_TEMPLATE, instruction="Add the numbers.")
DEMO = GenDemo("12 + 5", "17", "Ones: 2 + 5 = 7. Tens: 1 + 0 = 1.")


def test_cot_prompt_layout() -> None:
    p = build_gen_prompt(COT, [DEMO], "40 + 2")
    assert p.text == (
        "Add the numbers.\n\n"
        "Question: 12 + 5\nAnswer: Ones: 2 + 5 = 7. Tens: 1 + 0 = 1. So the answer is 17.\n\n"
        "Question: 40 + 2\nAnswer:"
    )
    assert p.continuation_prefix == " "
    assert p.demos == (DEMO,) and p.n_dropped == 0


def test_plain_template_and_zero_shot_trigger() -> None:
    fmt = GenFormat(template="Q: {input}\nA: {output}", zero_shot_cot=True)
    assert render_gen_query(fmt, "2 + 2?") == "Q: 2 + 2?\nA: Let's think step by step."
    fmt2 = GenFormat(template="Q: {input}\nA:{output}", zero_shot_cot=True, trigger="Think first.")
    assert render_gen_query(fmt2, "x") == "Q: x\nA: Think first."
    p = build_gen_prompt(fmt, [], "2 + 2?")
    assert p.text.endswith("Let's think step by step.") and p.continuation_prefix == ""
    with pytest.raises(PromptError, match="trigger"):
        GenFormat(zero_shot_cot=True, trigger="  ")


def test_literal_braces_and_user_text_with_braces() -> None:
    fmt = GenFormat(template="{{json}} {input} -> {output}")
    p = build_gen_prompt(fmt, [GenDemo("{a}", "{b}")], "{c}")
    assert p.text == "{json} {a} -> {b}\n\n{json} {c} ->"


@pytest.mark.parametrize(
    ("template", "match"),
    [
        ("{input}", "must contain {output}"),
        ("{output} {input}", "after {input}"),
        ("{input} {output} {reasoning}", "between"),
        ("{input} {label} {output}", "unknown field"),
        ("{input} {output} {output}", "at most once"),
        ("{input {output}", "not valid"),
        ("{input!r} {output}", "format spec"),
    ],
)
def test_bad_templates(template: str, match: str) -> None:
    with pytest.raises(PromptError, match=match):
        parse_gen_template(template)


def test_demos_must_be_complete() -> None:
    with pytest.raises(PromptError, match="no reasoning"):
        build_gen_prompt(COT, [GenDemo("1 + 1", "2")], "2 + 2")
    with pytest.raises(PromptError, match="empty output"):
        build_gen_prompt(GenFormat(), [GenDemo("x", " ")], "y")
    with pytest.raises(PromptError, match="query is empty"):
        build_gen_prompt(GenFormat(), [], "  ")


def test_far_demos_are_dropped_to_fit() -> None:
    demos = [GenDemo(f"in{i}", f"out{i}") for i in range(5)]
    count = lambda s: len(s.split())  # noqa: E731
    full = build_gen_prompt(GenFormat(), demos, "q", count_tokens=count)
    assert full.n_tokens is not None
    p = build_gen_prompt(GenFormat(), demos, "q", count_tokens=count, max_tokens=full.n_tokens - 1)
    assert p.n_dropped == 1 and p.demos[0].input == "in1"
    with pytest.raises(PromptError, match="too long"):
        build_gen_prompt(GenFormat(), demos, "q", count_tokens=count, max_tokens=1, reserve_tokens=5)


def test_gold_completion() -> None:
    assert gold_completion(GenFormat(), "maison") == " maison"
    assert gold_completion(COT, "17", DEMO.reasoning) == f" {DEMO.reasoning} So the answer is 17."
    assert gold_completion(COT, "17") is None
    assert gold_completion(GenFormat(zero_shot_cot=True), "x") is None


def test_parse_answer_with_patterns() -> None:
    text = " Ones: 3 + 4 = 7. Tens: 2 + 1 = 3. So the answer is 37.\nQuestion: next"
    assert parse_answer(text, DEFAULT_COT_PATTERN).answer == "37"
    assert parse_answer(text, r"answer is (\d+)").answer == "37"
    assert parse_answer(text, r"(?P<answer>\d+) \+").answer == "3"
    assert parse_answer(text, r"(\d+) \+", which="last").answer == "2"
    found = parse_answer(text, r"answer is (\d+)")
    assert found.span is not None and text[found.span[0] : found.span[1]] == "37"
    miss = parse_answer(" Paris\nmore", r"answer is (\d+)")
    assert not miss.matched and miss.answer == "Paris"
    assert parse_answer("\n  Paris \n", None) == parse_answer("\n  Paris \n", "")
    assert parse_answer("\n  Paris \n").answer == "Paris"
    assert not parse_answer("   ").matched


def test_invalid_regex_is_a_clear_prompt_error() -> None:
    with pytest.raises(
        PromptError,
        match=r"not a valid regular expression: missing \), unterminated subpattern at position 0",
    ):
        parse_answer("x", "(abc")
    with pytest.raises(PromptError, match="not a valid regular expression"):
        compile_answer_pattern("[a-")
