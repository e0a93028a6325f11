"""The shared sidebar: model, dataset (or the user's upload), device, seed."""

from __future__ import annotations

import streamlit as st

from components import state
from engine.datasets import DATASETS, DataError, dataset_names, parse_user_data
from engine.models import MODELS

CUSTOM = "custom..."


def render_sidebar() -> None:
    with st.sidebar:
        st.markdown("### ICL Explorer")
        names = [*MODELS, CUSTOM]
        current = str(st.session_state[state.MODEL])
        choice = st.selectbox(
            "Model",
            names,
            index=names.index(current) if current in MODELS else len(names) - 1,
            format_func=lambda n: MODELS[n].title if n in MODELS else "Other (local path or HF id)",
            key="sb_model_choice",
            help="Bundled models are installed by pip; nothing is downloaded at run time.",
        )
        if choice == CUSTOM:
            custom = st.text_input(
                "Local directory, .gguf file or cached Hugging Face id",
                value="" if current in MODELS else current,
                key="sb_model_custom",
            )
            if custom.strip():
                st.session_state[state.MODEL] = custom.strip()
        else:
            st.session_state[state.MODEL] = choice

        ds_names = [*dataset_names(), "upload"]
        cur_ds = str(st.session_state[state.DATASET])
        ds = st.selectbox(
            "Dataset",
            ds_names,
            index=ds_names.index(cur_ds) if cur_ds in ds_names else 0,
            format_func=lambda n: "Your file (CSV / JSONL)" if n == "upload" else DATASETS[n].title,
            key="sb_dataset",
        )
        st.session_state[state.DATASET] = ds
        if ds == "upload":
            up = st.file_uploader(
                "CSV or JSONL with `text` and `label` columns", type=["csv", "jsonl", "json"], key="sb_upload"
            )
            if up is not None:
                try:
                    st.session_state[state.UPLOADED] = parse_user_data(up.getvalue(), up.name)
                    st.caption(f"Loaded {len(st.session_state[state.UPLOADED].examples)} rows.")
                except DataError as exc:
                    st.session_state[state.UPLOADED] = None
                    st.error(str(exc))
            pasted = st.text_area(
                "...or paste CSV / JSONL here",
                key="sb_paste",
                height=90,
                placeholder="text,label\ngreat film,positive",
            )
            if up is None and pasted.strip():
                fmt_name = "pasted.jsonl" if pasted.lstrip().startswith("{") else "pasted.csv"
                try:
                    st.session_state[state.UPLOADED] = parse_user_data(pasted.encode("utf-8"), fmt_name)
                    st.caption(f"Loaded {len(st.session_state[state.UPLOADED].examples)} pasted rows.")
                except DataError as exc:
                    st.session_state[state.UPLOADED] = None
                    st.error(str(exc))
            if st.session_state.get(state.UPLOADED) is None:
                st.info("No file loaded yet: pages use SST-2 until you upload one.")

        st.session_state[state.DEVICE] = st.radio(
            "Device",
            ["auto", "cpu", "cuda"],
            index=["auto", "cpu", "cuda"].index(str(st.session_state[state.DEVICE])),
            horizontal=True,
            key="sb_device",
            help="auto = CUDA when a GPU is present, else CPU.",
        )
        st.session_state[state.SEED] = int(
            st.number_input(
                "Seed",
                min_value=0,
                max_value=2**31 - 1,
                step=1,
                value=int(st.session_state[state.SEED]),
                key="sb_seed",
            )
        )
