"""Counts and durations in the UI language: "7 s", "n / N queries · about M s left".

Pure text (no widgets, no session state), so the run control, the model-load progress and the
generation views share one wording without importing each other.
"""

from __future__ import annotations

import time

from components.i18n import t
from engine.core.progress import eta_seconds


def duration_text(seconds: float) -> str:
    """A rough duration in the UI language: "7 s", "2 min", "1.5 h"."""
    if seconds < 90:
        return t("{n} s", n=max(1, round(seconds)))
    if seconds < 90 * 60:
        return t("{n} min", n=round(seconds / 60))
    return t("{n} h", n=f"{seconds / 3600:.1f}")


def eta_text(done: int, total: int, elapsed: float, unit: str | None = None) -> str:
    """ "n / N queries · about M s left" in the UI language (the count only before the first is done).

    `unit` names other items counted, already in the UI language (``t("evaluations")``: "n / N
    evaluations · about M s left"); None counts queries.
    """
    left = eta_seconds(done, total, elapsed)
    if unit is None:
        if left is None or done >= total:
            return t("{done} / {total} queries", done=done, total=total)
        return t(
            "{done} / {total} queries · about {left} left", done=done, total=total, left=duration_text(left)
        )
    if left is None or done >= total:
        return t("{done} / {total} {unit}", done=done, total=total, unit=unit)
    return t(
        "{done} / {total} {unit} · about {left} left",
        done=done,
        total=total,
        unit=unit,
        left=duration_text(left),
    )


class Clock:
    """Wall time since the run started, for `eta_text`."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0
