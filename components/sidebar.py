"""The shared sidebar: language, model, dataset (or the user's upload), device, seed, and
saving / loading / sharing the experiment."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from components import state
from components.experiment_io import apply_pending, render_experiment_io
from components.i18n import LANG_KEY, LANG_WIDGET, LANGUAGES, prepare_lang_widget, store_lang, t, t_error
from components.nav import render_nav
from engine.core.fingerprint import bytes_fingerprint
from engine.data.datasets import DATASETS, dataset_names
from engine.model.registry import MODELS

CUSTOM = "custom..."


def _show_upload(token: str, read: Callable[[], bytes], name: str, done_msg: str) -> None:
    """Parses the input once per content (see `state.load_upload`) and says what happened."""
    ds, error = state.load_upload(token, read, name)
    if error is None and ds is not None:
        st.caption(t(done_msg, n=len(ds.examples)))
        return
    st.error(t_error(str(error)))
    if ds is not None:
        st.info(t("The data loaded before ({n} rows) stays in use.", n=len(ds.examples)))


def render_sidebar() -> None:
    apply_pending()  # a loaded file or a shared link, before any widget is drawn
    state.keep_widgets()  # the last page's settings, while its widget keys still hold them
    with st.sidebar:
        render_nav()
        # the language is kept under LANG_KEY; the radio is a view of it (see components/i18n.py)
        prepare_lang_widget()
        st.session_state[LANG_KEY] = st.radio(
            "Language / 语言",
            list(LANGUAGES),
            format_func=LANGUAGES.__getitem__,
            horizontal=True,
            key=LANG_WIDGET,
            on_change=store_lang,
        )
        st.markdown("### ICL Explorer")
        names = [*MODELS, CUSTOM]
        # option titles translated now: format_func may be called outside this script run
        model_titles = {n: MODELS[n].title for n in MODELS} | {CUSTOM: t("Other (local path or HF id)")}
        current = str(st.session_state[state.MODEL])
        choice = st.selectbox(
            t("Model"),
            names,
            index=names.index(current) if current in MODELS else len(names) - 1,
            format_func=model_titles.__getitem__,
            key="sb_model_choice",
            help=t("Bundled models are installed by pip; nothing is downloaded at run time."),
        )
        if choice == CUSTOM:
            custom = st.text_input(
                t("Local directory, .gguf file or cached Hugging Face id"),
                value="" if current in MODELS else current,
                key="sb_model_custom",
            )
            if custom.strip():
                st.session_state[state.MODEL] = custom.strip()
        else:
            st.session_state[state.MODEL] = choice

        ds_names = [*dataset_names(), "upload"]
        ds_titles = {n: DATASETS[n].title for n in dataset_names()} | {"upload": t("Your file (CSV / JSONL)")}
        cur_ds = str(st.session_state[state.DATASET])
        ds = st.selectbox(
            t("Dataset"),
            ds_names,
            index=ds_names.index(cur_ds) if cur_ds in ds_names else 0,
            format_func=ds_titles.__getitem__,
            key="sb_dataset",
        )
        st.session_state[state.DATASET] = ds
        if ds == "upload":
            up = st.file_uploader(
                t("CSV or JSONL with `text` and `label` columns"),
                type=["csv", "jsonl", "json"],
                key="sb_upload",
            )
            if up is not None:
                _show_upload(f"file:{up.file_id}", up.getvalue, up.name, "Loaded {n} rows.")
            pasted = st.text_area(
                t("...or paste CSV / JSONL here"),
                key="sb_paste",
                height=90,
                placeholder="text,label\ngreat film,positive",
            )
            if up is None and pasted.strip():
                fmt_name = "pasted.jsonl" if pasted.lstrip().startswith("{") else "pasted.csv"
                try:
                    raw = pasted.encode("utf-8")
                except UnicodeEncodeError as exc:  # a lone surrogate: no file can hold it
                    st.error(
                        t(
                            "The pasted text has an invalid character (a lone surrogate) at position "
                            "{pos}; remove it and paste again.",
                            pos=exc.start,
                        )
                    )
                else:
                    token = f"paste:{bytes_fingerprint(raw)}"
                    _show_upload(token, lambda: raw, fmt_name, "Loaded {n} pasted rows.")
            if state.uploaded_dataset() is None:
                st.info(t("No file loaded yet: pages use SST-2 until you upload one."))

        st.session_state[state.DEVICE] = st.radio(
            t("Device"),
            list(state.DEVICES),
            index=list(state.DEVICES).index(str(st.session_state[state.DEVICE])),
            horizontal=True,
            key="sb_device",
            help=t("auto = CUDA when a GPU is present, else CPU."),
        )
        st.session_state[state.SEED] = int(
            st.number_input(
                t("Seed"),
                min_value=0,
                max_value=2**31 - 1,
                step=1,
                value=int(st.session_state[state.SEED]),
                key="sb_seed",
            )
        )
        render_experiment_io()
