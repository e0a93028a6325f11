"""The guided tour (zero-shot -> few-shot -> order matters -> induction heads) and the home page's live example."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from components import prompt_editor as pe
from components import state
from engine.datasets import Dataset, Split
from engine.prompts import Demo, PromptFormat
from engine.runner import HFRunner
from engine.scoring import score_prompt

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class TourStep:
    """One tour step. `title`, `text` and `button` are English keys: the page shows them through
    `t()` at render time, and `missing_translations()` collects the literals written in
    `TourStep(...)` calls, so each needs an entry in `components/i18n_zh.py`."""

    key: str
    title: str
    text: str
    button: str
    page: str


TOUR_STEPS: tuple[TourStep, ...] = (
    TourStep(
        "zero",
        "Zero-shot",
        "Only the instruction and the query: what does the model guess with no examples?",
        "Show zero-shot",
        "pages/prompt_lab.py",
    ),
    TourStep(
        "few",
        "Few-shot",
        "Add four labelled demonstrations: watch the label probabilities move.",
        "Show 4-shot",
        "pages/prompt_lab.py",
    ),
    TourStep(
        "order",
        "Order matters",
        "The same four demonstrations in different orders: how far does accuracy swing?",
        "Measure order effects",
        "pages/sensitivity.py",
    ),
    TourStep(
        "heads",
        "Induction heads",
        "Find the heads that copy from earlier in the prompt, then ablate them.",
        "Find induction heads",
        "pages/attention.py",
    ),
)


def _query(split: Split) -> str:
    return split.test[0].text if split.test else ""


@st.cache_data(show_spinner=False, max_entries=8)
def _live_rows(
    model_key: str, dataset_fingerprint: str, seed: int, _runner: HFRunner, _ds: Dataset, _split: Split
) -> list[dict[str, Any]]:
    fmt = PromptFormat(_ds.template, _ds.instruction)
    words = _ds.label_word_map()
    demos = [
        Demo(d["text"], d["label"])
        for d in pe.draw_demos(_split.pool, 4, seed, balanced=True, labels=_ds.label_names)
    ]
    query = _query(_split)
    rows: list[dict[str, Any]] = []
    for name, shots in (("zero-shot", []), ("4-shot", demos)):
        res = score_prompt(_runner, fmt, shots, query, words)
        row: dict[str, Any] = {"prompt": name, "prediction": res.pred}
        row.update({f"P({lab})": round(p, 3) for lab, p in res.probs.items()})
        rows.append(row)
    gold = _split.test[0].label if _split.test else "?"
    for r in rows:
        r["gold"] = gold
    return rows


def live_example(runner: HFRunner, ds: Dataset, split: Split, seed: int) -> list[dict[str, Any]]:
    """Zero-shot vs 4-shot label probabilities of the first test query (cached)."""
    # keyed by content: every pasted upload is "pasted.csv", so a name would hand one user's
    # rows to another (the split is a function of the data set's fingerprint and the seed)
    return _live_rows(state.model_key(runner), ds.fingerprint, seed, runner, ds, split)


# Sensitivity widgets set by the order step: small sizes so the result is drawn in seconds on a
# laptop CPU (6 orders x 20 queries), yet enough to show accuracy moving with the order alone.
ORDER_SETTINGS: dict[str, object] = {
    "sens_experiment": "order",
    "sens_scoring": "direct",
    "sens_calibration": "none",
    "sens_draw": "label_balanced",
    "sens_k": 4,
    "sens_n_order": 6,
    "sens_n_test": 20,
}
# set by the order step, popped by pages/sensitivity.py: run the experiment without a click
SENSITIVITY_AUTORUN = "tour_run_sensitivity"


def step_page(key: str) -> str:
    """The page a tour step opens (the Prompt Lab when that page is missing)."""
    step = next(s for s in TOUR_STEPS if s.key == key)
    return step.page if (ROOT / step.page).exists() else "pages/prompt_lab.py"


def start_step(key: str, ds: Dataset, split: Split, seed: int) -> None:
    """Sets up the shared state for a tour step (the on_click callback of its button on Home).

    A callback runs before the next run draws any widget, so it may set the widget keys of the
    page the step opens (the Sensitivity settings, the Prompt Lab's scoring menus); the prompt
    goes through `prompt_editor.set_prompt`. Home then switches to `step_page(key)`.
    """
    pe.ensure_defaults(ds, split, seed)
    pe.set_prompt(query=_query(split))
    if key == "zero":
        pe.set_demos([])
    elif key == "few":
        pe.set_demos(pe.draw_demos(split.pool, 4, seed, balanced=True, labels=ds.label_names))
    if key in ("zero", "few"):
        # the Prompt Lab shows the result of the last request: make this step's prompt that request
        st.session_state["pl_scorer"] = "direct"
        st.session_state["pl_calibration"] = "none"
        st.session_state["pl_last_request"] = (pe.snapshot(), "direct", "none")
        st.session_state.pop("pl_last_request_for", None)  # this request is for the data now
    elif key == "order":
        for widget, value in ORDER_SETTINGS.items():
            st.session_state[widget] = value
        st.session_state[SENSITIVITY_AUTORUN] = True
    elif key == "heads":
        st.session_state["att_sort"] = "induction"  # the head table ranks the induction heads first
