"""Page setup shared by every page: session defaults and the shared sidebar.

Every page calls `page_setup()` first. The router (app.py) could draw the sidebar itself, but
Streamlit's AppTest re-runs only the page script after the first run of a multipage app, so a
sidebar drawn by the router would vanish from tests after one interaction. Drawing it from the
page keeps the browser and the tests identical.
"""

from __future__ import annotations

import streamlit as st

from components.sidebar import render_sidebar
from components.state import init_state


def page_setup(title: str) -> None:
    """Seeds session defaults, draws the shared sidebar and the page title."""
    init_state()
    render_sidebar()
    st.title(title)
