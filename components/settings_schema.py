"""Every per-page setting a saved experiment or a share link may carry, with its type and range.

A link or an experiment file is untrusted input that ends up in `st.session_state`. Only the keys
listed here are written, and only with a value their widget accepts: a wrong type, a value out of
range, a button's key or a key no page reads would otherwise crash every rerun of the session that
opened the link. `validate_settings()` splits the saved settings into the accepted ones (converted
to what the widget expects: range sliders get tuples) and the rejected ones with a reason.

The schema is one declarative table, `SETTINGS`: widget key -> `Setting`. Choices come from the
registries the widgets use; bounds are the widgets' own min / max. A widget whose maximum depends
on the model or the data (the attention page's layers, the generation page's k) names that bound
in `dynamic_hi` (the widget's expression, checked by a unit test): the static part is validated
here, and the widget itself resets a number out of range (range sliders are clamped by
`fit_range()` before they are drawn). Widgets that hold no setting (pickers of a test item, the
data itself) or that are saved as the experiment's own fields (model, dataset, seed, language,
the prompt) are listed in `NOT_SETTINGS` with the reason; `tests/unit/test_settings_schema.py`
fails when a page gains a setting widget that is in neither table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Literal, get_args

import streamlit as st

from components import generation_views as gv
from components import state
from components.benchmark_section import BENCHMARK_LIMITS
from components.demo_views import POOL_SIZES
from components.scoring_views import DEMO_MODES
from engine.data.gen_tasks import gen_task_names
from engine.experiments.benchmark import STAICC_LOADERS
from engine.experiments.ranking import SCORE_KINDS
from engine.experiments.sensitivity import DEFAULT_KS, EXPERIMENTS, DrawName
from engine.generation.decoders import StrategyName
from engine.interp.ablation import ABLATION_MODES
from engine.interp.heads import HEAD_SCORE_NAMES
from engine.retrieval import retrievers as retrieval
from engine.scoring.scorers import CALIBRATIONS, SCORERS, Normalize

Kind = Literal["int", "float", "str", "bool", "choice", "multi", "range"]

TEXT_CAP = 20_000  # text areas (instructions, templates, word sets, queries)
LINE_CAP = 2_000  # one-line text inputs (trigger, pattern, stop sequences, system message)
INT_CAP = 2**31 - 1  # the upper bound of an integer whose widget's maximum is dynamic
MAX_MODEL_CHARS = 1_000  # a custom model path or hub id
MAX_LISTED = 6  # how many keys a message names before "and N more"


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting: what its widget accepts.

    Attributes:
        kind: int / float (number inputs, sliders), str (text), bool (checkbox, toggle),
            choice (selectbox, radio), multi (multiselect), range (a slider over a pair).
        lo, hi: the widget's min and max (numbers and both ends of a range); hi None when dynamic.
        choices: the options of a choice or multi.
        max_len: the longest text kept.
        dynamic_hi: the widget's max_value expression when it depends on the model or the data.
        widget: the widget's key when the setting lives under another session key (the device).
        template: for a widget whose key is an f-string, that f-string as written in the source
            ("{prefix}_temperature"); the schema lists every key it produces.
    """

    kind: Kind
    lo: float | None = None
    hi: float | None = None
    choices: tuple[Any, ...] = ()
    max_len: int = 0
    dynamic_hi: str = ""
    widget: str = ""
    template: str = ""

    def check(self, value: Any) -> tuple[Any, str | None]:
        """(the value as the widget wants it, None) or (None, the reason it is refused)."""
        if self.kind == "bool":
            return (value, None) if isinstance(value, bool) else (None, "expected true or false")
        if self.kind == "str":
            if not isinstance(value, str):
                return None, "expected text"
            if len(value) > self.max_len:
                return None, f"text longer than {self.max_len:,} characters"
            return value, None
        if self.kind == "choice":
            for c in self.choices:
                if type(c) is type(value) and c == value:
                    return value, None
            return None, f"not one of {_listed(self.choices)}"
        if self.kind == "multi":
            if not isinstance(value, list):
                return None, f"expected a list of {_listed(self.choices)}"
            out = []
            for item in value:
                ok, why = Setting("choice", choices=self.choices).check(item)
                if why is not None:
                    return None, f"{item!r} is {why}"
                if ok in out:
                    return None, f"{item!r} is listed twice"
                out.append(ok)
            return out, None
        if self.kind == "range":
            if not isinstance(value, (list, tuple)) or len(value) != 2:
                return None, "expected a pair [low, high]"
            ends = [Setting("int", self.lo, self.hi).check(v) for v in value]
            for _, why in ends:
                if why is not None:
                    return None, why
            low, high = ends[0][0], ends[1][0]
            if low > high:
                return None, "low end above the high end"
            return (low, high), None
        return self._number(value)

    def _number(self, value: Any) -> tuple[Any, str | None]:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None, "expected a number"
        if self.kind == "int":
            if isinstance(value, float):
                return None, "expected a whole number"
            number: float = value
        else:
            if not math.isfinite(value):
                return None, "expected a finite number"
            number = float(value)
        hi = self.hi if self.hi is not None else (INT_CAP if self.kind == "int" else None)
        if (self.lo is not None and number < self.lo) or (hi is not None and number > hi):
            return None, f"outside {_fmt(self.lo)} … {_fmt(hi)}"
        return number, None


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:g}" if isinstance(x, float) else str(x)


def _listed(items: tuple[Any, ...] | list[Any], n: int = MAX_LISTED) -> str:
    shown = ", ".join(str(i) for i in items[:n])
    return shown + (f" and {len(items) - n} more" if len(items) > n else "")


def _int(lo: int, hi: int | None, dynamic_hi: str = "") -> Setting:
    return Setting("int", lo, hi, dynamic_hi=dynamic_hi)


def _float(lo: float, hi: float) -> Setting:
    return Setting("float", lo, hi)


def _choice(choices: Any) -> Setting:
    return Setting("choice", choices=tuple(choices))


def _multi(choices: Any) -> Setting:
    return Setting("multi", choices=tuple(choices))


def _text(max_len: int = TEXT_CAP) -> Setting:
    return Setting("str", max_len=max_len)


BOOL = Setting("bool")
N_LAYERS_HI = "scores.n_layers - 1"


def _retrieval_options() -> dict[str, Setting]:
    """Demo Selection's strategy options: the same bounds as `pages/demo_selection.py` draws."""
    out: dict[str, Setting] = {}
    for name, spec in retrieval.OPTIONS.items():
        if spec.integer:
            s = _int(int(spec.low), int(min(spec.high, 10_000)))
        else:
            s = _float(float(spec.low), float(min(spec.high, 5.0)))
        out[f"ds_opt_{name}"] = replace(s, template="ds_opt_{name}")
    return out


def _decoding(prefix: str) -> dict[str, Setting]:
    """One strategy column of the Generation page (`generation_views.decoding_controls`)."""
    specs = {
        "strategy": _choice(get_args(StrategyName)),
        "temperature": _float(0.05, 5.0),
        "top_k": _int(0, 1000),
        "top_p": _float(0.01, 1.0),
        "beams": _int(1, 16),
        "length_penalty": _float(-2.0, 3.0),
        "alpha": _float(0.0, 1.0),
        "amateur_layer": _int(1, None, "max(1, n_layers - 1)"),
        "amateur_temperature": _float(0.05, 5.0),
        "presence": _float(-2.0, 2.0),
        "frequency": _float(-2.0, 2.0),
    }
    return {f"{prefix}_{name}": replace(s, template=f"{{prefix}}_{name}") for name, s in specs.items()}


SETTINGS: dict[str, Setting] = {
    # sidebar (model, dataset, seed and language are the experiment's own fields)
    state.DEVICE: Setting("choice", choices=state.DEVICES, widget="sb_device"),
    # Prompt Lab (the prompt itself is the experiment's own fields)
    "pl_draw_k": _int(0, 64),
    "pl_draw_balanced": BOOL,
    "pl_scorer": _choice(SCORERS),
    "pl_calibration": _choice(c for c in CALIBRATIONS if c != "batch"),
    # Scoring
    "sc_scorers": _multi(SCORERS),
    "sc_calibrations": _multi(CALIBRATIONS),
    "sc_normalize": _choice(get_args(Normalize)),
    "sc_demos": _choice(DEMO_MODES),
    "sc_k": _int(0, 64),
    "sc_n_test": _int(1, 2000),
    "sc_retrieval": _choice(r for r in retrieval.RETRIEVERS if r != "fixed"),
    "sc_ordering": _choice(retrieval.ORDERINGS),
    "sc_full_tokens": BOOL,
    # Sensitivity
    "sens_experiment": _choice(EXPERIMENTS),
    "sens_scorers": _multi(SCORERS),
    "sens_scoring": _choice(SCORERS),
    "sens_calibration": _choice(CALIBRATIONS),
    "sens_draw": _choice(get_args(DrawName)),
    "sens_n_test": _int(1, 2000),
    "sens_ks": _multi(DEFAULT_KS),
    "sens_k": _int(0, 64),
    **{f"sens_n_{name}": replace(_int(1, 200), template="sens_n_{experiment}") for name in EXPERIMENTS},
    "sens_alt_words": _text(),
    "sens_unrelated": _text(LINE_CAP),
    "sens_templates": _text(),
    # Attention
    "att_sort": _choice(HEAD_SCORE_NAMES),
    "att_top_n": _int(1, None, "scores.n_layers * scores.n_heads"),
    "att_layer": _int(0, None, N_LAYERS_HI),
    "att_head": _int(0, None, "scores.n_heads - 1"),
    "att_thumb_layers": Setting("range", 0, None, dynamic_hi=N_LAYERS_HI),
    "att_demo_layers": Setting("range", 0, None, dynamic_hi="n_layers - 1"),  # drawn in attention_views
    "att_abl_by": _choice(HEAD_SCORE_NAMES),
    "att_abl_n": _int(1, 64),
    "att_abl_mode": _choice(ABLATION_MODES),
    "att_abl_k": _int(0, 32),
    "att_abl_queries": _int(2, 1000),
    # Demo Selection
    "ds_retrieval": _choice(retrieval.RETRIEVERS),
    "ds_ordering": _choice(retrieval.ORDERINGS),
    "ds_k": _int(0, 32),
    "ds_pool_size": _choice(POOL_SIZES),
    **_retrieval_options(),
    "ds_query": _text(),
    "ds_map_points": _int(200, 5000),
    "ds_cmp_retrievers": _multi(retrieval.RETRIEVERS),
    "ds_cmp_orderings": _multi(retrieval.ORDERINGS),
    "ds_cmp_n": _int(1, None, "len(split.test)"),
    # Scoring: StaICC benchmark section
    "bm_datasets": _multi(STAICC_LOADERS),
    "bm_limit": _choice(BENCHMARK_LIMITS),
    "bm_resamples": _int(100, 10_000),
    # Generation
    gv.GEN_SOURCE: _choice(gv.GEN_SOURCES),
    gv.GEN_TASK: _choice(gen_task_names()),
    gv.GEN_INSTRUCTION: _text(),
    gv.GEN_TEMPLATE: _text(),
    "gen_zero_shot": BOOL,
    "gen_trigger": _text(LINE_CAP),
    gv.GEN_PATTERN: _text(LINE_CAP),
    gv.GEN_STOP: _text(LINE_CAP),
    "gen_k": _int(0, None, "min(16, len(split.pool))"),
    gv.GEN_QUERY: _text(),
    gv.GEN_REFERENCE: _text(),
    "gen_max_new": _int(1, 256),
    "gen_eval_n": _int(1, None, "len(split.test)"),
    **_decoding("gen_a"),
    **_decoding("gen_b"),
    # Response Ranking
    "rk_instruction": _text(),
    "rk_chat": BOOL,
    "rk_system": _text(LINE_CAP),
    "rk_template": _text(LINE_CAP),
    "rk_score_kind": _choice(SCORE_KINDS),
    "rk_tau": _float(0.05, 10.0),
}

# Widget keys (or the f-strings of dynamic keys, as written) that hold no per-page setting, and why.
NOT_SETTINGS: dict[str, str] = {
    "w_lang": "the experiment's language field",
    "sb_model_choice": "the experiment's model field",
    "sb_model_custom": "the experiment's model field",
    "sb_dataset": "the experiment's dataset field",
    "sb_seed": "the experiment's seed field",
    "sb_paste": "the user's data, not a setting",
    "exp_paste": "an experiment being loaded",
    "w_pl_instruction": "the experiment's instruction field",
    "w_pl_template": "the experiment's template field",
    "w_pl_separator": "the experiment's separator field",
    "w_pl_query": "the experiment's query field",
    "{store.word_widget_key(name)}": "the experiment's label_words field",
    "pl_test_pick": "picks a test query to copy (options depend on the data)",
    "ds_query_pick": "picks a test query to copy (options depend on the data)",
    "gen_test_pick": "picks a test item to copy (options depend on the task)",
    "gen_paste": "the user's data, not a setting",
    "{key}_prompt_pick": "picks a row of a result",
}

# Generation prompt fields: restoring one must keep the task's defaults from overwriting it.
GEN_PROMPT_KEYS = (
    gv.GEN_INSTRUCTION,
    gv.GEN_TEMPLATE,
    gv.GEN_PATTERN,
    gv.GEN_STOP,
    gv.GEN_QUERY,
    gv.GEN_REFERENCE,
)


def validate_settings(settings: Any) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """(accepted: key -> value ready for session state, rejected: [(key, reason)])."""
    accepted: dict[str, Any] = {}
    rejected: list[tuple[str, str]] = []
    if not isinstance(settings, dict):
        return accepted, [("settings", "expected an object")]
    for key, value in settings.items():
        spec = SETTINGS.get(key) if isinstance(key, str) else None
        if spec is None:
            rejected.append((str(key)[:80], "not a setting of this app"))
            continue
        ok, why = spec.check(value)
        if why is None:
            accepted[key] = ok
        else:
            rejected.append((key, why))
    return accepted, rejected


def session_settings() -> dict[str, Any]:
    """Every schema setting the session holds, as JSON values (tuples as lists); values the
    schema would refuse on loading are left out."""
    out: dict[str, Any] = {}
    for key, spec in SETTINGS.items():
        if key not in st.session_state:
            continue
        value = st.session_state[key]
        if spec.kind == "range" and isinstance(value, tuple):
            value = list(value)
        if spec.kind == "multi" and isinstance(value, tuple):
            value = list(value)
        _, why = spec.check(value)
        if why is None:
            out[key] = value
    return out


def fit_range(key: str, lo: int, hi: int) -> None:
    """Clamps a range slider's saved value into [lo, hi] before the slider is drawn (its maximum
    depends on the model: a link saved with a deeper model must not crash the page)."""
    value = st.session_state.get(key)
    if isinstance(value, (list, tuple)) and len(value) == 2:
        a, b = (min(max(int(v), lo), hi) for v in value)
        if (a, b) != tuple(value):
            st.session_state[key] = (min(a, b), max(a, b))


def listed(keys: list[str], n: int = MAX_LISTED) -> str:
    """The first `n` keys and how many more."""
    return _listed(keys, n)
