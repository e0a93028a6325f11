"""Stop sequences in streamed text: where the first one starts, and how much text is final."""

from __future__ import annotations

from collections.abc import Sequence


def find_stop(text: str, stops: Sequence[str]) -> int | None:
    """Character index of the earliest stop sequence in `text`, or None."""
    found = [i for i in (text.find(s) for s in stops) if i >= 0]
    return min(found) if found else None


def safe_boundary(text: str, stops: Sequence[str]) -> int:
    """How much of `text` is final: excludes a trailing incomplete character and a trailing
    proper prefix of any stop sequence (the next tokens decide whether it is a stop)."""
    safe = len(text.rstrip("\ufffd"))
    head = text[:safe]
    hold = 0
    for s in stops:
        for k in range(min(len(s) - 1, safe), hold, -1):
            if head.endswith(s[:k]):
                hold = k
                break
    return safe - hold
