"""ICL Explorer: router. Page config, session defaults, navigation.

The shared sidebar (model, dataset, device, seed) is drawn by `components.layout.page_setup()`,
which every page calls first (see that module for why).
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import streamlit as st

from components.i18n import t
from components.state import init_state

ROOT = Path(__file__).parent

# (file, title, icon); a new page is one entry. The first one is the default page.
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


def main() -> None:
    st.set_page_config(page_title="ICL Explorer", page_icon=":material/psychology:", layout="wide")
    init_state()
    pages = [
        st.Page(str(ROOT / file), title=t(title), icon=icon, default=(i == 0))
        for i, (file, title, icon) in enumerate(PAGES)
        if (ROOT / file).exists()
    ]
    nav = st.navigation(pages)
    nav.run()


main()
