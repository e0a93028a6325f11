"""The Prompt Lab's editor of the shared prompt (instruction, template, label words,
demonstrations, query).

The prompt itself lives in `components.prompt_store` under canonical keys that no widget uses;
the widgets here have their own keys (``w_pl_*``), are initialised from the canonical values
when their key is missing (a fresh session, or a page change that dropped it), and write back
through on_change callbacks and a read-back after drawing. The canonical names are re-exported
here (``pe.INSTRUCTION`` ...) for the pages that read the prompt.

The demonstrations table uses the "base + version" pattern: `st.data_editor` edits a base table
that only changes on explicit actions (draw, shuffle, load from another page), each of which
bumps the editor's key; what the user typed is read back every run into ``pl_demos``. Feeding
the edited table back as the editor's data would re-apply the user's row deletions. When a page
change has dropped the editor's own state, the base is re-based on ``pl_demos`` so that edits
made before the page change stay.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from components import prompt_store as store
from components.draw_notice import show_draw_notice
from components.i18n import t
from components.prompt_store import DEMOS as DEMOS
from components.prompt_store import DEMOS_BASE as DEMOS_BASE
from components.prompt_store import EDITOR_VERSION as EDITOR_VERSION
from components.prompt_store import FOR_DATASET as FOR_DATASET
from components.prompt_store import INSTRUCTION as INSTRUCTION
from components.prompt_store import LABEL_WORDS as LABEL_WORDS
from components.prompt_store import QUERY as QUERY
from components.prompt_store import SEPARATOR as SEPARATOR
from components.prompt_store import TEMPLATE as TEMPLATE
from components.prompt_store import set_demos as set_demos
from components.prompt_store import set_prompt as set_prompt
from components.prompt_store import snapshot as snapshot
from engine.data.datasets import Dataset, Example, Split
from engine.prompting.prompts import Demo, PromptFormat

SEPARATORS = {"blank line (\\n\\n)": "\n\n", "new line (\\n)": "\n", "space": " ", "### line": "\n###\n"}


def _separator_names() -> dict[str, str]:
    """SEPARATORS' keys (the widget's stored values) -> their names in the UI language."""
    return {
        "blank line (\\n\\n)": t("blank line (\\n\\n)"),
        "new line (\\n)": t("new line (\\n)"),
        "space": t("space"),
        "### line": t("### line"),
    }


def draw_demo_indices(
    pool: tuple[Example, ...], k: int, seed: int, *, balanced: bool, labels: tuple[str, ...]
) -> list[int]:
    """Pool indices of k examples drawn with a seed; `balanced` takes them round-robin over the labels."""
    rng = np.random.default_rng(seed)
    if k <= 0 or not pool:
        return []
    if not balanced:
        return [int(i) for i in rng.choice(len(pool), size=min(k, len(pool)), replace=False)]
    by_label = {lab: [i for i, e in enumerate(pool) if e.label == lab] for lab in labels}
    for lab in by_label:
        rng.shuffle(by_label[lab])
    out: list[int] = []
    cursor = dict.fromkeys(labels, 0)
    while len(out) < k and any(cursor[lab] < len(by_label[lab]) for lab in labels):
        for lab in labels:
            if len(out) >= k:
                break
            if cursor[lab] < len(by_label[lab]):
                out.append(by_label[lab][cursor[lab]])
                cursor[lab] += 1
    order = rng.permutation(len(out))
    return [out[i] for i in order]


def draw_demos(
    pool: tuple[Example, ...], k: int, seed: int, *, balanced: bool, labels: tuple[str, ...]
) -> list[dict[str, str]]:
    """k pool examples drawn with a seed (`draw_demo_indices`), as editor rows."""
    idx = draw_demo_indices(pool, k, seed, balanced=balanced, labels=labels)
    return [{"text": pool[i].text, "label": pool[i].label} for i in idx]


def ensure_defaults(ds: Dataset, split: Split, seed: int) -> None:
    """Seeds the shared prompt from the dataset the first time, or when the dataset changes
    (call before the Prompt Lab's widgets are drawn: it resets them)."""
    if st.session_state.get(FOR_DATASET) == ds.fingerprint:
        return
    st.session_state[FOR_DATASET] = ds.fingerprint
    set_prompt(
        instruction=ds.instruction,
        template=ds.template,
        separator="\n\n",
        label_words=ds.label_word_map(),
        demos=draw_demos(split.pool, 4, seed, balanced=True, labels=ds.label_names),
        query=split.test[0].text if split.test else "",
    )


def current_format() -> PromptFormat:
    """The shared prompt format (raises PromptError when the template is invalid)."""
    return PromptFormat(
        template=str(st.session_state.get(TEMPLATE, "")),
        instruction=str(st.session_state.get(INSTRUCTION, "")),
        separator=str(st.session_state.get(SEPARATOR, "\n\n")),
    )


def current_demos() -> list[Demo]:
    return [Demo(str(d.get("text", "")), str(d.get("label", ""))) for d in st.session_state.get(DEMOS, [])]


def _table(rows: list[dict[str, str]]) -> pd.DataFrame:
    # explicit dtypes: an empty table must still have text columns, or the editor refuses them
    return pd.DataFrame(
        {
            "position": pd.Series(range(1, len(rows) + 1), dtype="int64"),
            "text": pd.Series([r["text"] for r in rows], dtype="string"),
            "label": pd.Series([r["label"] for r in rows], dtype="string"),
        }
    )


def _rows_from_editor(df: pd.DataFrame) -> list[dict[str, str]]:
    """Edited table -> demos in prompt order (rows sorted by the position column; blanks last)."""
    rows: list[tuple[float, int, dict[str, str]]] = []
    for i, rec in enumerate(df.to_dict("records")):
        text = rec.get("text")
        label = rec.get("label")
        pos = rec.get("position")
        text_s = "" if text is None or (isinstance(text, float) and np.isnan(text)) else str(text)
        label_s = "" if label is None or (isinstance(label, float) and np.isnan(label)) else str(label)
        if not text_s.strip() and not label_s:
            continue  # a blank new row the user has not filled in yet
        try:
            key = (
                float(pos)
                if pos is not None and not (isinstance(pos, float) and np.isnan(pos))
                else float("inf")
            )
        except (TypeError, ValueError):
            key = float("inf")
        rows.append((key, i, {"text": text_s, "label": label_s}))
    rows.sort(key=lambda r: (r[0], r[1]))
    return [r[2] for r in rows]


def _init_widget(widget: str, value: object) -> None:
    """Gives a widget its canonical value when its key is missing (fresh session or page change)."""
    if widget not in st.session_state:
        st.session_state[widget] = value


def _write_back(widget: str, canonical: str) -> Callable[[], None]:
    """An on_change callback copying a text widget's value into its canonical key."""

    def copy() -> None:
        st.session_state[canonical] = str(st.session_state.get(widget, ""))

    return copy


def _separator_name(value: str) -> str:
    """The `SEPARATORS` name of a separator string (the first one for a custom separator)."""
    return next((n for n, v in SEPARATORS.items() if v == value), next(iter(SEPARATORS)))


def _store_separator() -> None:
    """on_change of the separator menu. Written back only when the user picks one, so a custom
    separator from a loaded experiment is not replaced by the menu's first entry."""
    st.session_state[SEPARATOR] = SEPARATORS[str(st.session_state[store.W_SEPARATOR])]


def _store_words(names: tuple[str, ...]) -> Callable[[], None]:
    """on_change of a label-word box: every label's word into the canonical dict."""

    def copy() -> None:
        words = dict(st.session_state.get(LABEL_WORDS, {}))
        for name in names:
            key = store.word_widget_key(name)
            if key in st.session_state:
                words[name] = str(st.session_state[key])
        st.session_state[LABEL_WORDS] = words

    return copy


def _text_area(label: str, canonical: str, widget: str, **kwargs: Any) -> None:
    """A text area mirroring `canonical` (init, callback, read-back)."""
    _init_widget(widget, str(st.session_state.get(canonical, "")))
    value = st.text_area(label, key=widget, on_change=_write_back(widget, canonical), **kwargs)
    st.session_state[canonical] = value


def render_editor(ds: Dataset, split: Split, seed: int) -> None:
    """Instruction, template, separator, label words, demonstrations table and query."""
    c1, c2 = st.columns([3, 2])
    with c1:
        _text_area(t("Instruction (optional, goes first)"), INSTRUCTION, store.W_INSTRUCTION, height=68)
        _text_area(
            t("Template (one demonstration; use {text} and {label})"),
            TEMPLATE,
            store.W_TEMPLATE,
            height=68,
            help=t(
                "The query is rendered with the template up to {label}; the model continues with the label word."
            ),
        )
    with c2:
        sep_shown = _separator_names()
        _init_widget(store.W_SEPARATOR, _separator_name(str(st.session_state.get(SEPARATOR, "\n\n"))))
        st.selectbox(
            t("Separator between blocks"),
            list(SEPARATORS),
            format_func=lambda n: sep_shown.get(n, n),
            key=store.W_SEPARATOR,
            on_change=_store_separator,
        )
        st.markdown(t("**Label words** (what the model must say for each label)"))
        defaults = ds.label_word_map()
        current = dict(st.session_state.get(LABEL_WORDS, {}))
        words: dict[str, str] = {}
        cols = st.columns(min(len(ds.label_names), 3))
        store_words = _store_words(tuple(ds.label_names))
        for i, name in enumerate(ds.label_names):
            with cols[i % len(cols)]:
                key = store.word_widget_key(name)
                _init_widget(key, str(current.get(name, defaults[name])))
                words[name] = st.text_input(name, key=key, on_change=store_words)
        st.session_state[LABEL_WORDS] = words

    st.markdown(t("**Demonstrations** — edit cells, add or delete rows, change `position` to reorder."))
    b1, b2, b3, b4, b5 = st.columns([1.2, 1, 1, 1, 1])
    with b1:
        k = int(
            st.number_input(
                "k",
                min_value=0,
                max_value=64,
                value=4,
                step=1,
                key="pl_draw_k",
                help=t("How many demonstrations to draw"),
            )
        )
    with b2:
        balanced = st.checkbox(t("label-balanced"), value=True, key="pl_draw_balanced")
    with b3:
        if st.button(
            t("Draw from pool"),
            key="pl_draw",
            help=t("Replace the demonstrations with k examples from the pool"),
        ):
            draw_seed = seed + int(st.session_state.get(EDITOR_VERSION, 0))
            set_demos(draw_demos(split.pool, k, draw_seed, balanced=balanced, labels=ds.label_names))
            show_draw_notice(k, st.session_state[DEMOS], split.pool, ds.label_names, balanced)
    with b4:
        if st.button(t("Shuffle order"), key="pl_shuffle"):
            rows = list(st.session_state.get(DEMOS, []))
            rng = np.random.default_rng(seed + int(st.session_state.get(EDITOR_VERSION, 0)))
            set_demos([rows[i] for i in rng.permutation(len(rows))])
    with b5:
        if st.button(t("Reverse order"), key="pl_reverse"):
            set_demos(list(reversed(st.session_state.get(DEMOS, []))))

    version = int(st.session_state.get(EDITOR_VERSION, 0))
    editor_key = f"pl_demo_editor_{version}"
    if (
        editor_key not in st.session_state
        and st.session_state.get(store.EDITOR_DRAWN) == version
        and st.session_state.get(DEMOS) != st.session_state.get(DEMOS_BASE)
    ):
        # this table was drawn before and a page change dropped its edits: start from the
        # demonstrations as last edited
        st.session_state[DEMOS_BASE] = [dict(d) for d in st.session_state.get(DEMOS, [])]
    st.session_state[store.EDITOR_DRAWN] = version
    base = st.session_state.get(DEMOS_BASE, [])
    edited = st.data_editor(
        _table(base),
        key=editor_key,
        num_rows="dynamic",
        width="stretch",
        hide_index=True,
        column_config={
            # display labels only: the edited table keeps the column names position / text / label
            "position": st.column_config.NumberColumn(t("position"), min_value=1, step=1, width="small"),
            "text": st.column_config.TextColumn(t("text"), width="large"),
            "label": st.column_config.SelectboxColumn(
                t("label"), options=list(ds.label_names), width="small"
            ),
        },
    )
    st.session_state[DEMOS] = _rows_from_editor(edited)

    q1, q2 = st.columns([3, 2])
    with q2:
        options = list(range(min(len(split.test), 200)))

        def _use_test_query() -> None:
            i = int(st.session_state.get("pl_test_pick", 0))
            set_prompt(query=split.test[i].text)  # a callback: runs before the Query box is drawn

        st.selectbox(
            t("…or take a query from the test set"),
            options,
            format_func=lambda i: f"[{split.test[i].label}] {split.test[i].text[:70]}",
            key="pl_test_pick",
        )
        st.button(t("Use this test query"), key="pl_use_test", on_click=_use_test_query)
    with q1:
        _text_area(t("Query"), QUERY, store.W_QUERY, height=80)


def gold_label_of_query(split: Split) -> str | None:
    """The gold label when the query is a test-set example (for display only)."""
    q = str(st.session_state.get(QUERY, "")).strip()
    for e in split.test[:200]:
        if e.text == q:
            return e.label
    return None
