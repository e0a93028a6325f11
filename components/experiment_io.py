"""Save / load the experiment as a JSON file, and share it as a link (URL query parameter).

Loading happens in two steps because Streamlit forbids changing a widget's value after the
widget was drawn in the same run: the parsed experiment is parked in session state, the app
reruns, and `apply_pending()` (called before any widget) writes it into the session.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from components import prompt_editor as pe
from components import state
from components.i18n import LANG_KEY, set_lang, t, t_error
from engine.errors import ConfigError
from engine.experiment import (
    APP_VERSION,
    MAX_LINK_CHARS,
    Experiment,
    dumps,
    from_link_param,
    loads,
    to_link_param,
)
from engine.models import model_identity

PENDING = "pending_experiment"
LINK_APPLIED = "link_applied"
_PROMPT_KEYS = {pe.INSTRUCTION, pe.TEMPLATE, pe.SEPARATOR, pe.QUERY, pe.DEMOS, pe.DEMOS_BASE, pe.LABEL_WORDS}
_SKIP_PREFIXES = ("sb_", "exp_", "w_", "pl_lw_", "pl_demo_editor", "FormSubmitter", "$$", "_")


@st.cache_data(show_spinner=False, max_entries=16)
def _identity(name: str) -> str:
    return model_identity(name)


def current_experiment() -> Experiment:
    """The session's prompt and settings as an `Experiment`."""
    snap = pe.snapshot()
    settings: dict[str, Any] = {}
    for key, value in st.session_state.items():
        k = str(key)
        if k in _PROMPT_KEYS or k.startswith(_SKIP_PREFIXES) or k in state.DEFAULTS or k == LANG_KEY:
            continue
        # plain numbers and strings only: buttons (bools) cannot be restored by assignment
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and len(str(value)) < 4000:
            settings[k] = value
    model = str(st.session_state.get(state.MODEL, ""))
    return Experiment(
        model=model,
        dataset=str(st.session_state.get(state.DATASET, "sst2")),
        instruction=str(snap["instruction"]),
        template=str(snap["template"]),
        separator=str(snap["separator"]),
        query=str(snap["query"]),
        demos=tuple((str(d.get("text", "")), str(d.get("label", ""))) for d in snap["demos"]),
        label_words=tuple((str(k), str(v)) for k, v in snap["label_words"].items()),
        seed=int(st.session_state.get(state.SEED, 0)),
        model_identity=_identity(model),
        settings=tuple(sorted(settings.items())),
        language=str(st.session_state.get(LANG_KEY, "en")),
        app_version=APP_VERSION,
    )


def apply_pending() -> None:
    """Writes a parked experiment (file or link) into the session; call before any widget."""
    if not st.session_state.get(LINK_APPLIED):
        st.session_state[LINK_APPLIED] = True
        param = st.query_params.get("exp")
        if param:
            try:
                st.session_state[PENDING] = from_link_param(param)
            except ConfigError as exc:
                st.session_state["exp_error"] = str(exc)
    exp = st.session_state.pop(PENDING, None)
    if not isinstance(exp, Experiment):
        return
    st.session_state[state.MODEL] = exp.model
    st.session_state["sb_model_choice"] = exp.model if exp.model in _model_names() else "custom..."
    if st.session_state["sb_model_choice"] == "custom...":
        st.session_state["sb_model_custom"] = exp.model
    st.session_state[state.DATASET] = exp.dataset
    st.session_state["sb_dataset"] = exp.dataset
    st.session_state[state.SEED] = exp.seed
    st.session_state["sb_seed"] = exp.seed
    set_lang(exp.language if exp.language in ("en", "zh") else "en")
    # the prompt: mark it as belonging to the dataset so defaults do not overwrite it
    from components.state import get_dataset

    ds = get_dataset()
    st.session_state[pe.FOR_DATASET] = ds.fingerprint
    # canonical keys; the Prompt Lab's widgets re-initialise from them (before any is drawn)
    pe.set_prompt(
        instruction=exp.instruction,
        template=exp.template,
        separator=exp.separator,
        query=exp.query,
        label_words=dict(exp.label_words),
        demos=[{"text": a, "label": b} for a, b in exp.demos],
    )
    for key, value in exp.settings:
        st.session_state[key] = value
    current = _identity(exp.model)
    if exp.model_identity and current and exp.model_identity != current:
        st.session_state["exp_warning"] = (
            f"The experiment was saved with other weights for {exp.model} ({exp.model_identity}); "
            f"this machine has {current}. Results may differ."
        )
    st.session_state["exp_loaded"] = True


def _model_names() -> list[str]:
    from engine.models import MODELS

    return list(MODELS)


def render_experiment_io() -> None:
    """Sidebar section: download, upload and link."""
    with st.expander(t("Save, load, share")):
        if st.session_state.pop("exp_loaded", False):
            st.success(t("Experiment loaded."))
        if "exp_warning" in st.session_state:
            st.warning(st.session_state.pop("exp_warning"))
        if "exp_error" in st.session_state:
            st.error(t_error(str(st.session_state.pop("exp_error"))))
        exp = current_experiment()
        st.download_button(
            t("Save experiment (JSON)"),
            data=dumps(exp).encode("utf-8"),
            file_name="icl-experiment.json",
            mime="application/json",
            key="exp_download",
        )
        up = st.file_uploader(t("Load experiment"), type=["json"], key="exp_upload")
        if up is not None and st.session_state.get("exp_upload_done") != up.file_id:
            try:
                st.session_state[PENDING] = loads(up.getvalue())
                st.session_state["exp_upload_done"] = up.file_id
                st.rerun()
            except ConfigError as exc:
                st.error(t_error(str(exc)))
        pasted = st.text_area(t("...or paste an experiment JSON"), key="exp_paste", height=68)
        if st.button(t("Load pasted experiment"), key="exp_load_pasted"):
            try:
                st.session_state[PENDING] = loads(pasted)
                st.rerun()
            except ConfigError as exc:
                st.error(t_error(str(exc)))
        if st.button(t("Make a share link"), key="exp_link"):
            param = to_link_param(exp)
            if len(param) > MAX_LINK_CHARS:
                st.warning(t("This experiment is too large for a link; save it as a file instead."))
            else:
                st.query_params["exp"] = param
                st.caption(t("The address bar now holds the link; copy it. Relative part:"))
                st.code("?exp=" + param, language=None)
