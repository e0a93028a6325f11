"""Generation: few-shot / chain-of-thought prompts, two decoding strategies side by side, metrics.

widgets (`components.generation_inputs`) -> one frozen `GenSettings` -> a run
(`components.generation_run`: streamed, with a count, the time left and Stop) -> the views
(`components.generation_views`).
"""

from __future__ import annotations

import streamlit as st

from components import generation_inputs as gi
from components import generation_run as gr
from components import generation_views as gv
from components import state
from components.i18n import t
from components.layout import page_setup
from engine.model.hf_runner import HFRunner

page_setup(t("Generation"), "pages/generation.py")
seed = int(st.session_state.get(state.SEED, 0))

_task, split = gi.examples(seed)
loaded = state.get_runner()
if loaded is None:
    st.stop()
runner: HFRunner = loaded

widgets = gi.prompt_editor(split, seed)
settings = gi.decoding_settings(widgets, n_layers=runner.info.n_layers, seed=seed)

# ---------------------------------------------------------------- both strategies, side by side
run = st.button(t("Generate with both strategies"), type="primary", key="gen_run")
if run:
    gv.GEN_CTL.clear()
if run and (settings.cfg_a is None or settings.cfg_b is None):
    st.error(t("Fix the decoding settings above first."))
elif run:
    gr.generate_both(runner, settings)
gv.show_last_generation()

# ---------------------------------------------------------------- evaluation on the task's test items
with st.expander(t("Evaluate strategy A on the task's test items")):
    n_eval = int(
        st.number_input(
            t("Test items"),
            min_value=1,
            max_value=len(split.test),
            value=min(5, len(split.test)),
            step=1,
            key="gen_eval_n",
        )
    )
    if st.button(t("Evaluate"), key="gen_eval_run"):
        gv.EVAL_CTL.clear()
        if settings.cfg_a is None:
            st.error(t("Fix strategy A's settings first."))
        else:
            gr.evaluate_a(runner, settings, list(split.test[:n_eval]))
    gv.show_last_evaluation()
