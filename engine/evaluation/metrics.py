"""Classification metrics of one evaluation: accuracy, macro-F1, ECE, confusion matrix.

Macro-F1 averages the per-label F1 over the labels that occur in the gold labels or the
predictions (scikit-learn's default); ECE uses 10 equal-width confidence bins on the probability
of the predicted label (Guo et al. 2017).

References:
    Guo et al. 2017, "On Calibration of Modern Neural Networks" (ECE).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ECE_BINS = 10


@dataclass(frozen=True, slots=True)
class Metrics:
    """Classification metrics of one evaluation.

    Attributes:
        accuracy: fraction of correct predictions.
        macro_f1: unweighted mean of per-label F1 (labels in gold or predictions).
        ece: expected calibration error (10 equal-width bins).
        mean_true_prob: mean probability given to the gold label.
        confusion: counts `[gold label, predicted label]` in label order.
        per_label_f1: label -> F1.
        n: number of queries.
    """

    accuracy: float
    macro_f1: float
    ece: float
    mean_true_prob: float
    confusion: tuple[tuple[int, ...], ...]
    per_label_f1: dict[str, float]
    n: int


def compute_metrics(
    gold: Sequence[str], logp: np.ndarray, labels: Sequence[str], n_bins: int = ECE_BINS
) -> Metrics:
    """Accuracy, macro-F1, ECE, mean gold probability and confusion matrix.

    Args:
        gold: gold label names.
        logp: calibrated label log-probs `[query, label]`.
        labels: label names (columns of `logp`).
        n_bins: ECE bins.
    """
    n = len(gold)
    lab_index = {lab: i for i, lab in enumerate(labels)}
    if n == 0:
        return Metrics(0.0, 0.0, 0.0, 0.0, tuple(tuple(0 for _ in labels) for _ in labels), {}, 0)
    probs = np.exp(np.asarray(logp, dtype=np.float64))
    pred_i = probs.argmax(axis=1)
    gold_i = np.array([lab_index[g] for g in gold])
    correct = pred_i == gold_i
    conf = np.zeros((len(labels), len(labels)), dtype=int)
    np.add.at(conf, (gold_i, pred_i), 1)
    f1: dict[str, float] = {}
    for i, lab in enumerate(labels):
        tp = conf[i, i]
        n_pred, n_gold = conf[:, i].sum(), conf[i, :].sum()
        if n_pred == 0 and n_gold == 0:
            continue
        prec = tp / n_pred if n_pred else 0.0
        rec = tp / n_gold if n_gold else 0.0
        f1[lab] = float(2 * prec * rec / (prec + rec)) if prec + rec else 0.0
    confidence = probs.max(axis=1)
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        sel = bins == b
        if sel.any():
            ece += sel.mean() * abs(correct[sel].mean() - confidence[sel].mean())
    return Metrics(
        accuracy=float(correct.mean()),
        macro_f1=float(np.mean(list(f1.values()))) if f1 else 0.0,
        ece=float(ece),
        mean_true_prob=float(probs[np.arange(n), gold_i].mean()),
        confusion=tuple(tuple(int(x) for x in row) for row in conf),
        per_label_f1=f1,
        n=n,
    )
