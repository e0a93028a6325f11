"""Home: what in-context learning is, one live example, and a guided tour for teaching."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import prompt_editor as pe
from components import state
from components.layout import page_setup
from components.tour import TOUR_STEPS, live_example, start_step

page_setup("ICL Explorer", "pages/home.py")

st.markdown(
    """
**In-context learning (ICL)** is a language model's ability to pick up a task from examples written in its
prompt, with no change to its weights. Show it a few *demonstrations* (an input and its label), then a new
input, and it continues with a label. Which demonstrations you choose, their order, the words used for the
labels and even the format change the answer, sometimes by tens of accuracy points. Mechanistically, much of
ICL is carried by *induction heads*: attention heads that find an earlier occurrence of the current token and
copy what came after it.

This app lets you try all of that on real models that run on your own machine.
"""
)

ds = state.get_dataset()
split = state.get_split()
seed = int(st.session_state.get(state.SEED, 0))
pe.ensure_defaults(ds, split, seed)

st.subheader("A live example")
runner = state.get_runner()
if runner is not None:
    try:
        with st.spinner("Asking the model, zero-shot and 4-shot..."):
            rows = live_example(runner, ds, split, seed)
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        st.caption(
            "The same query, scored with no demonstrations and with four: the probability of each label "
            "word, normalised over the labels. Open the Prompt Lab to change anything."
        )
    except Exception as exc:  # pragma: no cover - shown, never raised
        st.warning(f"The live example could not run: {exc}")

st.subheader("Guided tour")
st.caption("Each step sets up the app and opens the page that shows it.")
cols = st.columns(len(TOUR_STEPS))
for i, (col, step) in enumerate(zip(cols, TOUR_STEPS, strict=True)):
    with col:
        st.markdown(f"**{i + 1}. {step.title}**")
        st.caption(step.text)
        if st.button(step.button, key=f"tour_{step.key}", width="stretch"):
            target = start_step(step.key, ds, split, seed)
            st.switch_page(target)
