"""Stop and time left for a page's long run (issue 22, long work): one helper for every page.

Streamlit interrupts a running script when any widget is clicked, so a Stop button drawn before
the run cannot be read during it: its ``on_click`` sets the page's stop flag at the start of the
rerun that the click causes. The run therefore keeps its partial result in session state after
every chunk; the rerun finds the flag and shows that partial result, marked, without starting the
run again until the user presses the page's Run button (`RunControl.clear`). The engine's
``should_stop`` reads the same flag, so a run that is not interrupted still stops between chunks.

Use, for an engine call that takes ``progress``, ``should_stop`` and ``on_chunk``::

    STOP = RunControl("sc")  # keys sc_stop_flag, sc_partial, sc_stop; full results in slot sc_results

    request = state.run_request("sc_last_request", settings_now, clicked, new=STOP.clear)
    result = STOP.run(
        key,                                      # everything the result depends on
        lambda hooks: evaluate(runner, ..., progress=hooks.progress,
                               should_stop=hooks.should_stop, on_chunk=hooks.on_chunk),
        total=len(queries),                       # or a callable, evaluated only when it runs
        done=lambda r: r.n_done,                  # items a (partial) result holds
        partial=lambda r: r.partial,              # whether the result was stopped early
        none_done=t("Stopped before the first queries were scored: press **Run** to run again."),
        unit=None,                                # None: "queries"; else t("evaluations") ...
        step_text=t("Evaluating: {msg}"),         # the engine's step message, placed in the bar
    )
    if result.partial: st.warning(...)            # the page marks a partial result its own way

`run` returns the result remembered for `key` (no work), or after a Stop the partial result kept
for `key` (never a new run; with nothing kept it warns with `none_done` and stops the script),
or else runs `work` with a progress bar ("n / N queries · about M s left · <step>") and a Stop
button. A run that does not fit that shape (token streaming) uses the parts: `running` (bar and
Stop slot), `recalled` (what to show) and `finish` (keep the result, full or partial).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import streamlit as st

from components import state
from components.i18n import t
from components.time_text import Clock as Clock  # re-exported
from components.time_text import duration_text as duration_text  # re-exported
from components.time_text import eta_text as eta_text  # re-exported
from engine.core.progress import ProgressFn

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class RunHooks(Generic[R]):
    """What `RunControl.run` hands the work: pass each to the engine call of the same name."""

    progress: ProgressFn  # (fraction, step message): draws the bar
    should_stop: Callable[[], bool]  # the stop flag, checked by the engine between chunks
    on_chunk: Callable[[R], None]  # keeps the partial result so far and updates the count


@dataclass(frozen=True, slots=True)
class RunControl(state.Prefixed):
    """The stop flag, the partial result and the full result of one page's run.

    Session keys start with `prefix` (``{prefix}_stop_flag``, ``{prefix}_partial``, the button
    ``{prefix}_stop``); the last full result is remembered in the `state.remember` slot `results`
    (default ``{prefix}_results``).
    """

    results: str = ""

    @property
    def flag_key(self) -> str:
        return self.key("stop_flag")

    @property
    def partial_key(self) -> str:
        return self.key("partial")

    @property
    def button_key(self) -> str:
        return self.key("stop")

    @property
    def results_slot(self) -> str:
        return self.results or self.key("results")

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

    @contextmanager
    def running(self, help: str | None = None, text: str | None = None) -> Iterator[Any]:
        """A progress bar (yielded) and the Stop button for the run inside; both go when it ends.

        `text` is the bar's first text (default "Starting..."); `help` the Stop button's tooltip.
        """
        bar = st.progress(0.0, text=text if text is not None else t("Starting..."))
        slot = self.stop_button(help)
        try:
            yield bar
        finally:
            bar.empty()
            slot.empty()

    def recalled(self, key: object, none_done: str) -> tuple[bool, Any]:
        """(True, what to show for `key` without running): the remembered full result, or after a
        Stop the partial one. After a Stop with nothing kept, warns with `none_done` and stops the
        script (a stopped run never starts again by itself). (False, None): run it."""
        found, value = state.recall(self.results_slot, key)
        if found:
            return True, value
        if self.stopped():
            partial = self.partial_for(key)
            if partial is None:
                st.warning(none_done)
                st.stop()
            return True, partial
        return False, None

    def finish(self, key: object, result: object, partial: bool) -> None:
        """Keeps a run's result: a partial one stays shown, marked, until Run is pressed; a full
        one is remembered for `key` and the stop flag is forgotten."""
        if partial:
            self.keep_partial(key, result)
            self.request_stop()
        else:
            state.remember(self.results_slot, key, result)
            self.clear()

    def run(
        self,
        key: object,
        work: Callable[[RunHooks[R]], R],
        *,
        total: int | Callable[[], int],
        done: Callable[[R], int],
        partial: Callable[[R], bool],
        none_done: str,
        unit: str | None = None,
        help: str | None = None,
        step_text: str = "{msg}",
    ) -> R:
        """The result for `key`: remembered, or partial after a Stop, or a new run (see the module
        docstring for an example).

        Args:
            key: everything the result depends on (model, data by content, config).
            work: runs the engine call with the hooks it is handed.
            total: items the run counts (or a callable, called only when the run starts).
            done: items a partial result holds, for the count and the time left.
            partial: whether a result was stopped early.
            none_done: the warning after a Stop that came before anything was kept.
            unit: the items counted, in the UI language (None: queries).
            help: the Stop button's tooltip (None: the chunk-of-queries one).
            step_text: a format string with ``{msg}``, the engine's step message.
        """
        found, value = self.recalled(key, none_done)
        if found:
            return value  # type: ignore[no-any-return]
        n_total = total() if callable(total) else total
        clock = Clock()
        with self.running(help) as bar:
            count = [eta_text(0, n_total, 0.0, unit)]

            def progress(frac: float, msg: str) -> None:
                text = f"{count[0]} · {step_text.format(msg=msg)}"
                bar.progress(min(max(frac, 0.0), 1.0), text=text)

            def on_chunk(result: R) -> None:
                self.keep_partial(key, result)
                count[0] = eta_text(done(result), n_total, clock.elapsed(), unit)

            result = work(RunHooks(progress, self.should_stop, on_chunk))
        self.finish(key, result, partial(result))
        return result
