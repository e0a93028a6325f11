"""Cached model loads, speeds and identities (see `components.cache`)."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from engine.core.background import BackgroundJob
from engine.model.cost import measure_flops_per_s
from engine.model.hf_runner import HFRunner, ModelRunner
from engine.model.registry import load_runner, model_identity, needs_first_load


@dataclass(frozen=True, slots=True)
class RunnerLoad:
    """A model load running on its own thread (`engine.core.background.BackgroundJob`), shared by
    every session that asks for the same model; `first` says it converts a GGUF file."""

    job: BackgroundJob[HFRunner]
    first: bool


@st.cache_resource(show_spinner=False, max_entries=3)
def runner_load(name: str, device: str, stamp: str) -> RunnerLoad:
    """The (running or finished) load of model `name` on `device` ("auto", "cpu", "cuda").

    `stamp` (size and mtime of the weights) keys the cache by what is on disk: a custom
    directory rewritten with other weights under the same path loads again. The load runs on a
    thread so that the page can show its progress, and a click during it loses nothing.
    """
    first = needs_first_load(name)
    dev = None if device == "auto" else device
    return RunnerLoad(
        BackgroundJob(f"load {name}", lambda p: load_runner(name, device=dev, progress=p)), first
    )


@st.cache_resource(show_spinner=False, max_entries=8)
def flops_per_s(model_key: str, _runner: ModelRunner) -> float:
    """The measured speed of a loaded model on this machine (operations per second): one timed
    forward per model, keyed by what was loaded (`state.model_key`)."""
    return measure_flops_per_s(_runner)


@st.cache_data(show_spinner=False, max_entries=16)
def identity(name: str, stamp: str) -> str:
    """What a saved experiment records of model `name`; `stamp` (size and mtime of the weights)
    keys it by what is on disk, not by the name alone."""
    return model_identity(name)
