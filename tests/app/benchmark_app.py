"""AppTest entry point for the Benchmark section: the shared page setup (sidebar, title, banner),
then `render_benchmark_section()`, as the Scoring page draws it.

The sidebar's page links are left out while this page is drawn: Streamlit resolves them against
the entry file's folder (the repository root for app.py, tests/app here), and the section does
not depend on them. `render_nav` is restored at once, so other AppTests in the process keep theirs.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from components import sidebar
from components.benchmark_section import render_benchmark_section
from components.layout import page_setup

real_nav = sidebar.render_nav
sidebar.render_nav = lambda: None
try:
    page_setup("Scoring")
finally:
    sidebar.render_nav = real_nav
render_benchmark_section()
