"""Sensitivity experiments on a FakeRunner whose "model" copies the most recent label word.

The fake model puts all its mass on the label-word token it saw last in the prompt (the label of
the demonstration next to the query), so every accuracy below is worked out by hand from the
demonstrations' labels, and `FakeRunner.calls` shows exactly which prompts were scored.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from engine.core.errors import ConfigError
from engine.data.datasets import Example
from engine.experiments.sensitivity import (
    EXPERIMENTS,
    Row,
    SensitivityConfig,
    derangement,
    draw_fixed_demos,
    draw_seed,
    input_only,
    kcurve_stats,
    no_label_format,
    pct,
    permutations,
    relabel,
    rng_for,
    run_experiment,
    summarize_kcurve,
    wilson_interval,
)
from engine.model.fake import FakeRunner
from engine.prompting.prompts import Demo, PromptError, PromptFormat, build_prompt, label_continuation
from engine.scoring.scorers import ScoringConfig

TEMPLATE = "Review: {text}\nSentiment: {label}"
FMT = PromptFormat(TEMPLATE, "Classify the review.", "\n\n")
WORDS = (("negative", "negative"), ("positive", "positive"))
LABEL_WORDS = ["negative", "positive", "bad", "good", "foo", "bar", "awful", "great"]
POOL = tuple(Example(f"pool{i} text{i}", "positive" if i % 3 else "negative", 100 + i) for i in range(12))
QUERIES = tuple(Example(f"query{i} words", "positive" if i % 2 else "negative", 500 + i) for i in range(7))


def _vocab(strings: Sequence[str]) -> list[str]:
    out: dict[str, None] = {}
    for s in strings:
        for tok in re.findall(r"\s*\S+|\s+", s):
            core = tok.lstrip()
            for pre in ("", " ", "\n", "\n\n", "\n###\n"):
                out[pre + core] = None
    return list(out)


def copy_last_label_runner(n_ctx: int = 2048) -> FakeRunner:
    """A fake model that predicts the label word it saw last (uniform when none)."""
    strings = [
        *(e.text for e in POOL + QUERIES),
        *LABEL_WORDS,
        "Review: Sentiment: Classify the review. Input: Label: Text: Answer:",
    ]
    vocab = _vocab(strings)
    holder: dict[str, FakeRunner] = {}

    def logits(ids: Sequence[int]) -> np.ndarray:
        r = holder["r"]
        label_ids = {r.ids[" " + w] for w in LABEL_WORDS}
        out = np.zeros(len(r.vocab))
        for i in reversed(ids):
            if i in label_ids:
                out[i] = 8.0
                break
        return out

    runner = FakeRunner(vocab, logits, n_ctx=n_ctx)
    holder["r"] = runner
    return runner


def cfg_of(experiment: str, **kw: object) -> SensitivityConfig:
    base: dict[str, object] = {"k": 3, "n": 4, "seed": 7, "draw": "random"}
    base.update(kw)
    return SensitivityConfig(experiment, FMT, WORDS, **base)  # type: ignore[arg-type]


def expected_copy_accuracy(shown_last: str | None, queries: Sequence[Example] = QUERIES) -> float:
    """Accuracy of the copy-last-label model when the last shown label is `shown_last`."""
    pred = shown_last if shown_last is not None else "negative"  # uniform: argmax takes the first label
    return float(np.mean([q.label == pred for q in queries]))


def full_texts(fmt: PromptFormat, demos: Sequence[Example], query: str, words: dict[str, str]) -> list[str]:
    prompt = build_prompt(fmt, [Demo(d.text, d.label) for d in demos], query, words)
    return ["".join(label_continuation(prompt.text, w)) for w in words.values()]


# ----------------------------------------------------------------------------------- pure helpers
def test_permutations_are_distinct_and_cover_all_when_few() -> None:
    rng = np.random.default_rng(0)
    assert permutations(3, 10, rng) == [
        (0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0),
    ]  # fmt: skip
    some = permutations(5, 20, np.random.default_rng(1))
    assert len(some) == 20 and len(set(some)) == 20
    assert all(sorted(p) == list(range(5)) for p in some)
    assert some == permutations(5, 20, np.random.default_rng(1))


def test_derangement_moves_every_label() -> None:
    labels = ["a", "b", "c", "d"]
    for s in range(20):
        m = derangement(labels, np.random.default_rng(s))
        assert sorted(m.values()) == labels
        assert all(m[x] != x for x in labels)
    assert derangement(["neg", "pos"], np.random.default_rng(3)) == {"neg": "pos", "pos": "neg"}


def test_input_only_and_no_label_format() -> None:
    assert input_only(FMT, "great film") == "Review: great film"
    braces = PromptFormat("{{x}} {text} means {label}.")
    assert input_only(braces, "hi") == "{x} hi"
    fmt = no_label_format(FMT, ["a b", "c"])
    assert fmt.instruction == "Classify the review.\n\nReview: a b\n\nReview: c"
    prompt = build_prompt(fmt, [], "q", dict(WORDS))
    assert prompt.text == "Classify the review.\n\nReview: a b\n\nReview: c\n\nReview: q\nSentiment: "


def test_relabel_copies() -> None:
    new = relabel(POOL, {0: "positive"})
    assert new[0] == Example(POOL[0].text, "positive", POOL[0].id)
    assert POOL[0].label == "negative"
    assert new[1] is POOL[1]


def test_rng_for_is_independent_of_call_order() -> None:
    a = rng_for(1, 2, 3).integers(0, 1000, 5)
    rng_for(9).integers(0, 10, 100)
    assert list(rng_for(1, 2, 3).integers(0, 1000, 5)) == list(a)


# ----------------------------------------------------------------------------------- validation
def test_config_validation_messages() -> None:
    with pytest.raises(ConfigError, match="Known: order, selection, kcurve"):
        cfg_of("nope")
    with pytest.raises(ConfigError, match="k >= 2"):
        cfg_of("order", k=1)
    with pytest.raises(ConfigError, match="N must be between"):
        cfg_of("selection", n=0)
    with pytest.raises(ConfigError, match="3 words for 2 labels"):
        cfg_of("label_words", alt_label_words=(("a", "b", "c"),))
    with pytest.raises(PromptError, match="same word"):
        cfg_of("label_words", alt_label_words=(("x", "x"),))
    with pytest.raises(ConfigError, match="no instruction"):
        SensitivityConfig("format", replace(FMT, instruction=""), WORDS)
    with pytest.raises(PromptError, match=r"\{text\}"):
        cfg_of("format", templates=("Sentiment: {label}",))
    with pytest.raises(ConfigError, match="direct scores only"):
        cfg_of("kcurve", scoring=ScoringConfig(calibration="contextual"), scorers=("direct", "ppl"))
    with pytest.raises(ConfigError, match="draw must be"):
        cfg_of("order", draw="topk")


def test_unknown_test_label_and_empty_queries() -> None:
    r = copy_last_label_runner()
    with pytest.raises(ConfigError, match="no test queries"):
        run_experiment(r, POOL, [], cfg_of("order"))
    with pytest.raises(ConfigError, match="'neutral'"):
        run_experiment(r, POOL, [Example("x", "neutral", 0)], cfg_of("order"))
    with pytest.raises(ConfigError, match="larger than the demonstration pool"):
        run_experiment(r, POOL[:2], QUERIES, cfg_of("selection", k=3))


# ----------------------------------------------------------------------------------- experiments
def test_order_scores_every_permutation_and_aggregates() -> None:
    r = copy_last_label_runner()
    cfg = cfg_of("order", n=10)
    res = run_experiment(r, POOL, QUERIES, cfg)
    demos = draw_fixed_demos(POOL, 3, "random", draw_seed(7, 0), dict(WORDS))
    assert len(res.rows) == 6 and res.n_evaluations == 6
    assert any("only 6 orders" in n for n in res.notes)
    seen = set()
    for row in res.rows:
        positions = row.fields["positions"]  # 1-based, as in the setting's name (issue 22, 7c)
        assert sorted(positions) == [1, 2, 3] and "permutation" not in row.fields
        assert row.setting == f"order {row.fields['order']}: " + "-".join(map(str, positions))
        order = [demos[p - 1] for p in positions]
        seen.add(tuple(order))
        assert list(row.fields["demo_ids"]) == [POOL[i].id for i in order]
        # the prompts scored: this order's demonstrations, every query, every label word
        for q in QUERIES:
            for text in full_texts(FMT, [POOL[i] for i in order], q.text, dict(WORDS)):
                assert text in r.calls
        assert row.accuracy == pytest.approx(expected_copy_accuracy(POOL[order[-1]].label))
        assert row.n == len(QUERIES) and row.tokens > 0
        assert row.prompt is not None and row.prompt.text.endswith(f"{QUERIES[0].text}\nSentiment: ")
    assert len(seen) == 6
    accs = [row.accuracy for row in res.rows]
    assert f"from {100 * min(accs):.1f}% to {100 * max(accs):.1f}% over 6 orders" in res.summary
    assert res.best().accuracy == max(accs) and res.worst().accuracy == min(accs)
    assert res.tokens_processed == sum(row.tokens for row in res.rows)
    payload = json.loads(json.dumps(res.to_json()))
    assert payload["experiment"] == "order"
    assert {"setting", "accuracy", "macro_f1", "positions", "demo_ids"} <= set(payload["rows"][0])


def test_order_is_seeded() -> None:
    a = run_experiment(copy_last_label_runner(), POOL, QUERIES, cfg_of("order", k=4, n=5))
    b = run_experiment(copy_last_label_runner(), POOL, QUERIES, cfg_of("order", k=4, n=5))
    c = run_experiment(copy_last_label_runner(), POOL, QUERIES, cfg_of("order", k=4, n=5, seed=8))

    def strip(res: object) -> list[dict[str, object]]:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in res.table()]  # type: ignore[attr-defined]

    assert strip(a) == strip(b)
    assert strip(a) != strip(c)
    assert len({r.fields["positions"] for r in a.rows}) == 5


def test_selection_draws_and_accuracies() -> None:
    r = copy_last_label_runner()
    res = run_experiment(r, POOL, QUERIES, cfg_of("selection", k=2, n=5))
    assert len(res.rows) == 5
    for j, row in enumerate(res.rows):
        demos = draw_fixed_demos(POOL, 2, "random", draw_seed(7, j), dict(WORDS))
        assert list(row.fields["demo_ids"]) == [POOL[i].id for i in demos]
        assert row.accuracy == pytest.approx(expected_copy_accuracy(POOL[demos[-1]].label))
        assert full_texts(FMT, [POOL[i] for i in demos], QUERIES[3].text, dict(WORDS))[1] in r.calls


def test_kcurve_means_spread_and_context_limit() -> None:
    r = copy_last_label_runner(n_ctx=40)  # k = 8 does not fit 40 tokens
    cfg = cfg_of("kcurve", n=3, ks=(0, 1, 2, 8), scorers=("direct", "ppl"))
    res = run_experiment(r, POOL, QUERIES, cfg)
    assert [row.setting for row in res.rows] == [
        "direct k=0", "direct k=1", "direct k=2", "ppl k=0", "ppl k=1", "ppl k=2",
    ]  # fmt: skip
    assert any("k = 8 left out" in n for n in res.notes)
    # k = 0 runs once; the others once per distinct seeded draw and scorer
    distinct = {
        (k, draw_fixed_demos(POOL, k, "random", draw_seed(7, j), dict(WORDS)))
        for k in (1, 2)
        for j in range(3)
    }
    assert res.n_evaluations == 2 * (1 + len(distinct))
    zero = res.rows[0]
    assert zero.runs == 1 and zero.accuracy == pytest.approx(expected_copy_accuracy(None))
    for row in res.rows[1:3]:
        k = row.fields["k"]
        expect = []
        for j in range(3):
            demos = draw_fixed_demos(POOL, k, "random", draw_seed(7, j), dict(WORDS))
            expect.append(expected_copy_accuracy(POOL[demos[-1]].label))
        assert list(row.accuracies) == pytest.approx(expect)
        assert row.accuracy == pytest.approx(np.mean(expect))
        assert row.accuracy_std == pytest.approx(np.std(expect))
        assert row.accuracy_min == pytest.approx(min(expect)) and row.accuracy_max == pytest.approx(
            max(expect)
        )
    rec = res.table()[1]
    assert {"runs", "accuracy_std", "accuracies", "scorer", "k"} <= set(rec)
    assert "Direct:" in res.summary and "Perplexity" in res.summary


def test_kcurve_nothing_fits() -> None:
    r = copy_last_label_runner(n_ctx=60)
    with pytest.raises(ConfigError, match="None of the k values fits"):
        run_experiment(r, POOL, QUERIES, cfg_of("kcurve", ks=(40, 64)))


def test_labels_conditions_relabel_demos_only() -> None:
    r = copy_last_label_runner()
    cfg = cfg_of("labels", k=3, n=2)
    res = run_experiment(r, POOL, QUERIES, cfg)
    assert [row.fields["condition"] for row in res.rows] == ["gold", "random", "flipped", "none"]
    gold, rand, flipped, none = res.rows
    for j in range(2):
        demos = draw_fixed_demos(POOL, 3, "random", draw_seed(7, j), dict(WORDS))
        gold_labels = [POOL[i].label for i in demos]
        assert gold.accuracies[j] == pytest.approx(expected_copy_accuracy(gold_labels[-1]))
        flip = {"negative": "positive", "positive": "negative"}
        assert flipped.accuracies[j] == pytest.approx(expected_copy_accuracy(flip[gold_labels[-1]]))
        assert none.accuracies[j] == pytest.approx(expected_copy_accuracy(None))
        shown = [Example(POOL[i].text, flip[POOL[i].label], POOL[i].id) for i in demos]
        assert full_texts(FMT, shown, QUERIES[0].text, dict(WORDS))[0] in r.calls
        bare = no_label_format(FMT, [POOL[i].text for i in demos])
        assert full_texts(bare, [], QUERIES[0].text, dict(WORDS))[0] in r.calls
    assert list(flipped.fields["shown_labels"]) == [
        {"negative": "positive", "positive": "negative"}[x] for x in gold.fields["demo_labels"]
    ]
    assert rand.runs == 2 and all(lab in ("negative", "positive") for lab in rand.fields["shown_labels"])
    # random labels: the copy model follows the last *shown* label
    demos0 = draw_fixed_demos(POOL, 3, "random", draw_seed(7, 0), dict(WORDS))
    assert rand.accuracies[0] == pytest.approx(expected_copy_accuracy(rand.fields["shown_labels"][-1]))
    assert len(demos0) == 3
    # the no-labels prompts show the inputs but no label word after them
    none_prompt = none.prompt
    assert none_prompt is not None
    assert "Review: " + POOL[demos0[0]].text + "\n\n" in none_prompt.text
    assert "Sentiment: negative" not in none_prompt.text and "Sentiment: positive" not in none_prompt.text
    # test queries keep their gold labels
    assert f"flipped labels {100 * flipped.accuracy:.1f}%" in res.summary


def test_label_words_sets_and_reuse() -> None:
    r = copy_last_label_runner()
    cfg = cfg_of("label_words", k=2, n=1, alt_label_words=(("bad", "good"), ("negative", "positive")))
    res = run_experiment(r, POOL, QUERIES, cfg)
    assert [row.setting for row in res.rows] == [
        "default: negative/positive",
        "yours: bad/good",
        "yours: negative/positive",
        "unrelated: foo/bar",
    ]
    assert res.n_evaluations == 3  # the repeated default set is reused
    assert res.rows[2].seconds == 0 and res.rows[2].accuracy == res.rows[0].accuracy
    demos = draw_fixed_demos(POOL, 2, "random", draw_seed(7, 0), dict(WORDS))
    last = POOL[demos[-1]].label
    for row in res.rows:
        assert row.accuracy == pytest.approx(expected_copy_accuracy(last))
    words = {"negative": "foo", "positive": "bar"}
    for text in full_texts(FMT, [POOL[i] for i in demos], QUERIES[2].text, words):
        assert text in r.calls
    assert res.rows[-1].fields["words"] == words


def test_format_settings() -> None:
    r = copy_last_label_runner()
    alt = "Input: {text}\nLabel: {label}"
    res = run_experiment(r, POOL, QUERIES, cfg_of("format", k=2, n=2, templates=(alt,)))
    assert [row.setting for row in res.rows] == [
        "template 1 + instruction",
        "template 1, no instruction",
        "template 2 + instruction",
    ]
    demos = draw_fixed_demos(POOL, 2, "random", draw_seed(7, 1), dict(WORDS))
    shown = [POOL[i] for i in demos]
    q = QUERIES[4].text
    assert full_texts(FMT, shown, q, dict(WORDS))[0] in r.calls
    no_instr = full_texts(replace(FMT, instruction=""), shown, q, dict(WORDS))[0]
    assert no_instr in r.calls and not no_instr.startswith("Classify")
    assert full_texts(replace(FMT, template=alt), shown, q, dict(WORDS))[1] in r.calls
    assert res.rows[1].fields["instruction"] == ""
    assert res.rows[2].fields["template"] == alt
    assert "over 3 formats" in res.summary


def test_progress_is_monotone_and_ends_at_one() -> None:
    seen: list[float] = []
    run_experiment(
        copy_last_label_runner(),
        POOL,
        QUERIES,
        cfg_of("selection", k=1, n=3),
        progress=lambda f, m: seen.append(f),
    )
    assert seen[-1] == 1.0
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(seen))


def test_registry_lists_all_experiments() -> None:
    assert list(EXPERIMENTS) == ["order", "selection", "kcurve", "labels", "label_words", "format"]


# ------------------------------------------------------------------ k-curve summary (issue 22, bug 3)
def _kcurve_rows(accs: dict[int, float], n: int = 20, scorer: str = "direct") -> list[Row]:
    return [
        Row(f"{scorer} k={k}", a, a, (a, a), (a, a), n, 0.1, 10, {"scorer": scorer, "k": k})
        for k, a in accs.items()
    ]


def test_kcurve_summary_of_the_issue_curve_is_not_monotone_and_has_no_plateau() -> None:
    # Sensitivity -> k-curve, 20 queries, 2 seeds: best at k = 1, k = 4 far below, k = 8 below too
    rows = _kcurve_rows({0: 0.5, 1: 0.8, 2: 0.7, 4: 0.325, 8: 0.65})
    cfg = cfg_of("kcurve", n=2, ks=(0, 1, 2, 4, 8))
    text = summarize_kcurve(rows, cfg, 2)
    assert "best 80.0% at k=1" in text
    assert "from k=1 on" not in text and "within 2 points of it from" not in text
    assert "not monotone: k=4 is 47.5 points below k=1" in text
    assert "k=8 (the largest) is 15.0 points below it" in text
    lo, hi = wilson_interval(0.8, 20)
    assert f"95% Wilson interval over 20 queries: {pct(lo)}–{pct(hi)}" in text
    # 65 % vs 80 % over 20 queries is noise, 32.5 % vs 80 % is not
    assert "k=2, 8 within noise of the best" in text
    stats = kcurve_stats(rows, cfg)[0]
    assert stats.stable_from is None and stats.drop == (1, 4, pytest.approx(0.475))
    assert stats.within_noise == (2, 8) and not stats.drop_within_noise


def test_kcurve_plateau_means_every_later_k_stays_within_two_points() -> None:
    cfg = cfg_of("kcurve", n=1, ks=(0, 1, 2, 4, 8, 16))
    # k = 2 reaches the best but k = 4 falls away: the plateau starts at k = 8
    rows = _kcurve_rows({0: 0.5, 1: 0.6, 2: 0.79, 4: 0.6, 8: 0.8, 16: 0.785}, n=200)
    stats = kcurve_stats(rows, cfg)[0]
    assert stats.best_k == 8 and stats.stable_from == 8
    text = summarize_kcurve(rows, cfg, 2)
    assert "every k from k=8 on within 2 points of it" in text
    assert "not monotone: k=4 is 19.0 points below k=2" in text
    # exactly 2 points below counts as within 2 points (no float rounding)
    rows = _kcurve_rows({0: 0.5, 1: 0.78, 2: 0.8, 4: 0.78}, n=200)
    stats = kcurve_stats(rows, cfg_of("kcurve", n=1, ks=(0, 1, 2, 4)))[0]
    assert stats.stable_from == 1 and stats.drop is None
    text = summarize_kcurve(rows, cfg_of("kcurve", n=1, ks=(0, 1, 2, 4)), 2)
    assert "not monotone" not in text and "every k from k=1 on within 2 points of it" in text
    assert "every other k differs from the best beyond noise" not in text  # k = 1 and 4 are noise


def test_kcurve_noise_for_few_and_many_queries() -> None:
    cfg = cfg_of("kcurve", n=1, ks=(0, 1, 2))
    few = summarize_kcurve(_kcurve_rows({0: 0.5, 1: 0.75, 2: 1.0}, n=4), cfg, 2)
    assert "every other k within noise of the best" in few
    many = summarize_kcurve(_kcurve_rows({0: 0.5, 1: 0.75, 2: 1.0}, n=400), cfg, 2)
    assert "every other k differs from the best beyond noise" in many
    assert "not monotone" not in many and "every k from" not in many
    assert (
        "at k=2 (95% Wilson interval over 400 queries: 99.0%–100.0%), the largest k: no plateau yet" in many
    )


def test_wilson_interval_matches_scipy() -> None:
    from scipy.stats import binomtest

    for successes, n in [(0, 10), (3, 10), (16, 20), (20, 20), (57, 200)]:
        ci = binomtest(successes, n).proportion_ci(confidence_level=0.95, method="wilson")
        assert wilson_interval(successes / n, n) == pytest.approx((ci.low, ci.high), abs=1e-9)
    lo, hi = wilson_interval(0.325, 20)  # a mean over seeds: 6.5 of 20
    assert wilson_interval(0.3, 20)[0] < lo < 0.325 < hi < wilson_interval(0.35, 20)[1]
    with pytest.raises(ValueError):
        wilson_interval(0.5, 0)
