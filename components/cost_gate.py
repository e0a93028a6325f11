"""Ask before a long run (issue 22: a 20,000-character query ran 256 s with no warning).

A page that is about to run something whose `CostEstimate` says it will take long keeps the
request as *pending* instead of running it, and `CostGate.render` shows the estimate with a
"Run anyway" button; the button's on_click hands the request to the page's own "run this"
callback, so the next rerun runs it as if its Run button had been pressed. Nothing the user
typed is touched: the pending request is a copy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from components import state
from components.cache.models import flops_per_s as flops_per_s  # re-exported
from components.i18n import t
from components.time_text import duration_text
from engine.model.cost import CostEstimate


@dataclass(frozen=True, slots=True)
class CostGate(state.Prefixed):
    """The pending long request of one page, under keys that start with `prefix`."""

    @property
    def pending_key(self) -> str:
        return self.key("pending_request")

    def hold(self, request: object, estimate: CostEstimate) -> None:
        """Keeps `request` until the user confirms it (or asks for something else)."""
        st.session_state[self.pending_key] = (request, estimate)

    def drop(self) -> None:
        st.session_state.pop(self.pending_key, None)

    def pending(self) -> tuple[object, CostEstimate] | None:
        kept = st.session_state.get(self.pending_key)
        if isinstance(kept, tuple) and len(kept) == 2 and isinstance(kept[1], CostEstimate):
            return kept
        return None

    def render(self, run: Callable[[object], None], what: str) -> bool:
        """Shows the pending request's estimate and a "Run anyway" button; True when one is shown.

        Args:
            run: the page's callback that makes a request the one to run (called on confirm).
            what: what the run does, for the message ("scoring this prompt").
        """
        kept = self.pending()
        if kept is None:
            return False
        request, est = kept

        def confirm() -> None:
            self.drop()
            run(request)

        st.warning(
            t(
                "This is a long run: the model reads {tokens} tokens in {passes} passes, and {what} "
                "takes about {time} on this machine (estimated from the model's size and a timed "
                "forward pass). Shorten the text, or start it anyway.",
                tokens=est.n_tokens,
                passes=est.n_passes,
                what=what,
                time=duration_text(est.seconds),
            )
        )
        c1, c2 = st.columns(2)
        with c1:
            st.button(t("Run anyway"), key=self.key("run_anyway"), on_click=confirm, type="primary")
        with c2:
            st.button(t("Cancel"), key=self.key("cancel_long"), on_click=self.drop)
        return True
