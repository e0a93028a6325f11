"""ICL Explorer: router. Page config, session defaults, navigation.

The shared sidebar (model, dataset, device, seed) is drawn by `components.layout.page_setup()`,
which every page calls first (see that module for why).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import streamlit as st

from components.i18n import t
from components.nav import ROOT, existing_pages
from components.state import init_state


def main() -> None:
    st.set_page_config(page_title="ICL Explorer", page_icon=":material/psychology:", layout="wide")
    init_state()
    pages = [
        st.Page(str(ROOT / file), title=t(title), icon=icon, default=(i == 0))
        for i, (file, title, icon) in enumerate(existing_pages())
    ]
    # hidden: every page draws the links itself (components/nav.py says why)
    nav = st.navigation(pages, position="hidden")
    nav.run()


main()
