"""Long runs: how many items are done, an estimate of the time left, and a way to stop between steps.

A run that can stop takes ``should_stop`` (a `StopFn`): it is called between chunks of work and,
when it returns True, the run returns what it finished so far, marked partial, never raising.
"""

from __future__ import annotations

from collections.abc import Callable

StopFn = Callable[[], bool]
ProgressFn = Callable[[float, str], None]  # (fraction done in [0, 1], message)


def eta_seconds(done: int, total: int, elapsed: float) -> float | None:
    """Seconds left at the rate so far (`elapsed` seconds for `done` items), or None before the
    first item is done. 0 when everything is done."""
    if total <= 0 or done >= total:
        return 0.0
    if done <= 0 or elapsed < 0:
        return None
    return elapsed / done * (total - done)


def duration_text(seconds: float) -> str:
    """A rough duration: "7 s", "2 min", "1.5 h"."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def eta_text(done: int, total: int, elapsed: float, unit: str = "queries") -> str:
    """ "n / N queries · about M s left" (only the count before the first item is done)."""
    count = f"{done} / {total} {unit}"
    left = eta_seconds(done, total, elapsed)
    if left is None or done >= total:
        return count
    return f"{count} · about {duration_text(left)} left"
