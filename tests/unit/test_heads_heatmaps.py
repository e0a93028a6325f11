"""Figure builders of the Attention page (no Streamlit session needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from components.heatmaps import (
    ablation_bars,
    downsample,
    gold_prob_scatter,
    pattern_heatmap,
    score_heatmap,
    thumbnail_grid,
    token_label,
)
from components.surprisal import token_html


def test_downsample_block_means() -> None:
    m = np.arange(16, dtype=float).reshape(4, 4)
    np.testing.assert_allclose(downsample(m, 2), [[2.5, 4.5], [10.5, 12.5]])
    np.testing.assert_array_equal(downsample(m, 8), m)  # already small: unchanged
    # uneven blocks: 5 -> 2 bins of 2 and 3 rows/columns
    np.testing.assert_allclose(downsample(np.ones((5, 5)), 2), np.ones((2, 2)))


def test_score_heatmap_names_heads_and_uses_a_diverging_scale_for_copying() -> None:
    s = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.9]])
    fig = score_heatmap(s, "induction")
    hm = fig.data[0]
    assert hm.customdata[1][2] == "L1H2"
    assert hm.zmin == 0.0 and hm.zmax == 0.9
    cop = score_heatmap(s - 0.5, "copying").data[0]
    assert (cop.zmin, cop.zmax, cop.zmid) == (-1.0, 1.0, 0.0)


def test_pattern_heatmap_hover_has_the_token_pair_and_masks_the_future() -> None:
    p = np.tril(np.full((3, 3), 0.5))
    fig = pattern_heatmap(p, ["<s>", " the", "\ncat"])
    hm = fig.data[0]
    assert list(hm.customdata[2][1]) == ["#2 ↵cat", "#1 ·the"]
    assert math.isnan(hm.z[0][2]) and hm.z[2][0] == 0.5
    assert "weight %{z" in hm.hovertemplate
    assert token_label("a" * 30).endswith("…")


def test_thumbnail_grid_tiles_every_head_of_the_chosen_layers() -> None:
    pat = np.random.default_rng(0).random((4, 3, 40, 40))
    fig = thumbnail_grid(pat, size=8, layers=[1, 2])
    hm = fig.data[0]
    z = np.asarray(hm.z, dtype=float)
    assert z.shape == (2 * 9, 3 * 9)  # 8-pixel tiles + 1-pixel gaps
    assert hm.customdata[9 + 3][9 + 3] == "L2H1"
    np.testing.assert_allclose(z[0:8, 0:8], np.sqrt(downsample(pat[1, 0], 8)))


def test_ablation_figures() -> None:
    summary = [
        {"condition": "no ablation", "heads": "", "accuracy": 0.9, "mean_true_prob": 0.8},
        {"condition": "top-1 induction", "heads": "L1H1", "accuracy": 0.6, "mean_true_prob": 0.5},
    ]
    fig = ablation_bars(summary)
    assert list(fig.data[0].y) == [0.9, 0.6]
    rows = [
        {"query": 0, "condition": c, "label": lab, "prob": p, "gold": "pos"}
        for c, probs in (("no ablation", (0.7, 0.3)), ("top", (0.4, 0.6)))
        for lab, p in zip(("pos", "neg"), probs, strict=True)
    ]
    sc = gold_prob_scatter(rows)
    assert list(sc.data[0].x) == [0.7] and list(sc.data[0].y) == [0.4]


def test_token_html_escapes_and_colours_by_surprisal() -> None:
    out = token_html(["<script>", " ok", "\n"], [float("nan"), -0.01, -12.0])
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "no prediction" in out and "p = 0.9900" in out
    assert "rgba(220,50,47,0.90)" in out  # saturated red for 12 nats
    assert "↵<br>" in out


def test_ablation_bars_draw_each_accuracy_with_its_interval() -> None:
    summary = [
        {"condition": "no ablation", "heads": "", "accuracy": 0.75, "mean_true_prob": 0.6},
        {"condition": "top-2", "heads": "L1H1 L2H0", "accuracy": 0.5, "mean_true_prob": 0.5},
    ]
    fig = ablation_bars(summary, [(0.6, 0.85), (0.3, 0.7)])
    err = fig.data[0].error_y
    assert err.type == "data" and err.symmetric is False
    assert list(err.array) == pytest.approx([0.10, 0.20])  # up to the interval's top
    assert list(err.arrayminus) == pytest.approx([0.15, 0.20])  # down to its bottom
    assert fig.data[1].error_y.array is None  # P(gold) has no interval drawn
    assert ablation_bars(summary).data[0].error_y.array is None  # no intervals given: no bars
    with pytest.raises(ValueError, match="one interval per"):
        ablation_bars(summary, [(0.0, 1.0)])
