"""User text inside the HTML that the app draws with `st.markdown(..., unsafe_allow_html=True)`.

`html.escape` alone is not enough there: Streamlit still runs Markdown (and KaTeX) over the
string, so a demonstration such as ``![t](https://example.org/t.png)`` became an image and
``$5 and $10`` became maths. Every character that Markdown or KaTeX could act on is written as a
numeric character reference, which the browser shows as the character and Markdown never parses.
"""

from __future__ import annotations

# HTML's own specials and the Markdown / GFM / KaTeX syntax characters, replaced in one pass (a
# second pass over html.escape's output would mangle its "&#x27;")
_SPECIAL = "&<>\"'\\`*_{}[]()#+-.!$~|^=:"
_TABLE = {ord(c): f"&#{ord(c)};" for c in _SPECIAL}


def escape_text(text: str) -> str:
    """`text` as inert HTML: markup escaped, Markdown and LaTeX syntax neutralised."""
    return text.translate(_TABLE)
