"""Issue 22, bug 7 (smaller items): the views' units, ticks and counts (no model)."""

from __future__ import annotations

import itertools
import math

import pytest

from components.generation_views import loss_curve
from engine.experiments.ranking import RankedResponse, RankingResult


def _ranking() -> RankingResult:
    def resp(text: str, good: bool, lp: float, rank: int) -> RankedResponse:
        return RankedResponse(text, good, lp, lp / 2, 2, ("a", "b"), (lp / 2, lp / 2), rank)

    rows = (
        resp("Paris.", True, -2.0, 1),
        resp("Lyon.", False, -9.0, 2),
        resp("I don't know.", False, -12.0, 3),
    )
    return RankingResult(rows, (0, 1, 2), "sum", 1.0, 0.1, 1.0, "ctx")


def test_tau_axis_has_one_readable_label_per_tick() -> None:
    """(a) the log tau axis showed plotly's minor digits ("5 0.1 2 5 1 2 5 10 2")."""
    fig = loss_curve(_ranking(), "sum", 1.0)
    axis = fig.layout.xaxis
    assert axis.type == "log"
    vals, text = list(axis.tickvals), list(axis.ticktext)
    assert vals == sorted(vals) and len(vals) == len(text) == len(set(text))
    assert [float(s) for s in text] == vals  # each label is the value it marks
    xs = fig.data[0].x
    assert vals[0] <= min(xs) * 1.0001 and vals[-1] >= max(xs) * 0.9999
    assert all(math.log10(b / a) >= 0.3 for a, b in itertools.pairwise(vals))  # room for the labels


def test_surprisal_is_in_nats_on_scoring_and_attention(monkeypatch: pytest.MonkeyPatch) -> None:
    """(b) the Scoring page said bits, the Attention page nats: both say nats (-ln p, like log p)."""
    import components.surprisal as attention_view
    import components.tokens as scoring_view

    lp = math.log(1 / 8)  # surprisal 2.08 nats = 3 bits
    scoring = scoring_view.token_html(["a", " b"], [float("nan"), lp])
    attention = attention_view.token_html(["a", " b"], [float("nan"), lp])
    for out in (scoring, attention):
        assert "2.08 nats" in out and "bits" not in out
    assert "2.08 nats" in scoring_view.summary([float("nan"), lp])
    # one colour scale: the same surprisal saturates at the same value on both pages
    assert scoring_view.MAX_NATS == attention_view.MAX_NATS
    assert scoring_view.colour(-scoring_view.MAX_NATS) == "rgba(220,50,47,0.90)"
    captions: list[str] = []
    monkeypatch.setattr(scoring_view.st, "caption", captions.append)
    monkeypatch.setattr(scoring_view.st, "markdown", lambda *a, **k: None)
    scoring_view.render_tokens(["a", " b"], [float("nan"), lp])
    assert "nats" in captions[0] and "bits" not in captions[0]
