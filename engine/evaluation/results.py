"""What an evaluation returns: one `QueryResult` per test query and the `EvalResult` over them.

`QueryResult.to_json` is one line of the CLI's results.jsonl and `EvalResult.summary` its last
stdout line: both are CLI contracts, so their keys and order do not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.evaluation.config import EvalConfig
from engine.evaluation.metrics import Metrics
from engine.scoring.types import LabelScore


@dataclass(frozen=True, slots=True)
class QueryResult:
    """One evaluated query.

    Attributes:
        id: the example's id (source row).
        text: the query text.
        gold, pred: label names.
        demo_ids: ids of the demonstrations (their `Example.id`), in prompt order.
        pool_indices: the same demonstrations as indices into the pool.
        n_dropped: demonstrations dropped from the far end to fit the context.
        label_scores: per label: exact text scored, score and per-token log-probs.
        probs: calibrated label probabilities (label order).
        prior: the calibration prior used for this query (label order), if any.
    """

    id: int
    text: str
    gold: str
    pred: str
    demo_ids: tuple[int, ...]
    pool_indices: tuple[int, ...]
    n_dropped: int
    label_scores: tuple[LabelScore, ...]
    probs: tuple[float, ...]
    prior: tuple[float, ...] | None = None

    @property
    def scores(self) -> dict[str, float]:
        return {s.label: s.score for s in self.label_scores}

    @property
    def prompts(self) -> dict[str, str]:
        return {s.label: s.text for s in self.label_scores}

    @property
    def correct(self) -> bool:
        return self.gold == self.pred

    def to_json(self) -> dict[str, Any]:
        """The results.jsonl record (CLI contract), plus the calibrated probabilities."""
        return {
            "id": self.id,
            "text": self.text,
            "gold": self.gold,
            "pred": self.pred,
            "demo_ids": list(self.demo_ids),
            "scores": self.scores,
            "prompts": self.prompts,
            "probs": {s.label: p for s, p in zip(self.label_scores, self.probs, strict=True)},
        }


@dataclass(frozen=True, slots=True)
class EvalResult:
    """Result of `evaluate`: per-query results, metrics, cost.

    A stopped run is `partial`: `queries` holds the first queries only (equal to a full run's
    rows, calibration aside: a batch prior is taken over the queries done), the metrics are over
    those, and `n_total` says how many were asked for.
    """

    config: EvalConfig
    labels: tuple[str, ...]
    queries: tuple[QueryResult, ...]
    metrics: Metrics
    seconds: float
    tokens_processed: int
    partial: bool = False
    n_total: int = 0

    @property
    def n_done(self) -> int:
        return len(self.queries)

    def summary(self) -> dict[str, float | int]:
        """The CLI's last-line JSON object (a partial result adds ``partial`` and ``n_total``)."""
        out: dict[str, float | int] = {
            "accuracy": self.metrics.accuracy,
            "macro_f1": self.metrics.macro_f1,
            "ece": self.metrics.ece,
            "n_test": self.metrics.n,
            "seconds": self.seconds,
            "tokens_processed": self.tokens_processed,
        }
        if self.partial:
            out["partial"] = 1
            out["n_total"] = self.n_total
        return out
