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

from components.i18n import t_error
from engine.datasets import Dataset, Split, load_dataset, split_dataset
from engine.models import DEFAULT_MODEL, ModelLoadError, load_runner
from engine.runner import HFRunner

# session-state keys shared across pages
MODEL = "model_name"
DATASET = "dataset_name"
DEVICE = "device"
SEED = "seed"
UPLOADED = "uploaded_dataset"  # a Dataset parsed from the user's file, or None

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


@st.cache_resource(show_spinner=False, max_entries=3)
def _cached_runner(name: str, device: str) -> HFRunner:
    return load_runner(name, device=None if device == "auto" else device)


def get_runner() -> HFRunner | None:
    """The selected model (loaded once per process); shows an error and returns None on failure."""
    name = str(st.session_state.get(MODEL, DEFAULT_MODEL))
    device = str(st.session_state.get(DEVICE, "auto"))
    try:
        with st.spinner(f"Loading {name} (the first load dequantises the GGUF weights, 15-60 s)..."):
            return _cached_runner(name, device)
    except ModelLoadError as exc:
        st.error(t_error(str(exc)))
        return None


@st.cache_resource(show_spinner=False)
def _cached_dataset(name: str) -> Dataset:
    return load_dataset(name)


def get_dataset() -> Dataset:
    uploaded = st.session_state.get(UPLOADED)
    if st.session_state.get(DATASET) == "upload" and uploaded is not None:
        assert isinstance(uploaded, Dataset)
        return uploaded
    name = str(st.session_state.get(DATASET, "sst2"))
    if name == "upload":
        name = "sst2"
    return _cached_dataset(name)


@st.cache_resource(show_spinner=False, max_entries=16)
def _cached_split(name: str, n_test: int | None, seed: int, _ds: Dataset) -> Split:
    return split_dataset(_ds, n_test=n_test, seed=seed)


def get_split(n_test: int | None = None) -> Split:
    ds = get_dataset()
    key = ds.source if not ds.source.startswith("upload:") else f"{ds.source}:{len(ds.examples)}"
    return _cached_split(key, n_test, int(st.session_state.get(SEED, 0)), ds)


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
    store = st.session_state.get("_remembered")
    if not isinstance(store, dict):
        store = {}
        st.session_state["_remembered"] = store
    last = store.get(slot)
    if last is not None and last[0] == key:
        return last[1]  # type: ignore[no-any-return]
    value = compute()
    store[slot] = (key, value)
    return value
