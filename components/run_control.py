"""Stop and time left for a page's long run (issue 22, long work).

Streamlit interrupts a running script when any widget is clicked, so a Stop button drawn before
the run cannot be read during it: its ``on_click`` sets the page's stop flag at the start of the
rerun that the click causes. The run therefore keeps its partial result in session state after
every chunk (`RunControl.keep_partial`); the rerun finds the flag and shows that partial result,
marked, without starting the run again until the user presses the page's Run button
(`RunControl.clear`). The engine's ``should_stop`` reads the same flag, so a run that is not
interrupted still stops between chunks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import streamlit as st

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


@dataclass(frozen=True, slots=True)
class RunControl:
    """The stop flag and the partial result of one page's run, under keys that start with `prefix`."""

    prefix: str

    @property
    def flag_key(self) -> str:
        return f"{self.prefix}_stop_flag"

    @property
    def partial_key(self) -> str:
        return f"{self.prefix}_partial"

    @property
    def button_key(self) -> str:
        return f"{self.prefix}_stop"

    def request_stop(self) -> None:
        """The Stop button's on_click."""
        st.session_state[self.flag_key] = True

    def stopped(self) -> bool:
        return bool(st.session_state.get(self.flag_key))

    def should_stop(self) -> bool:
        """For the engine: checked between chunks."""
        return self.stopped()

    def clear(self) -> None:
        """A new run was asked for: forget the flag and the partial result."""
        st.session_state.pop(self.flag_key, None)
        st.session_state.pop(self.partial_key, None)

    def keep_partial(self, key: object, value: object) -> None:
        st.session_state[self.partial_key] = (key, value)

    def partial_for(self, key: object) -> Any:
        """The partial result kept for `key`, or None."""
        kept = st.session_state.get(self.partial_key)
        if isinstance(kept, tuple) and len(kept) == 2 and kept[0] == key:
            return kept[1]
        return None

    def stop_button(self, help: str | None = None) -> Any:
        """Draws the Stop button in a placeholder (call before the run; empty it after).

        `help` is the button's tooltip, already in the UI language (None: the chunk-of-queries one).
        """
        slot = st.empty()
        slot.button(
            t("Stop"),
            key=self.button_key,
            on_click=self.request_stop,
            help=help
            if help is not None
            else t("Ends the run after the current chunk of queries and keeps what is done."),
        )
        return slot


class Clock:
    """Wall time since the run started, for `eta_text`."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0
