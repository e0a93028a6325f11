"""Home: what in-context learning is, one live example, and a guided tour for teaching."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import prompt_editor as pe
from components import state
from components.i18n import t, t_error
from components.layout import page_setup
from components.tour import TOUR_STEPS, live_example, live_rows, render_zero_few, start_step, step_page
from engine.core.errors import USER_ERRORS
from engine.experiments.zero_few import N_QUERIES

page_setup(t("ICL Explorer"), "pages/home.py")

st.markdown(
    t(
        "**In-context learning (ICL)** is a language model's ability to pick up a task from examples "
        "written in its prompt, with no change to its weights. Show it a few *demonstrations* (an input "
        "and its label), then a new input, and it continues with a label. Which demonstrations you "
        "choose, their order, the words used for the labels and even the format change the answer, "
        "sometimes by tens of accuracy points. Mechanistically, much of ICL is carried by *induction "
        "heads*: attention heads that find an earlier occurrence of the current token and copy what "
        "came after it."
    )
)
st.markdown(t("This app lets you try all of that on real models that run on your own machine."))

ds = state.get_dataset()
split = state.get_split()
seed = int(st.session_state.get(state.SEED, 0))
pe.ensure_defaults(ds, split, seed)

st.subheader(t("A live example"))
runner = state.get_runner()
if runner is not None:
    try:
        with st.spinner(t("Scoring {n} test queries zero-shot and 4-shot...", n=N_QUERIES)):
            live = live_example(runner, ds, split, seed)
        # the rows are English; labels (and P(label) columns) are data and stay as they are
        shown = {"zero-shot": t("zero-shot"), "4-shot": t("4-shot")}
        table = pd.DataFrame(live_rows(live))
        table["prompt"] = [shown.get(p, p) for p in table["prompt"]]
        table = table.rename(
            columns={"prompt": t("prompt"), "prediction": t("prediction"), "gold": t("gold")}
        )
        st.dataframe(table, hide_index=True, width="stretch")
        render_zero_few(live)
    except USER_ERRORS as exc:
        st.warning(t("The live example could not run: {error}", error=t_error(str(exc))))

st.subheader(t("Guided tour"))
st.caption(t("Each step sets up the app and opens the page that shows it."))
cols = st.columns(len(TOUR_STEPS))
for i, (col, step) in enumerate(zip(cols, TOUR_STEPS, strict=True)):
    with col:
        # TourStep fields are English keys (see components/tour.py): translated here
        st.markdown(f"**{i + 1}. {t(step.title)}**")
        st.caption(t(step.text))
        # the step's state is set in the on_click callback, before any widget of the next run is
        # drawn (never by writing a drawn widget's key), then the page is switched
        if st.button(
            t(step.button),
            key=f"tour_{step.key}",
            width="stretch",
            on_click=start_step,
            args=(step.key, ds, split, seed),
        ):
            st.switch_page(step_page(step.key))
