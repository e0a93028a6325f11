"""The app's pages and the page links at the top of the sidebar.

`PAGES` is the one list of pages: app.py builds `st.navigation` from it (hidden) and every page
draws these links through `page_setup`. Drawing the links ourselves, instead of Streamlit's
automatic sidebar navigation, keeps the titles translated and stable: with a `pages/` folder
beside app.py, Streamlit runs a page file directly (its v1 multipage mode) when a fresh server's
first request is a page URL, and its automatic navigation then lists file names.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from components.i18n import t

ROOT = Path(__file__).resolve().parent.parent

# (file, English title, icon); a new page is one entry. The first one is the default page.
PAGES: list[tuple[str, str, str]] = [
    ("pages/home.py", "Home", ":material/home:"),
    ("pages/prompt_lab.py", "Prompt Lab", ":material/edit_note:"),
    ("pages/scoring.py", "Scoring", ":material/leaderboard:"),
    ("pages/demo_selection.py", "Demo Selection", ":material/manage_search:"),
    ("pages/attention.py", "Attention", ":material/grid_on:"),
    ("pages/sensitivity.py", "Sensitivity", ":material/tune:"),
    ("pages/generation.py", "Generation", ":material/auto_awesome:"),
    ("pages/ranking.py", "Response Ranking", ":material/sort:"),
]


def existing_pages() -> list[tuple[str, str, str]]:
    """The entries of `PAGES` whose file exists."""
    return [p for p in PAGES if (ROOT / p[0]).exists()]


def render_nav() -> None:
    """One link per page, titles in the UI language; the current page is highlighted."""
    for file, title, icon in existing_pages():
        st.page_link(file, label=t(title), icon=icon)
    st.divider()
