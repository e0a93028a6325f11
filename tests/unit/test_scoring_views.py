"""Pure builders of the Scoring page: token view HTML, tables, CSV / JSONL downloads."""

from __future__ import annotations

import io
import json
import math

import pandas as pd
import pytest

from components.scoring_views import (
    confusion_figure,
    metrics_frame,
    queries_frame,
    results_csv,
    results_jsonl,
)
from components.tokens import colour, scored_view, summary, token_html, tooltip
from engine.evaluation.run import EvalConfig, evaluate
from engine.scoring.scorers import ScoringConfig
from tests.unit.test_evaluation import LABELS, POOL, TEST
from tests.unit.test_scoring import FMT, make_runner

NAN = float("nan")


def test_token_html_escapes_marks_scored_tokens_and_colours_by_surprisal() -> None:
    out = token_html(["<b>", " x", "\n"], [NAN, math.log(0.5), math.log(1 / 4096)])
    assert "&lt;b&gt;" in out and "<b>" not in out.replace("&lt;b&gt;", "")
    assert out.count("<span") == 3
    assert out.count("border-bottom") == 2  # the two scored tokens are underlined
    assert "↵<br>" in out
    assert "not scored" in out and "p = 0.5" in out and "surprisal 0.69 nats" in out
    assert colour(NAN) == "transparent"
    assert colour(0.0) == "rgba(220,50,47,0.10)"
    assert colour(-10.0) == "rgba(220,50,47,0.90)"  # saturates at 10 nats
    with pytest.raises(ValueError):
        token_html(["a"], [])


def test_tooltip_and_summary() -> None:
    assert "log p -0.6931" in tooltip("x", math.log(0.5), "logprob").split(", ")[1]
    assert summary([NAN, math.log(0.5), math.log(0.25)]).startswith(
        "2 of 3 tokens scored · sum log p = -2.079"
    )
    assert summary([NAN]) == "1 tokens, none scored"


def test_scored_view_pads_the_context_with_nan() -> None:
    toks, lps = scored_view(["a", "b", "c"], 2, [-1.0])
    assert toks == ["a", "b", "c"] and math.isnan(lps[0]) and math.isnan(lps[1]) and lps[2] == -1.0
    with pytest.raises(ValueError):
        scored_view(["a", "b"], 0, [-1.0])


def test_tables_and_downloads() -> None:
    r = make_runner()
    res = {
        "direct": evaluate(r, POOL, TEST, EvalConfig(FMT, LABELS, k=0, retrieval="zero")),
        "direct + batch": evaluate(
            r,
            POOL,
            TEST,
            EvalConfig(FMT, LABELS, k=0, retrieval="zero", scoring=ScoringConfig("direct", "batch")),
        ),
    }
    m = metrics_frame(res)
    assert list(m["variant"]) == ["direct", "direct + batch"] and m["accuracy"][0] == pytest.approx(0.6667)
    q = queries_frame(res)
    assert len(q) == 3 and q["direct: pred"][0] == "positive ✓" and q["direct: P(gold)"][0] == 0.75
    csv = pd.read_csv(io.BytesIO(results_csv(res)))
    assert len(csv) == 6 and {"score[positive]", "prob[negative]", "correct"} <= set(csv.columns)
    lines = [json.loads(x) for x in results_jsonl(res).decode().splitlines()]
    assert (
        len(lines) == 6
        and lines[0]["variant"] == "direct"
        and lines[0]["prompts"]["positive"].endswith("positive")
    )
    fig = confusion_figure(res["direct"], "direct")
    assert [list(row) for row in fig.data[0].z] == [[1, 0], [1, 1]]
