"""What each sensitivity experiment's summary says, as a `Fact` (rendered by `facts.render`).

* order / selection: range, mean and std of accuracy over the orders or draws, and whether the
  best and the worst differ beyond the noise of the test queries.
* kcurve: per scorer, accuracy per k, the best with its Wilson interval, where the curve stays
  within `SATURATION_POINTS` of the best, its largest fall, and which k are within noise of it.
* labels: gold-label accuracy with its Wilson interval, and each other condition's difference
  from it, within or beyond noise (Newcombe).
* label_words: accuracy per word set, and the unrelated words' difference from the defaults.
* format: the range over the formats, best vs worst within or beyond noise.

Noise statements are for the number of test queries (`engine.core.stats.within_noise`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.core.stats import wilson_interval, within_noise
from engine.experiments.sensitivity.config import (
    LABEL_CONDITIONS,
    NOISE_CONFIDENCE,
    SATURATION_POINTS,
    Row,
    SensitivityConfig,
)
from engine.experiments.sensitivity.facts import Fact, Joined, english
from engine.experiments.sensitivity.jobs import mean
from engine.scoring.scorers import SCORERS

_EPS = 1e-9  # accuracies are means of fractions: compare them with a tolerance


def pct(x: float) -> str:
    """A proportion as the summaries write it (``0.125`` -> ``"12.5%"``, as ``{x:.1%}`` does)."""
    return f"{100 * x:.1f}%"


def runs_done(rows: Sequence[Row]) -> int:
    """The seeded draws the rows average (the most any row has: a stopped k-curve may have fewer
    for its last k)."""
    return max((r.runs for r in rows), default=0)


def noise_fact(a: float, b: float, n: int) -> Fact:
    """Whether accuracies `a` and `b` over `n` queries differ by more than Newcombe's 95 %
    interval of the difference allows (`within_noise`): ``noise.within`` or ``noise.beyond``."""
    return Fact("noise.within" if within_noise(a, b, max(1, n), NOISE_CONFIDENCE) else "noise.beyond")


def noise_word(a: float, b: float, n: int) -> str:
    """ "within noise" or "beyond noise" (`noise_fact` in English)."""
    return english(noise_fact(a, b, n))


def setting_of(row: Row) -> Fact | str:
    """A row's setting as a fact (its English `setting` for a row built by hand)."""
    return row.title if row.title is not None else row.setting


def seeds_fact(rows: Sequence[Row]) -> Fact:
    """How many draws the rows average: ``seeds.many`` (n) or ``seeds.one``."""
    runs = runs_done(rows)
    return Fact("seeds.many", {"n": runs}) if runs > 1 else Fact("seeds.one")


def spread_fields(rows: Sequence[Row]) -> dict[str, object]:
    """The fields of the order / selection summary: range, mean, std (points), macro-F1 range, noise."""
    accs = [r.accuracy for r in rows]
    f1s = [r.macro_f1 for r in rows]
    n = min(r.n for r in rows)
    return {
        "lo": min(accs),
        "hi": max(accs),
        "n": len(rows),
        "mean": mean(accs),
        "std": 100 * float(np.std(accs)),
        "f1_lo": min(f1s),
        "f1_hi": max(f1s),
        "noise": noise_fact(max(accs), min(accs), n),
        "n_q": n,
    }


def facts_order(rows: Sequence[Row], cfg: SensitivityConfig, n_labels: int) -> Fact:
    """``summary.order``: the spread over orders of the same k demonstrations."""
    return Fact("summary.order", {"k": cfg.k, **spread_fields(rows)})


def facts_selection(rows: Sequence[Row], cfg: SensitivityConfig, n_labels: int) -> Fact:
    """``summary.selection``: the spread over draws of k demonstrations (by the `draw` retriever)."""
    return Fact("summary.selection", {"k": cfg.k, "draw": Fact(f"draw.{cfg.draw}"), **spread_fields(rows)})


@dataclass(frozen=True, slots=True)
class KCurveStats:
    """What the k-curve summary says about one scoring function.

    Attributes:
        scorer: the scoring function.
        accuracy: mean accuracy per k, k ascending.
        n: test queries per evaluation (the noise statements are for this many queries).
        best_k: the smallest k with the best mean accuracy.
        best_interval: the Wilson interval (`NOISE_CONFIDENCE`) of the best accuracy over `n` queries.
        stable_from: the smallest k from which every tried k (it and all larger ones) is within
            `SATURATION_POINTS` of the best; None when the largest k is further below the best.
        drop: (k, larger k, fall) the largest fall of accuracy as k grows, when more than
            `SATURATION_POINTS` (the curve is not monotone); else None.
        drop_within_noise: that fall is within noise for `n` queries.
        within_noise: the other k whose difference from the best is within noise.
    """

    scorer: str
    accuracy: dict[int, float]
    n: int
    best_k: int
    best_interval: tuple[float, float]
    stable_from: int | None
    drop: tuple[int, int, float] | None
    drop_within_noise: bool
    within_noise: tuple[int, ...]

    @property
    def best(self) -> float:
        return self.accuracy[self.best_k]

    @property
    def largest_k(self) -> int:
        return max(self.accuracy)


def kcurve_stats(rows: Sequence[Row], cfg: SensitivityConfig) -> list[KCurveStats]:
    """Best k, plateau, largest fall and noise of each scoring function's k-curve."""
    out = []
    for scorer in cfg.kcurve_scorers:
        mine = sorted((r for r in rows if r.fields["scorer"] == scorer), key=lambda r: int(r.fields["k"]))
        if not mine:
            continue
        acc = {int(r.fields["k"]): r.accuracy for r in mine}
        n = max(1, min(r.n for r in mine))
        ks = list(acc)
        best_k = max(ks, key=lambda k: (acc[k], -k))
        best = acc[best_k]
        stable_from = None
        for k in reversed(ks):
            if acc[k] < best - SATURATION_POINTS - _EPS:
                break
            stable_from = k
        drop = max(
            ((i, j, acc[i] - acc[j]) for a, i in enumerate(ks) for j in ks[a + 1 :]),
            key=lambda d: d[2],
            default=None,
        )
        if drop is not None and drop[2] <= SATURATION_POINTS + _EPS:
            drop = None
        out.append(
            KCurveStats(
                scorer=scorer,
                accuracy=acc,
                n=n,
                best_k=best_k,
                best_interval=wilson_interval(best, n, NOISE_CONFIDENCE),
                stable_from=stable_from,
                drop=drop,
                drop_within_noise=drop is not None
                and within_noise(acc[drop[0]], acc[drop[1]], n, NOISE_CONFIDENCE),
                within_noise=tuple(
                    k for k in ks if k != best_k and within_noise(best, acc[k], n, NOISE_CONFIDENCE)
                ),
            )
        )
    return out


def kcurve_clauses(st: KCurveStats) -> Joined:
    """The plateau, fall and noise clauses of one scorer's part (none for a single k)."""
    if len(st.accuracy) < 2:
        return Joined((), "none")
    if st.stable_from is None:
        gap = 100 * (st.best - st.accuracy[st.largest_k])
        plateau = Fact("kcurve.below", {"k": st.largest_k, "gap": gap})
    elif st.stable_from == st.largest_k:
        plateau = Fact("kcurve.no_plateau")
    else:
        plateau = Fact("kcurve.plateau", {"k": st.stable_from, "points": 100 * SATURATION_POINTS})
    clauses = [plateau]
    if st.drop is not None:
        i, j, fall = st.drop
        noise = Fact("kcurve.drop_within_noise") if st.drop_within_noise else None
        clauses.append(Fact("kcurve.drop", {"k": j, "fall": 100 * fall, "ref": i, "noise": noise}))
    if len(st.within_noise) == len(st.accuracy) - 1:
        clauses.append(Fact("kcurve.all_within"))
    elif st.within_noise:
        clauses.append(Fact("kcurve.some_within", {"ks": Joined(tuple(map(str, st.within_noise)))}))
    else:
        clauses.append(Fact("kcurve.none_within"))
    return Joined(tuple(clauses), "none")


def facts_kcurve(rows: Sequence[Row], cfg: SensitivityConfig, n_labels: int) -> Fact:
    """``summary.kcurve``: one ``kcurve.scorer`` part per scoring function, the draws, chance."""
    parts = []
    for st in kcurve_stats(rows, cfg):
        lo, hi = st.best_interval
        shots = Joined(tuple(Fact("kcurve.shot", {"acc": a, "k": k}) for k, a in st.accuracy.items()))
        fields = {
            "scorer": st.scorer,
            "scorer_title": SCORERS[st.scorer].title,
            "shots": shots,
            "best": st.best,
            "best_k": st.best_k,
            "conf": 100 * NOISE_CONFIDENCE,
            "n": st.n,
            "lo": lo,
            "hi": hi,
            "clauses": kcurve_clauses(st),
        }
        parts.append(Fact("kcurve.scorer", fields))
    runs = runs_done([r for r in rows if int(r.fields["k"]) > 0]) or 1
    seeds = Fact("seeds.kcurve_many", {"n": runs}) if runs > 1 else Fact("seeds.kcurve_one")
    return Fact(
        "summary.kcurve", {"parts": Joined(tuple(parts), "semicolon"), "seeds": seeds, "chance": 1 / n_labels}
    )


def facts_labels(rows: Sequence[Row], cfg: SensitivityConfig, n_labels: int) -> Fact:
    """``summary.labels``: gold-label accuracy with its Wilson interval, and each other condition's
    difference from it, within or beyond noise (Newcombe) for the test queries. A stopped run
    names only the conditions it reached."""
    acc = {str(r.fields["condition"]): r.accuracy for r in rows}
    n = min(r.n for r in rows)
    gold = acc["gold"]  # a stopped run has it too: gold is the first evaluation of every draw
    lo, hi = wilson_interval(gold, n, NOISE_CONFIDENCE)
    others = tuple(
        Fact(
            "labels.other",
            {
                "condition": Fact(f"condition.{c}"),
                "acc": acc[c],
                "delta": 100 * (acc[c] - gold),
                "noise": noise_fact(acc[c], gold, n),
            },
        )
        for c in LABEL_CONDITIONS
        if c != "gold" and c in acc
    )
    fields = {"k": cfg.k, "gold": gold, "conf": 100 * NOISE_CONFIDENCE, "n": n, "lo": lo, "hi": hi}
    return Fact(
        "summary.labels",
        fields | {"others": Joined(others, "none"), "seeds": seeds_fact(rows), "chance": 1 / n_labels},
    )


def facts_label_words(rows: Sequence[Row], cfg: SensitivityConfig, n_labels: int) -> Fact:
    """``summary.label_words``: accuracy per word set, and the unrelated words' difference from the
    defaults, within or beyond noise for the test queries (left out when a stopped run did not
    reach them)."""
    default = rows[0]
    parts = tuple(
        Fact("label_words.part", {"words": "/".join(map(str, r.fields["words"].values())), "acc": r.accuracy})
        for r in rows
    )
    unrelated = next((r for r in rows if r.fields.get("kind") == "unrelated"), None)
    change = None
    if unrelated is not None:
        n = min(default.n, unrelated.n)
        change = Fact(
            "label_words.change",
            {
                "delta": 100 * (unrelated.accuracy - default.accuracy),
                "noise": noise_fact(unrelated.accuracy, default.accuracy, n),
                "n": n,
            },
        )
    return Fact(
        "summary.label_words",
        {"parts": Joined(parts), "change": change, "seeds": seeds_fact(rows), "chance": 1 / n_labels},
    )


def facts_format(rows: Sequence[Row], cfg: SensitivityConfig, n_labels: int) -> Fact:
    """``summary.format``: range of accuracy over the formats, best vs worst within or beyond noise."""
    best = max(rows, key=lambda r: r.accuracy)
    worst = min(rows, key=lambda r: r.accuracy)
    n = min(r.n for r in rows)
    return Fact(
        "summary.format",
        {
            "lo": worst.accuracy,
            "worst": setting_of(worst),
            "hi": best.accuracy,
            "best": setting_of(best),
            "n": len(rows),
            "seeds": seeds_fact(rows),
            "noise": noise_fact(best.accuracy, worst.accuracy, n),
            "n_q": n,
        },
    )


def summarize_kcurve(rows: Sequence[Row], cfg: SensitivityConfig, n_labels: int) -> str:
    """The k-curve summary in English (`facts_kcurve` rendered)."""
    return english(facts_kcurve(rows, cfg, n_labels))
