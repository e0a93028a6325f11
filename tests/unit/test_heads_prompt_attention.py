"""Attention of the final position split by prompt part, on hand-set patterns (FakeRunner)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from engine.core.errors import ConfigError
from engine.interp.prompt_attention import assign_parts, attention_by_part, prompt_attention
from engine.model.fake import FakeRunner
from engine.model.hf_runner import AttentionResult
from engine.prompting.prompts import Demo, PromptFormat, build_prompt

FMT = PromptFormat("Review: {text}\nSentiment: {label}", instruction="Classify.", separator="\n\n")
WORDS = {"pos": "positive", "neg": "negative"}
DEMOS = [Demo("great film", "pos"), Demo("dull plot", "neg")]

# FakeRunner tokens (BOS first):
#  0 <bos> | 1 "Classify." | 2 "\n\nReview:" 3 " great" 4 " film" 5 "\nSentiment:" 6 " positive"
#  | 7 "\n\nReview:" 8 " dull" 9 " plot" 10 "\nSentiment:" 11 " negative"
#  | 12 "\n\nReview:" 13 " nice" 14 " acting" 15 "\nSentiment:"
FINAL_ROW = {0: 0.1, 6: 0.3, 3: 0.2, 13: 0.25, 1: 0.05, 11: 0.1}


def final_row_pattern(ids: Sequence[int]) -> np.ndarray:
    n = len(ids)
    p = np.tril(np.ones((n, n)))
    p /= p.sum(axis=1, keepdims=True)
    p[-1] = 0
    for k, w in FINAL_ROW.items():
        p[-1, k] = w
    return np.broadcast_to(p, (2, 3, n, n)).copy()


def test_parts_and_sums_by_hand() -> None:
    runner = FakeRunner([], n_layers=2, n_heads=3, attention_fn=final_row_pattern)
    prompt = build_prompt(FMT, DEMOS, "nice acting", WORDS)
    att, pa = prompt_attention(runner, prompt)
    assert len(att.tokens) == 16
    assert pa.parts.kind == (
        "BOS",
        "instruction",
        *["demo"] * 5,
        *["demo"] * 5,
        *["query"] * 4,
    )
    assert pa.parts.demo == (-1, -1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, -1, -1, -1, -1)
    assert pa.parts.label_demo == (-1, -1, -1, -1, -1, -1, 0, -1, -1, -1, -1, 1, -1, -1, -1, -1)
    assert pa.demo.shape == (2, 3, 2) and pa.label.shape == (2, 3, 2)
    np.testing.assert_allclose(pa.demo[0, 0], [0.5, 0.1])
    np.testing.assert_allclose(pa.label[1, 2], [0.3, 0.1])
    np.testing.assert_allclose(pa.other["query"], 0.25)
    np.testing.assert_allclose(pa.other["BOS"], 0.1)
    np.testing.assert_allclose(pa.other["instruction"], 0.05)
    np.testing.assert_allclose(pa.other["separator"], 0.0)
    rows = pa.by_demo()
    assert rows[0] == pytest.approx({"demo": 1, "to_demo": 0.5, "to_label_word": 0.3, "to_rest_of_demo": 0.2})
    layers = pa.by_layer()
    np.testing.assert_allclose(layers["label words"], [0.4, 0.4])
    np.testing.assert_allclose(layers["demo text"], [0.2, 0.2])
    # every bit of the final position's attention is accounted for exactly once
    total = pa.demo.sum(-1) + sum(pa.other.values())
    np.testing.assert_allclose(total, 1.0)


def test_trailing_space_prompt_is_analysed_without_it() -> None:
    prompt = build_prompt(PromptFormat("Q: {text} A: {label}"), DEMOS[:1], "nice", WORDS)
    assert prompt.text.endswith("A: ")
    att, pa = prompt_attention(FakeRunner([]), prompt)
    assert pa.text == prompt.text.rstrip()
    assert att.offsets[-1][1] == len(pa.text)
    assert pa.parts.label_demo.count(0) == 1


def test_merged_seam_token_counts_for_the_part_it_ends_in() -> None:
    prompt = build_prompt(
        PromptFormat("{text} = {label}"),
        [Demo("a", "pos")],
        "b",
        WORDS,
    )
    # "a = positive" SEP "b =" ; pretend the tokenizer merged "positive\n\nb" into one token
    text = prompt.text
    i = text.index("positive")
    j = text.index("b =")
    offsets = ((0, 1), (1, 3), (3, i), (i, j + 1), (j + 1, len(text)))
    parts = assign_parts(prompt, offsets, len(text))
    assert parts.kind[3] == "query"  # ends in the query
    assert parts.label_demo[3] == 0  # but overlaps the label word
    assert parts.demo == (0, 0, 0, -1, -1)


def test_shape_mismatch() -> None:
    prompt = build_prompt(FMT, DEMOS, "x", WORDS)
    bad = AttentionResult(np.zeros((1, 1, 3, 3)), ("a", "b"), ((0, 1), (1, 2)))
    with pytest.raises(ConfigError, match="does not match"):
        attention_by_part(bad, prompt)


def test_surprisal_by_demo_by_hand() -> None:
    from engine.interp.prompt_attention import surprisal_by_demo

    vocab = ["\nSentiment:", " positive", " negative"]

    def logits(ids: Sequence[int]) -> np.ndarray:
        out = np.zeros(len(vocab) + 2)  # + <bos>, <unk>
        if ids and ids[-1] == 2:  # after "\nSentiment:" the labels get +2
            out[3:5] = 2.0
        return out

    runner = FakeRunner(vocab, logits)
    prompt = build_prompt(FMT, DEMOS, "nice acting", WORDS)
    seq = runner.sequence_logprobs(prompt.text.rstrip())
    n = len(runner.vocab)
    uniform = np.log(n)
    after_cue = np.log(2 * np.exp(2.0) + (n - 2)) - 2.0
    rows = surprisal_by_demo(seq, prompt)
    assert [r["demo"] for r in rows] == [1, 2]
    assert [r["tokens"] for r in rows] == [5, 5]
    assert rows[0]["label_surprisal"] == pytest.approx(after_cue)
    assert rows[1]["label_surprisal"] == pytest.approx(after_cue)
    # "\n\nReview:" " great" " film" "\nSentiment:" are uniform, the label is cued
    assert rows[0]["mean_surprisal"] == pytest.approx((4 * uniform + after_cue) / 5)


def test_prompt_attention_requests_are_two_passes_over_the_analysed_text() -> None:
    from engine.interp.prompt_attention import prompt_attention_requests

    runner = FakeRunner([], n_layers=2, n_heads=3, attention_fn=final_row_pattern)
    prompt = build_prompt(FMT, DEMOS, "nice acting", WORDS)
    reqs = prompt_attention_requests(runner, prompt)
    att, pa = prompt_attention(runner, prompt)
    assert len(reqs) == 2
    assert all(r.ids == tuple(runner.encode(pa.text)) and r.start == 1 for r in reqs)
    assert len(reqs[0].ids) == len(att.tokens) == 16  # the tokens the analysis runs (BOS first)
