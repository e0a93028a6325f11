"""What a sensitivity experiment runs and what it returns: `SensitivityConfig`, `Row`, `SensitivityResult`.

The config is validated on construction against the experiment's spec in `EXPERIMENTS` (its
smallest k) and the scoring registry; a result is a tidy table of rows (one per order, draw, k,
label condition, word set or format) with its summary as a fact (`engine.experiments.sensitivity.facts`)
and that fact in English.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, get_args

import numpy as np

from engine.core.errors import ConfigError
from engine.experiments.sensitivity.facts import ENGLISH, Fact
from engine.experiments.sensitivity.registry import EXPERIMENTS
from engine.prompting.prompts import Prompt, PromptFormat, parse_template
from engine.scoring.scorers import SCORERS, ScoringConfig, check_labels

ExperimentName = Literal["order", "selection", "kcurve", "labels", "label_words", "format"]
DrawName = Literal["random", "label_balanced"]
LabelCondition = Literal["gold", "random", "flipped", "none"]

DEFAULT_KS: tuple[int, ...] = (0, 1, 2, 4, 8, 16, 32)
LABEL_CONDITIONS: tuple[LabelCondition, ...] = get_args(LabelCondition)
CONDITION_TITLES: dict[str, str] = {c: ENGLISH[f"condition.{c}"] for c in LABEL_CONDITIONS}
# Metasyntactic words: semantically unrelated to any task's labels (Wei et al. 2023 use "foo"/"bar").
UNRELATED_WORDS: tuple[str, ...] = (
    "foo", "bar", "baz", "qux", "quux", "corge", "grault", "garply", "waldo", "fred", "plugh", "xyzzy", "thud",
)  # fmt: skip
# k-curve plateau: the smallest k from which every tried k stays within 2 points of the best; a fall
# of more than 2 points as k grows makes the curve "not monotone".
SATURATION_POINTS = 0.02
NOISE_CONFIDENCE = 0.95  # Wilson score intervals of accuracy over the test queries
MAX_N = 1000


# ----------------------------------------------------------------------------------- config and results
@dataclass(frozen=True, slots=True)
class SensitivityConfig:
    """What one sensitivity experiment runs. Validated on construction.

    Attributes:
        experiment: a key of `EXPERIMENTS`.
        fmt: the base prompt format (template, instruction, separator).
        label_words: (label name, label word) pairs in label order: the base verbaliser.
        scoring: scorer, calibration, normalisation (kcurve: the calibration and normalisation of
            every scorer in `scorers`).
        k: demonstrations per prompt (kcurve: ignored, see `ks`).
        n: the experiment's size: orders (order), draws (selection), seeded draws averaged per
            setting (kcurve, labels, label_words, format).
        seed: seeds every draw, permutation and relabelling.
        draw: the retriever that draws demonstrations ("random" or "label_balanced").
        scorers: kcurve: the scoring functions compared (empty: ``scoring.scorer``).
        ks: kcurve: the k values tried (those that fit the pool and the context are run).
        alt_label_words: label_words: the user's word sets, each in label order.
        unrelated_words: label_words: the unrelated set (None: "foo", "bar", ... in label order).
        templates: format: the user's templates, tried with the base instruction and separator.
    """

    experiment: str
    fmt: PromptFormat
    label_words: tuple[tuple[str, str], ...]
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    k: int = 4
    n: int = 10
    seed: int = 0
    draw: str = "label_balanced"
    scorers: tuple[str, ...] = ()
    ks: tuple[int, ...] = DEFAULT_KS
    alt_label_words: tuple[tuple[str, ...], ...] = ()
    unrelated_words: tuple[str, ...] | None = None
    templates: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        spec = EXPERIMENTS.lookup(self.experiment)
        if self.draw not in get_args(DrawName):
            raise ConfigError(f"draw must be one of {', '.join(get_args(DrawName))}, got {self.draw!r}.")
        if not 1 <= self.n <= MAX_N:
            raise ConfigError(f"N must be between 1 and {MAX_N}, got {self.n}.")
        if self.k < spec.min_k:
            raise ConfigError(f"The {spec.title} experiment needs k >= {spec.min_k}, got k = {self.k}.")
        words = check_labels(dict(self.label_words))
        for name in self.scorers:
            SCORERS.lookup(name)
            # raises when the calibration does not apply to this scorer
            replace(self.scoring, scorer=name)
        if not self.ks or any(k < 0 for k in self.ks):
            raise ConfigError(f"ks must be one or more values >= 0, got {list(self.ks)}.")
        for i, ws in enumerate(self.alt_label_words):
            if len(ws) != len(words):
                raise ConfigError(
                    f"Word set {i + 1} has {len(ws)} words for {len(words)} labels ({', '.join(words)})."
                )
            check_labels(dict(zip(words, ws, strict=True)))
        if self.unrelated_words is not None:
            if len(self.unrelated_words) != len(words):
                raise ConfigError(
                    f"The unrelated word set has {len(self.unrelated_words)} words for {len(words)} labels."
                )
            check_labels(dict(zip(words, self.unrelated_words, strict=True)))
        for t in self.templates:
            parse_template(t)
        if self.experiment == "format" and not self.templates and not self.fmt.instruction.strip():
            raise ConfigError(
                "The format experiment compares the prompt with and without its instruction and with "
                "your templates; the prompt has no instruction, so type at least one other template."
            )

    @property
    def words(self) -> dict[str, str]:
        return dict(self.label_words)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.label_words)

    @property
    def kcurve_scorers(self) -> tuple[str, ...]:
        return self.scorers or (self.scoring.scorer,)


@dataclass(frozen=True, slots=True)
class Row:
    """One setting of an experiment (one order, draw, k, label condition, word set or format).

    Attributes:
        setting: short human-readable name of the setting.
        accuracy, macro_f1: mean over `accuracies` / `macro_f1s` (one value per seeded run).
        accuracies, macro_f1s: per run (one entry for order and selection rows).
        n: test queries per run.
        seconds, tokens: model work spent on this row (0 when every run was reused).
        fields: per-experiment fields (order: ``positions``, the 1-based places in the draw of the
            demonstrations shown, first to last; demo ids, k, scorer, condition, words...).
        prompt: the prompt of the first test query in the first run (what the model saw).
        title: the setting as a fact (`setting` is its English); None for a row built by hand,
            which is then shown as `setting`.
    """

    setting: str
    accuracy: float
    macro_f1: float
    accuracies: tuple[float, ...]
    macro_f1s: tuple[float, ...]
    n: int
    seconds: float
    tokens: int
    fields: Mapping[str, Any] = field(default_factory=dict)
    prompt: Prompt | None = None
    title: Fact | None = None

    @property
    def runs(self) -> int:
        return len(self.accuracies)

    @property
    def accuracy_std(self) -> float:
        """Population standard deviation over runs (0 for one run)."""
        return float(np.std(self.accuracies)) if self.accuracies else 0.0

    @property
    def accuracy_min(self) -> float:
        return min(self.accuracies) if self.accuracies else 0.0

    @property
    def accuracy_max(self) -> float:
        return max(self.accuracies) if self.accuracies else 0.0

    def to_json(self, *, spread: bool) -> dict[str, Any]:
        """A tidy record: setting, metrics, cost, per-experiment fields (+ spread over runs)."""
        out: dict[str, Any] = {
            "setting": self.setting,
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "n": self.n,
            "seconds": round(self.seconds, 3),
            "tokens": self.tokens,
        }
        if spread:
            out |= {
                "runs": self.runs,
                "accuracy_std": self.accuracy_std,
                "accuracy_min": self.accuracy_min,
                "accuracy_max": self.accuracy_max,
                "accuracies": list(self.accuracies),
                "macro_f1_std": float(np.std(self.macro_f1s)) if self.macro_f1s else 0.0,
            }
        out |= {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.fields.items()}
        return out


@dataclass(frozen=True, slots=True)
class SensitivityResult:
    """The tidy table of one experiment, its summary (a fact and its English) and its total cost.

    Attributes:
        experiment: which experiment.
        config: what was run.
        rows: one per setting, in the experiment's order.
        summary: one sentence with the numbers that matter: `summary_fact` in English.
        labels: label names (label order).
        n_test: test queries per evaluation.
        seconds: wall time of the whole experiment.
        tokens_processed: tokens through the model (cache hits cost nothing).
        n_evaluations: evaluations run (reused ones not counted).
        notes: what was adjusted (k values that did not fit, fewer orders than asked...), in
            English: `note_facts` rendered.
        partial: the run was stopped: the rows rest on the evaluations done (see `run_experiment`).
        n_total: the distinct evaluations the whole experiment runs (`n_evaluations` of them are done
            when partial; equal to it otherwise).
        note_facts: the notes as facts, in the same order (empty for a result built by hand).
    """

    experiment: str
    config: SensitivityConfig
    rows: tuple[Row, ...]
    summary: str
    labels: tuple[str, ...]
    n_test: int
    seconds: float
    tokens_processed: int
    n_evaluations: int
    notes: tuple[str, ...] = ()
    partial: bool = False
    n_total: int = 0
    note_facts: tuple[Fact, ...] = ()

    @property
    def summary_fact(self) -> Fact:
        """The summary as a fact, from the rows (`summary` is its English)."""
        return EXPERIMENTS[self.experiment].facts(self.rows, self.config, len(self.labels))

    @property
    def spread(self) -> bool:
        """Whether rows aggregate several seeded runs (their spread is reported)."""
        return EXPERIMENTS[self.experiment].aggregated

    def table(self) -> list[dict[str, Any]]:
        """Rows as tidy records (the CLI's ``rows``; the page's CSV)."""
        return [r.to_json(spread=self.spread) for r in self.rows]

    def best(self) -> Row:
        return max(self.rows, key=lambda r: (r.accuracy, r.macro_f1))

    def worst(self) -> Row:
        return min(self.rows, key=lambda r: (r.accuracy, r.macro_f1))

    def to_json(self) -> dict[str, Any]:
        """The CLI's last-line object: {"experiment", "rows", "summary", cost...}."""
        return {
            "experiment": self.experiment,
            "rows": self.table(),
            "summary": self.summary,
            "n_test": self.n_test,
            "seconds": round(self.seconds, 3),
            "tokens_processed": self.tokens_processed,
            "n_evaluations": self.n_evaluations,
            "notes": list(self.notes),
        } | ({"partial": 1, "n_total": self.n_total} if self.partial else {})
