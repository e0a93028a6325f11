"""Page setup shared by every page: session defaults, the shared sidebar, the title and a
"working on" banner with an "Open in Prompt Lab" button.

Every page calls `page_setup()` first. The router (app.py) could draw the sidebar itself, but
Streamlit's AppTest re-runs only the page script after the first run of a multipage app, so a
sidebar drawn by the router would vanish from tests after one interaction. Drawing it from the
page keeps the browser and the tests identical.
"""

from __future__ import annotations

import streamlit as st

from components import prompt_editor as pe
from components import state
from components.i18n import t
from components.sidebar import render_sidebar
from components.state import init_state

PROMPT_LAB = "pages/prompt_lab.py"


def working_on_banner(page: str | None) -> None:
    """One line saying which model, dataset and prompt the page works on."""
    demos = st.session_state.get(pe.DEMOS)
    query = str(st.session_state.get(pe.QUERY, "") or "")
    model = st.session_state.get(state.MODEL, "")
    ds = state.get_dataset()
    if demos is None:
        prompt_part = t("prompt not edited yet (dataset defaults)")
    else:
        short = query if len(query) <= 60 else query[:57] + "..."
        prompt_part = t("{k} demonstrations, query “{q}”", k=len(demos), q=short)
    cols = st.columns([5, 1]) if page != PROMPT_LAB else [st.container()]
    with cols[0]:
        st.caption(t("Working on: model **{m}** · dataset **{d}** · {p}", m=model, d=ds.title, p=prompt_part))
    if page != PROMPT_LAB:
        with cols[1]:
            if st.button(t("Open in Prompt Lab"), key="open_in_prompt_lab", width="stretch"):
                st.switch_page(PROMPT_LAB)


def page_setup(title: str, page: str | None = None) -> None:
    """Seeds session defaults, draws the shared sidebar, the page title and the banner.

    Args:
        title: the page title (already translated, or English to be translated).
        page: the page's path (e.g. "pages/scoring.py"); the Prompt Lab passes its own to hide
            the "Open in Prompt Lab" button.
    """
    init_state()
    render_sidebar()
    st.title(t(title))
    if page != "pages/home.py":
        working_on_banner(page)
