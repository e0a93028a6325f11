"""The one owner of the shared prompt in session state.

The prompt (instruction, template, separator, label words, demonstrations, query) lives under
the canonical ``pl_*`` keys below, which no widget uses. Streamlit drops a widget's session-state
entry on every run that does not draw the widget, and the sidebar and pages are drawn by each page
script, so a page change drops every widget key of the page left behind: a prompt kept under
widget keys vanished after one visit to another page (issue 21).

So the Prompt Lab's widgets have keys of their own (``w_pl_*``, see `widget_key`): before a
widget is drawn its key is initialised from the canonical value when missing, and the widget
writes back through its on_change callback and a read-back after drawing
(`components.prompt_editor`). Programmatic changes (tour steps, "Open in Prompt Lab", loading an
experiment, dataset defaults, "Use this test query") go through `set_prompt`, which writes the
canonical keys and drops the widget keys so the widgets re-initialise from them. `set_prompt`
must run before the Prompt Lab's widgets are drawn in the run: from a callback, from
`apply_pending`, from `ensure_defaults`, or on another page.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

INSTRUCTION = "pl_instruction"
TEMPLATE = "pl_template"
SEPARATOR = "pl_separator"
DEMOS = "pl_demos"  # list of {"text", "label"} dicts, prompt order
DEMOS_BASE = "pl_demos_base"
EDITOR_VERSION = "pl_editor_version"
EDITOR_DRAWN = "pl_editor_drawn"  # the editor version drawn last (its edits may be dropped)
QUERY = "pl_query"
LABEL_WORDS = "pl_label_words"  # label name -> word
FOR_DATASET = "pl_dataset"  # fingerprint of the dataset the defaults came from (content, never its name)

WIDGET_PREFIX = "w_pl_"  # every Prompt Lab widget that mirrors a canonical key
W_INSTRUCTION = WIDGET_PREFIX + "instruction"
W_TEMPLATE = WIDGET_PREFIX + "template"
W_SEPARATOR = WIDGET_PREFIX + "separator"  # holds a name of `prompt_editor.SEPARATORS`
W_QUERY = WIDGET_PREFIX + "query"
W_WORD_PREFIX = WIDGET_PREFIX + "lw_"


def word_widget_key(label: str) -> str:
    """The widget key of the label word of `label`."""
    return W_WORD_PREFIX + label


def _drop_widgets(*keys: str) -> None:
    for key in keys:
        if key in st.session_state:
            del st.session_state[key]


def _drop_word_widgets() -> None:
    _drop_widgets(*[str(k) for k in list(st.session_state.keys()) if str(k).startswith(W_WORD_PREFIX)])


def set_demos(demos: list[dict[str, str]]) -> None:
    """Replaces the demonstrations (from any page) and resets the table editor."""
    st.session_state[DEMOS] = [dict(d) for d in demos]
    st.session_state[DEMOS_BASE] = [dict(d) for d in demos]
    st.session_state[EDITOR_VERSION] = int(st.session_state.get(EDITOR_VERSION, 0)) + 1


def set_prompt(
    *,
    instruction: str | None = None,
    template: str | None = None,
    separator: str | None = None,
    query: str | None = None,
    label_words: dict[str, str] | None = None,
    demos: list[dict[str, str]] | None = None,
) -> None:
    """Programmatic change of the given prompt fields (None = unchanged).

    Writes the canonical keys and drops the matching widget keys, so the Prompt Lab's widgets
    show the new values the next time they are drawn. Call it before those widgets are drawn
    in the run (see the module docstring); writing the key of a drawn widget is what raised
    StreamlitWidgetAlreadyInstantiatedError.
    """
    for value, key, widget in (
        (instruction, INSTRUCTION, W_INSTRUCTION),
        (template, TEMPLATE, W_TEMPLATE),
        (separator, SEPARATOR, W_SEPARATOR),
        (query, QUERY, W_QUERY),
    ):
        if value is not None:
            st.session_state[key] = str(value)
            _drop_widgets(widget)
    if label_words is not None:
        st.session_state[LABEL_WORDS] = {str(k): str(v) for k, v in label_words.items()}
        _drop_word_widgets()
    if demos is not None:
        set_demos(demos)


def snapshot() -> dict[str, Any]:
    """The shared prompt as plain data (for caching keys and saving)."""
    return {
        "instruction": st.session_state.get(INSTRUCTION, ""),
        "template": st.session_state.get(TEMPLATE, ""),
        "separator": st.session_state.get(SEPARATOR, "\n\n"),
        "demos": list(st.session_state.get(DEMOS, [])),
        "query": st.session_state.get(QUERY, ""),
        "label_words": dict(st.session_state.get(LABEL_WORDS, {})),
    }
