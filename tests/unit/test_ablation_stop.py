"""Stopping the ablation experiment between chunks (every condition on the same first queries), and
the paired statistics of its drops (McNemar exact test, exact interval, bootstrap interval)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import binomtest

from engine.core.errors import ConfigError
from engine.data.datasets import Example
from engine.evaluation.run import EvalConfig, EvalResult, QueryResult, compute_metrics
from engine.experiments.ablation import AblationConfig, AblationResult, ablation_experiment, paired_drop
from engine.interp.ablation import HeadSet
from engine.model.hf_runner import HFRunner
from engine.prompting.prompts import PromptFormat
from tests.unit.test_heads_model import tiny_llama

WORDS = ["great", "bad", "fun", "dull", "good", "awful", "nice", "poor", "fine"]
POOL = [Example(f"a {w} movie", "pos" if i % 2 == 0 else "neg", i) for i, w in enumerate(WORDS)]
QUERIES = [Example(f"{w} acting", "pos" if i % 3 else "neg", 100 + i) for i, w in enumerate(WORDS)]
CFG = EvalConfig(
    fmt=PromptFormat("Review: {text}\nSentiment: {label}"),
    label_words=(("pos", "good"), ("neg", "terrible")),
    k=2,
    seed=3,
)
SETS = (HeadSet("layer 0", ((0, 0), (0, 1), (0, 2), (0, 3))), HeadSet("L1H2", ((1, 2),)))


@pytest.fixture(scope="module")
def tiny() -> HFRunner:
    return tiny_llama(seed=2)


def _rows(res: EvalResult, n: int | None = None) -> list[tuple[object, ...]]:
    qs = res.queries if n is None else res.queries[:n]
    return [(q.id, q.demo_ids, q.pred, tuple(round(p, 5) for p in q.probs)) for q in qs]


def _conditions(res: AblationResult) -> list[EvalResult]:
    return [res.baseline, *(r.result for r in res.runs)]


@pytest.mark.parametrize("mode", ["zero", "mean"])
def test_stop_after_a_chunk_keeps_every_condition_on_the_same_first_queries(
    tiny: HFRunner, mode: str
) -> None:
    abl = AblationConfig(SETS, mode, n_reference=4)  # type: ignore[arg-type]
    full = ablation_experiment(tiny, POOL, QUERIES, CFG, abl)
    assert not full.partial and full.n_done == full.n_total == len(QUERIES)
    seen: list[int] = []
    asked: list[int] = []

    def on_chunk(part: AblationResult) -> None:
        seen.append(part.n_done)
        # what the page keeps after each chunk: all conditions over the same queries
        assert {c.n_done for c in _conditions(part)} == {part.n_done}

    def stop() -> bool:
        asked.append(1)
        return len(asked) >= 2  # stop before the third chunk

    part = ablation_experiment(
        tiny, POOL, QUERIES, CFG, abl, should_stop=stop, on_chunk=on_chunk, chunk_size=2
    )
    assert asked == [1, 1]  # checked between chunks only, never before the first
    assert seen == [2, 4]
    assert part.partial and part.n_done == 4 and part.n_total == len(QUERIES)
    for p, f in zip(_conditions(part), _conditions(full), strict=True):
        assert p.partial and p.n_total == len(QUERIES)
        assert _rows(p) == _rows(f, 4)  # the ablated rows too: the hooks were on for every chunk
        gold = [q.gold for q in p.queries]
        assert p.metrics == compute_metrics(gold, np.log([q.probs for q in p.queries]), p.labels)
    rows = part.summary()
    assert {r["n_queries"] for r in rows} == {4}
    assert [pd.n for pd in part.paired()] == [4, 4]


def test_chunked_run_without_a_stop_equals_one_chunk_and_the_ablation_changes_scores(tiny: HFRunner) -> None:
    abl = AblationConfig(SETS)
    whole = ablation_experiment(tiny, POOL, QUERIES, CFG, abl)
    seen: list[float] = []
    chunked = ablation_experiment(
        tiny,
        POOL,
        QUERIES,
        CFG,
        abl,
        should_stop=lambda: False,
        chunk_size=4,
        progress=lambda f, m: seen.append(f),
    )
    assert not chunked.partial
    assert seen == sorted(seen) and seen[-1] == 1.0
    for a, b in zip(_conditions(chunked), _conditions(whole), strict=True):
        assert _rows(a) == _rows(b)
    assert _rows(whole.runs[0].result) != _rows(whole.baseline)  # ablating layer 0 changes the answers' probs
    assert not any(len(layer.self_attn.o_proj._forward_pre_hooks) for layer in tiny.model.model.layers)


# ----------------------------------------------------------------------------- paired statistics
def _result(correct: list[bool], p_gold: list[float], ids: list[int] | None = None) -> EvalResult:
    """An EvalResult over binary queries whose prediction is right exactly where `correct` says."""
    labels = ("pos", "neg")
    qs = []
    for i, (ok, p) in enumerate(zip(correct, p_gold, strict=True)):
        probs = (p, 1.0 - p)
        qs.append(
            QueryResult(
                (ids or list(range(len(correct))))[i],
                "q",
                "pos",
                "pos" if ok else "neg",
                (),
                (),
                0,
                (),
                probs,
            )
        )
    logp = np.log(np.clip([q.probs for q in qs], 1e-12, 1.0))
    metrics = compute_metrics([q.gold for q in qs], logp, labels)
    cfg = EvalConfig(fmt=PromptFormat("{text} {label}"), label_words=(("pos", "a"), ("neg", "b")))
    return EvalResult(cfg, labels, tuple(qs), metrics, 0.0, 0, n_total=len(qs))


def _pair(n: int, lost: int, gained: int) -> tuple[EvalResult, EvalResult]:
    """Baseline and ablated results over `n` queries with `lost` right->wrong and `gained` wrong->right."""
    both = (n - lost - gained) // 2
    before = [True] * lost + [False] * gained + [True] * both + [False] * (n - lost - gained - both)
    after = [False] * lost + [True] * gained + before[lost + gained :]
    return (
        _result(before, [0.9 if c else 0.2 for c in before]),
        _result(after, [0.9 if c else 0.2 for c in after]),
    )


def test_mcnemar_exact_p_and_the_drop_count_only_the_discordant_queries() -> None:
    base, abl = _pair(40, 8, 1)
    d = paired_drop(base, abl)
    assert (d.n, d.lost, d.gained) == (40, 8, 1)
    assert d.accuracy_drop == pytest.approx(7 / 40)
    assert d.accuracy_drop == pytest.approx(base.metrics.accuracy - abl.metrics.accuracy)
    assert d.p_value == pytest.approx(2 * (1 + 9) / 2**9)  # P(X <= 1) twice, X ~ Bin(9, 1/2)
    assert not d.accuracy_within_noise and d.accuracy_lo > 0
    # P(gold) moves 0.9 -> 0.2 on 8 queries and 0.2 -> 0.9 on one: +0.7 * 7 / 40 on average
    assert d.prob_drop == pytest.approx(0.7 * 7 / 40)
    assert d.prob_lo <= d.prob_drop <= d.prob_hi and d.prob_lo > 0 and not d.prob_within_noise
    # the reverse comparison is the mirror image
    r = paired_drop(abl, base)
    assert (r.lost, r.gained, r.p_value) == (1, 8, d.p_value)
    assert (r.accuracy_lo, r.accuracy_hi) == pytest.approx((-d.accuracy_hi, -d.accuracy_lo))


def test_four_to_one_on_forty_queries_is_within_noise() -> None:
    d = paired_drop(*_pair(40, 4, 1))
    assert d.p_value == pytest.approx(binomtest(4, 5, 0.5).pvalue) and d.p_value > 0.3
    assert d.accuracy_within_noise and d.accuracy_lo < 0 < d.accuracy_hi


@pytest.mark.parametrize("n", [10, 40])
def test_the_exact_interval_excludes_zero_exactly_when_mcnemar_rejects(n: int) -> None:
    for lost, gained in itertools.product(range(0, n + 1, 1 if n <= 10 else 3), repeat=2):
        if lost + gained > n:
            continue
        d = paired_drop(*_pair(n, lost, gained))
        assert d.accuracy_lo <= d.accuracy_drop <= d.accuracy_hi
        assert d.accuracy_lo >= -1.0 and d.accuracy_hi <= 1.0
        excludes_zero = d.accuracy_lo > 0 or d.accuracy_hi < 0
        assert excludes_zero == (not d.accuracy_within_noise), (lost, gained, d)


def test_no_discordant_query_and_constant_probability_shifts() -> None:
    same = _result([True, False, True], [0.8, 0.3, 0.6])
    d = paired_drop(same, _result([True, False, True], [0.7, 0.2, 0.5]))
    assert (d.lost, d.gained, d.p_value, d.accuracy_drop) == (0, 0, 1.0, 0.0)
    assert d.accuracy_within_noise
    assert (d.prob_drop, d.prob_lo, d.prob_hi) == pytest.approx((0.1, 0.1, 0.1))


def test_bootstrap_is_seeded_and_mismatched_queries_are_refused() -> None:
    rng = np.random.default_rng(1)
    before = _result([True] * 30, list(rng.uniform(0.5, 1, 30)))
    after = _result([True] * 30, list(rng.uniform(0.4, 1, 30)))
    assert paired_drop(before, after, seed=4) == paired_drop(before, after, seed=4)
    with pytest.raises(ConfigError, match="same queries"):
        paired_drop(before, _result([True] * 30, [0.5] * 30, ids=list(range(1, 31))))


def test_the_page_says_when_a_drop_is_within_noise(monkeypatch: pytest.MonkeyPatch) -> None:
    import components.i18n as i18n
    from components.ablation_views import drop_text, verdict_text

    monkeypatch.setattr(i18n, "lang", lambda: "en")
    up = paired_drop(*_pair(40, 1, 9))  # the default run on SmolLM2-135M: accuracy went up
    assert "went **up**" in verdict_text(up) and "Beyond noise" in verdict_text(up)
    assert "accuracy drop **-0.200**" in drop_text("top-10 induction", up)
    assert "McNemar exact p = 0.021" in drop_text("top-10 induction", up)
    assert "Within noise" in verdict_text(paired_drop(*_pair(40, 4, 4)))
    down = paired_drop(*_pair(40, 9, 1))
    assert verdict_text(down).startswith("Beyond noise") and "needs these heads" in verdict_text(down)
    assert "No query changed" in verdict_text(paired_drop(*_pair(40, 0, 0)))


def test_accuracy_intervals_are_the_wilson_intervals_of_each_condition() -> None:
    from engine.core.stats import wilson
    from engine.experiments.ablation import AblationRun

    base, abl = _pair(40, 8, 1)
    res = AblationResult(AblationConfig(SETS[:1]), base, (AblationRun(SETS[0], abl),))
    cis = res.accuracy_intervals()
    right_base = sum(q.pred == q.gold for q in base.queries)
    right_abl = sum(q.pred == q.gold for q in abl.queries)
    assert right_base - right_abl == 7
    assert cis == [wilson(right_base, 40), wilson(right_abl, 40)]
    for (lo, hi), row in zip(cis, res.summary(), strict=True):
        assert lo < row["accuracy"] < hi
