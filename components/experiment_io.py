"""Save / load the experiment as a JSON file, and share it as a link (URL query parameter).

Loading happens in two steps because Streamlit forbids changing a widget's value after the
widget was drawn in the same run: the parsed experiment is parked in session state, the app
reruns, and `apply_pending()` (called before any widget) writes it into the session.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from components import generation_views as gv
from components import prompt_editor as pe
from components import state
from components.cache import models as cache_models
from components.i18n import LANG_KEY, LANGUAGES, set_lang, t, t_error
from components.settings_schema import (
    GEN_PROMPT_KEYS,
    MAX_MODEL_CHARS,
    SETTINGS,
    Setting,
    listed,
    session_settings,
    validate_settings,
)
from engine.core.errors import ConfigError
from engine.data.datasets import dataset_names
from engine.data.gen_tasks import gen_task_names, load_gen_task, split_gen_task
from engine.experiments.share import (
    APP_VERSION,
    MAX_LINK_CHARS,
    Experiment,
    dumps,
    from_link_param,
    loads,
    to_link_param,
    version_note,
)
from engine.model.registry import ModelLoadError, check_model_name

PENDING = "pending_experiment"
LINK_APPLIED = "link_applied"
UPLOAD_GENERATION = "exp_upload_generation"  # the file uploader's key suffix, one more per loaded file
MESSAGES = "exp_messages"  # [(level, text)] from the last load, shown once in the sidebar
SEED_SETTING = Setting("int", 0, 2**31 - 1)  # the sidebar's seed input


def _identity(name: str) -> str:
    return cache_models.identity(name, state.weights_stamp(name))


def current_experiment() -> Experiment:
    """The session's prompt and settings as an `Experiment`."""
    snap = pe.snapshot()
    settings = session_settings()  # every setting of the schema the session holds
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
    # untrusted input: only values the sidebar's widgets accept are written, the rest reported
    rejected: list[tuple[str, str]] = []
    model_error = _model_error(exp.model)
    model_ok = model_error is None
    if model_ok:
        st.session_state[state.MODEL] = exp.model
        st.session_state["sb_model_choice"] = exp.model if exp.model in _model_names() else "custom..."
        if st.session_state["sb_model_choice"] == "custom...":
            st.session_state["sb_model_custom"] = exp.model
    else:
        rejected.append(("model", str(model_error)))
    if exp.dataset in (*dataset_names(), "upload"):
        st.session_state[state.DATASET] = exp.dataset
        st.session_state["sb_dataset"] = exp.dataset
    else:
        rejected.append(("dataset", f"unknown dataset {exp.dataset[:40]!r}"))
    seed_ok, why = SEED_SETTING.check(exp.seed)
    if why is None:
        st.session_state[state.SEED] = seed_ok
        st.session_state["sb_seed"] = seed_ok
    else:
        rejected.append(("seed", why))
    if exp.language in LANGUAGES:
        set_lang(exp.language)
    else:
        rejected.append(("language", f"not one of {', '.join(LANGUAGES)}"))
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
    saved = dict(exp.settings)
    accepted, bad = validate_settings(saved)
    _apply_settings(accepted)
    messages: list[tuple[str, str]] = []
    rejected += bad
    if rejected:
        items = [f"{key} ({why})" for key, why in rejected]
        messages.append(
            (
                "warning",
                t("Ignored {n} settings from the experiment: {items}", n=len(rejected), items=listed(items)),
            )
        )
    # only the pages the file has settings for: a file saved before a page was opened has none
    # of that page's settings, and listing them all on every load says nothing
    pages_saved = {key.split("_", 1)[0] for key in saved}
    missing = [key for key in SETTINGS if key not in saved and key.split("_", 1)[0] in pages_saved]
    if missing:
        messages.append(
            (
                "info",
                t(
                    "This experiment has no value for {n} settings ({keys}); those keep their current values.",
                    n=len(missing),
                    keys=listed(missing, 4),
                ),
            )
        )
    note = version_note(exp)  # another app version: it loads, with a warning
    if note is not None:
        messages.append(("warning", t_error(note)))
    current = _identity(exp.model) if model_ok else ""
    if exp.model_identity and current and exp.model_identity != current:
        messages.append(
            (
                "warning",
                f"The experiment was saved with other weights for {exp.model} ({exp.model_identity}); "
                f"this machine has {current}. Results may differ.",
            )
        )
    st.session_state[MESSAGES] = messages
    st.session_state["exp_loaded"] = True


def _model_error(name: str) -> str | None:
    """None for a bundled model or a custom path / hub id of one line and at most
    `MAX_MODEL_CHARS` characters; otherwise why not (the current model is kept)."""
    if name in _model_names():
        return None
    if len(name) > MAX_MODEL_CHARS:
        return f"a model name of {len(name):,} characters (at most {MAX_MODEL_CHARS:,})"
    if "\n" in name or "\r" in name:
        return "a model name on more than one line"
    try:
        check_model_name(name)
    except ModelLoadError as exc:
        return str(exc)
    return None


def _apply_settings(accepted: dict[str, Any]) -> None:
    """Writes validated settings (and the widget key of a setting kept under another key)."""
    if any(key in accepted for key in GEN_PROMPT_KEYS):
        # seed the Generation page from the saved task first, so its defaults do not overwrite
        # the saved prompt fields when the page opens
        source = accepted.get(gv.GEN_SOURCE, st.session_state.get(gv.GEN_SOURCE, gv.GEN_SOURCES[0]))
        if source == gv.GEN_SOURCES[0]:
            name = str(accepted.get(gv.GEN_TASK, st.session_state.get(gv.GEN_TASK, gen_task_names()[0])))
            task = load_gen_task(name)
            seed = int(st.session_state.get(state.SEED, 0))
            gv.ensure_defaults(task, split_gen_task(task, seed=seed), seed)
    for key, value in accepted.items():
        st.session_state[key] = value
        widget = SETTINGS[key].widget
        if widget:
            st.session_state[widget] = value


def _model_names() -> list[str]:
    from engine.model.registry import MODELS

    return list(MODELS)


def render_experiment_io() -> None:
    """Sidebar section: download, upload and link."""
    # What the last load did, dropped or could not check, shown once. The container is drawn in
    # every run, empty or not, so the expander below keeps its place in the sidebar: when these
    # notices were drawn straight before it, they shifted it by one slot in the run after a load
    # (and back in the next run), and the browser then re-created it collapsed, hiding the
    # uploaded file and the "loaded" message (issue 22, bug 4). They sit outside the expander,
    # so they are seen even when it is closed.
    notices = st.container()
    with notices:
        if st.session_state.pop("exp_loaded", False):
            st.success(t("Experiment loaded."))
        for level, text in st.session_state.pop(MESSAGES, []):
            (st.warning if level == "warning" else st.info)(text)
        if "exp_error" in st.session_state:
            st.error(t_error(str(st.session_state.pop("exp_error"))))
    with st.expander(t("Save, load, share")):
        exp = current_experiment()
        st.download_button(
            t("Save experiment (JSON)"),
            data=dumps(exp).encode("utf-8"),
            file_name="icl-experiment.json",
            mime="application/json",
            key="exp_download",
        )
        # A loaded file is consumed: the next run draws a new, empty uploader (another key), so
        # the file can be chosen again. With one uploader that kept the file, choosing the same
        # file again changed nothing in the browser's file input and did nothing (issue 22).
        generation = int(st.session_state.get(UPLOAD_GENERATION, 0))
        up = st.file_uploader(t("Load experiment"), type=["json"], key=f"exp_upload_{generation}")
        if up is not None:
            try:
                st.session_state[PENDING] = loads(up.getvalue())
            except ConfigError as exc:
                st.error(t_error(str(exc)))  # the bad file stays shown beside its error
            else:
                st.session_state[UPLOAD_GENERATION] = generation + 1
                st.rerun()
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
