"""The guided tour (zero-shot -> few-shot -> order matters -> induction heads) and the home page's live example."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from components import prompt_editor as pe
from components import state
from components.cache.experiments import zero_few
from components.i18n import t
from engine.data.datasets import Dataset, Split
from engine.experiments.zero_few import N_QUERIES, ZeroFewResult
from engine.model.hf_runner import HFRunner

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


HOME_QUERY = "home_example_query"  # the Home example's query: the tour's first steps use it


def _query(split: Split) -> str:
    picked = st.session_state.get(HOME_QUERY)
    if isinstance(picked, str) and any(e.text == picked for e in split.test[:N_QUERIES]):
        return picked
    return split.test[0].text if split.test else ""


def live_example(runner: HFRunner, ds: Dataset, split: Split, seed: int) -> ZeroFewResult:
    """Zero-shot vs 4-shot on the first test queries (cached); remembers the example query."""
    idx = pe.draw_demo_indices(split.pool, 4, seed, balanced=True, labels=ds.label_names)
    result = zero_few(state.model_key(runner), ds.fingerprint, seed, tuple(idx), runner, ds, split)
    st.session_state[HOME_QUERY] = result.zero.queries[result.example].text if result.zero.queries else ""
    return result


def live_rows(result: ZeroFewResult) -> list[dict[str, Any]]:
    """The example query's row per prompt: prediction and label probabilities (English keys)."""
    rows: list[dict[str, Any]] = []
    for name, res in (("zero-shot", result.zero), ("4-shot", result.few)):
        q = res.queries[result.example]
        row: dict[str, Any] = {"prompt": name, "prediction": q.pred}
        row.update({f"P({lab})": round(float(p), 3) for lab, p in zip(res.labels, q.probs, strict=True)})
        row["gold"] = q.gold
        rows.append(row)
    return rows


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def render_zero_few(result: ZeroFewResult) -> None:
    """What the table shows and how typical it is: both accuracies over the queries with their
    95 % intervals, and whether the difference is beyond noise (exact McNemar test)."""
    c = result.comparison
    st.caption(
        t(
            "One test query scored with no demonstrations and with four: the probability of each label "
            "word, normalised over the labels. Open the Prompt Lab to change anything."
        )
        + " "
        + (
            t(
                "This query was picked as the first of the {n} where the demonstrations turn a wrong answer right.",
                n=c.n,
            )
            if result.example_flips
            else t("On none of the {n} queries do the demonstrations turn a wrong answer right.", n=c.n)
        )
    )
    text = t(
        "Over the first {n} test queries: zero-shot {a} right (95 % interval {a_lo}-{a_hi}), 4-shot {b} "
        "(95 % interval {b_lo}-{b_hi}); the demonstrations fixed {fixed} answers and broke {broke}.",
        n=c.n,
        a=_pct(c.accuracy_a),
        a_lo=_pct(c.ci_a[0]),
        a_hi=_pct(c.ci_a[1]),
        b=_pct(c.accuracy_b),
        b_lo=_pct(c.ci_b[0]),
        b_hi=_pct(c.ci_b[1]),
        fixed=c.only_b,
        broke=c.only_a,
    )
    if c.significant:
        verdict = t("The difference is beyond noise (exact McNemar test, p = {p}).", p=f"{c.p_value:.3f}")
    else:
        verdict = t(
            "The difference is within noise at this model's scale on {n} queries (exact McNemar test, p = "
            "{p}): this sample does not show that the demonstrations help.",
            n=c.n,
            p=f"{c.p_value:.3f}",
        )
    st.markdown(f"{text} {verdict}")


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
