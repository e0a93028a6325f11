"""Scorers and calibrations on a FakeRunner whose log-probs are set by hand.

The fake model puts probability 0.75 / 0.25 on " positive" / " negative" after a token ending in
"Sentiment:" when the prompt so far contains " good", 0.2 / 0.8 when it contains " bad", and
0.6 / 0.4 otherwise (content-free inputs). In channel form, after "\\nReview:" it puts 0.8 / 0.2
on " good" / " bad" when " positive" came before, 0.3 / 0.7 after " negative". Everything else
is uniform over the vocabulary (log 1/V).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest

from engine.core.errors import ConfigError
from engine.model.fake import FakeRunner
from engine.model.hf_runner import SpanRequest
from engine.prompting.prompts import Demo, PromptError, PromptFormat
from engine.scoring.scorers import (
    CALIBRATIONS,
    SCORERS,
    ScoringConfig,
    apply_prior,
    batch_prior,
    channel_template,
    contextual_prior,
    domain_strings,
    parse_channel_template,
    score_prompt,
)

VOCAB = [
    "Review:",
    " good",
    " bad",
    " film",
    "\nSentiment:",
    " \nSentiment:",
    " positive",
    " negative",
    "Sentiment:",
    "\nReview:",
    " N/A",
    " [MASK]",
    "\n\nReview:",
    "\n\nSentiment:",
]
FMT = PromptFormat("Review: {text}\nSentiment: {label}", "", "\n\n")
WORDS = {"negative": "negative", "positive": "positive"}


def make_runner() -> FakeRunner:
    runner = FakeRunner(VOCAB)
    tok = runner.vocab
    v = len(tok)

    def dist(pairs: dict[str, float]) -> np.ndarray:
        out = np.full(v, -1e9)
        for t, p in pairs.items():
            out[runner.id_of(t)] = math.log(p)
        return out

    def logits(ids: Sequence[int]) -> np.ndarray:
        last = tok[ids[-1]]
        seen = {tok[i] for i in ids}
        if last.endswith("Sentiment:"):
            if " good" in seen:
                return dist({" positive": 0.75, " negative": 0.25})
            if " bad" in seen:
                return dist({" positive": 0.2, " negative": 0.8})
            return dist({" positive": 0.6, " negative": 0.4})
        if last.endswith("Review:") and ("Sentiment:" in seen or "\n\nSentiment:" in seen):
            label = [tok[i] for i in ids if tok[i] in (" positive", " negative")][-1]
            return dist({" good": 0.8, " bad": 0.2} if label == " positive" else {" good": 0.3, " bad": 0.7})
        return np.zeros(v)

    runner.logits_fn = logits
    return runner


LOG_U = math.log(1 / (len(VOCAB) + 2))  # uniform log-prob (vocab + <bos>, <unk>)


def test_registries_are_complete() -> None:
    assert set(SCORERS) == {"direct", "ppl", "channel"}
    assert set(CALIBRATIONS) == {"none", "contextual", "domain", "batch"}
    with pytest.raises(ConfigError, match="Known: direct, ppl, channel"):
        ScoringConfig("nope")
    with pytest.raises(ConfigError, match="direct scores only"):
        ScoringConfig("ppl", "contextual")


def test_direct_scores_by_hand() -> None:
    r = make_runner()
    res = score_prompt(r, FMT, [], "good film", WORDS, "direct")
    assert res.scores["positive"] == pytest.approx(math.log(0.75))
    assert res.scores["negative"] == pytest.approx(math.log(0.25))
    assert res.probs["positive"] == pytest.approx(0.75)
    assert res.pred == "positive"
    pos = res.label_scores[1]
    assert pos.tokens == (" positive",) and pos.n_tokens == 1
    assert pos.text == "Review: good film\nSentiment: positive"
    assert res.top_next[0].token == " positive" and res.top_next[0].prob == pytest.approx(0.75)
    assert len(res.top_next) == 10


def test_direct_mean_normalisation_divides_by_label_tokens() -> None:
    r = make_runner()
    words = {"negative": "negative film", "positive": "positive"}
    res = score_prompt(r, FMT, [], "good film", words, "direct", normalize="mean")
    assert res.scores["negative"] == pytest.approx((math.log(0.25) + LOG_U) / 2)
    total = score_prompt(r, FMT, [], "good film", words, "direct")
    assert total.scores["negative"] == pytest.approx(math.log(0.25) + LOG_U)


def test_ppl_matches_openicl_definition_by_hand() -> None:
    r = make_runner()
    res = score_prompt(r, FMT, [], "bad film", WORDS, "ppl")
    # tokens: <bos> Review: ␣bad ␣film \nSentiment: ␣label -> n = 6, five predicted tokens
    for label, p in (("positive", 0.2), ("negative", 0.8)):
        expected = -(4 * LOG_U + math.log(p)) / 6
        assert res.scores[label] == pytest.approx(expected)
        assert res.label_scores[list(WORDS).index(label)].n_tokens == 5
    assert res.pred == "negative"  # lowest mean NLL
    assert res.probs["negative"] > res.probs["positive"]


def test_channel_by_hand_and_demos_in_channel_form() -> None:
    r = make_runner()
    demos = [Demo("good film", "positive")]
    res = score_prompt(r, FMT, demos, "bad film", WORDS, "channel")
    # the demonstration renders label first: "Sentiment: positive\nReview: good film"
    assert res.label_scores[0].text == (
        "Sentiment: positive\nReview: good film\n\nSentiment: negative\nReview: bad film"
    )
    assert res.scores["negative"] == pytest.approx(math.log(0.7) + LOG_U)
    assert res.scores["positive"] == pytest.approx(math.log(0.2) + LOG_U)
    assert res.label_scores[0].tokens == (" bad", " film")
    assert res.pred == "negative"
    assert res.probs["negative"] == pytest.approx(0.7 / 0.9)


def test_channel_template_derivation() -> None:
    assert channel_template("Review: {text}\nSentiment: {label}") == "Sentiment: {label}\nReview: {text}"
    assert channel_template("Input: {text} Label: {label}") == "Label: {label}\nInput: {text}"
    assert channel_template("Q: {text}\nType:\n{label}.") == "{label}.\nQ: {text}\nType:"
    assert parse_channel_template("A {label} B {text} C") == ("A ", " B ", " C")
    with pytest.raises(PromptError, match="before"):
        parse_channel_template("{text} then {label}")


def test_contextual_calibration_by_hand() -> None:
    r = make_runner()
    res = score_prompt(r, FMT, [], "good film", WORDS, "direct", "contextual")
    # N/A, "" and [MASK] all give 0.4 / 0.6: p_cf = (0.4, 0.6); q ∝ (0.25/0.4, 0.75/0.6)
    assert res.prior == pytest.approx({"negative": 0.4, "positive": 0.6})
    q = np.array([0.25 / 0.4, 0.75 / 0.6])
    assert res.probs["positive"] == pytest.approx(q[1] / q.sum())
    assert any(c == "Review: N/A\nSentiment: negative" for c in r.calls)
    assert any(c == "Review: \nSentiment: negative" for c in r.calls)  # the empty input


def test_domain_calibration_uses_in_domain_strings() -> None:
    r = make_runner()
    res = score_prompt(
        r, FMT, [], "good film", WORDS, "direct", "domain", domain_texts=["film film", "film"], n_domain=3
    )
    # every domain string is "film film" (average length 1.5 words -> 2): p_cf = (0.4, 0.6)
    assert res.prior == pytest.approx({"negative": 0.4, "positive": 0.6})
    assert sum("Review: film film\nSentiment:" in c for c in r.calls) >= 1


def test_domain_strings_are_seeded_and_in_domain() -> None:
    texts = ["a b c d", "e f", "g h i"]
    one = domain_strings(texts, 20, np.random.default_rng(1))
    two = domain_strings(texts, 20, np.random.default_rng(1))
    assert one == two and len(one) == 20
    assert all(len(s.split()) == 3 for s in one)
    assert {w for s in one for w in s.split()} <= set("abcdefghi")
    with pytest.raises(ConfigError):
        domain_strings(["  "], 3, np.random.default_rng(0))


def test_batch_calibration_by_hand() -> None:
    r = make_runner()
    res = score_prompt(r, FMT, [], "good film", WORDS, "direct", "batch", batch_queries=["bad film"])
    prior = np.array([(0.25 + 0.8) / 2, (0.75 + 0.2) / 2])
    assert res.prior == pytest.approx({"negative": prior[0], "positive": prior[1]})
    q = np.array([0.25, 0.75]) / prior
    assert res.probs["positive"] == pytest.approx(q[1] / q.sum())
    with pytest.raises(ConfigError, match="batch"):
        score_prompt(r, FMT, [], "good film", WORDS, "direct", "batch")


def test_calibration_maths() -> None:
    logits = np.log(np.array([[0.75, 0.25], [0.2, 0.8]]))
    assert batch_prior(logits) == pytest.approx([0.475, 0.525])
    assert contextual_prior(np.log(np.array([[0.6, 0.4], [0.5, 0.5]]))) == pytest.approx([0.55, 0.45])
    cal = np.exp(apply_prior(logits[0], np.array([0.6, 0.4])))
    assert cal == pytest.approx(np.array([1.25, 0.625]) / 1.875)


def test_bad_input_raises_user_errors() -> None:
    r = make_runner()
    with pytest.raises(PromptError):
        score_prompt(r, FMT, [], "   ", WORDS)
    with pytest.raises(PromptError, match="at least two"):
        score_prompt(r, FMT, [], "good", {"positive": "positive"})
    with pytest.raises(PromptError, match="not one of"):
        score_prompt(r, FMT, [Demo("x", "neutral")], "good", WORDS)


def test_span_request_validation() -> None:
    with pytest.raises(ValueError):
        SpanRequest((), 1)
    with pytest.raises(ValueError):
        SpanRequest((1, 2), 0)
