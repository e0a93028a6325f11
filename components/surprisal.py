"""The Attention page's per-token surprisal view (moved into `components.tokens`, the one token
strip renderer; kept as this import path for the page and the tests)."""

from __future__ import annotations

from components.tokens import MAX_NATS as MAX_NATS  # re-exported
from components.tokens import render_surprisal as render_surprisal  # re-exported
from components.tokens import surprisal_html

token_html = surprisal_html  # its name here before the move
