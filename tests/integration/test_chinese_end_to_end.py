"""Chinese prompts and data end to end on the real default model: a Chinese CSV upload, a
Chinese template and label words, scores with per-token detail that reads as the original
text (SmolLM2's byte-level tokens split each Chinese character), and attention heatmaps with
readable axis labels."""

from __future__ import annotations

import numpy as np

from components.heatmaps import pattern_heatmap
from engine.data.datasets import parse_user_data
from engine.model.hf_runner import HFRunner
from engine.prompting.prompts import Demo, PromptFormat
from engine.scoring.scorers import score_prompt

CSV = "text,label\n这部电影非常精彩,正面\n剧情拖沓又无聊,负面\n演员的表演很动人,正面\n浪费时间的烂片,负面\n".encode()


def test_chinese_dataset_prompt_scores_and_heatmap(runner: HFRunner) -> None:
    ds = parse_user_data(CSV, "影评.csv")
    assert ds.label_names == ("正面", "负面")
    assert [e.label for e in ds.examples] == ["正面", "负面", "正面", "负面"]
    demos = [Demo(e.text, e.label) for e in ds.examples[:3]]
    fmt = PromptFormat("评论:{text}\n情感:{label}", "判断每条影评的情感。", "\n\n")
    words = {"正面": "正面", "负面": "负面"}
    res = score_prompt(runner, fmt, demos, ds.examples[3].text, words, "direct")
    assert res.prompt.text.startswith("判断每条影评的情感。\n\n评论:这部电影非常精彩\n情感:正面")
    assert abs(sum(res.probs.values()) - 1.0) < 1e-6
    for s in res.label_scores:
        # the scored tokens read as the label word, not as U+FFFD pieces
        assert "".join(s.tokens).strip() == s.word
        assert "\ufffd" not in "".join(s.tokens)
        assert np.all(np.isfinite(s.token_logprobs))

    seq = runner.sequence_logprobs(res.prompt.text)
    assert "".join(seq.tokens) == runner.decode(list(seq.token_ids))
    assert "\ufffd" not in "".join(seq.tokens)

    att = runner.attention(res.prompt.text)
    assert att.pattern.shape[-1] == len(att.tokens)
    fig = pattern_heatmap(att.pattern[0, 0], att.tokens)
    ticks = [t for axis in (fig.layout.xaxis, fig.layout.yaxis) for t in axis.ticktext]
    assert ticks and not any("\ufffd" in t for t in ticks)
    assert any(ch in "".join(ticks) for ch in "评论情感")
