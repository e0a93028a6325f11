"""Sensitivity lab: how much does accuracy move when the context changes in ways that "should not matter"?

In-context learning is fragile: the order of the same demonstrations, which demonstrations are
drawn, the label words and the template all swing accuracy widely, and accuracy saturates as k
grows. Each experiment here is one engine function that runs `engine.evaluation.run.evaluate` on a
family of prompts and returns a tidy table (one `Row` per order, draw, k, label condition, word
set or format) with accuracy, macro-F1, the cost of the work and per-experiment fields:

* ``order``: one seeded draw of k demonstrations shown in N distinct permutations (Lu et al.
  2022; all k! of them when k! <= N). Every permutation is one fixed prompt prefix shared by all
  queries, so the scoring engine computes it once.
* ``selection``: N independent seeded draws of k demonstrations (Liu et al. 2021, Zhang et al.
  2022 report the spread this causes).
* ``kcurve``: accuracy for k = 0, 1, 2, 4, 8, 16, 32 (the values that fit the model's context
  and the pool), per scoring function, mean and spread over N seeded draws (Brown et al. 2020's
  zero/one/few-shot curves; where it saturates).
* ``labels`` (Min et al. 2022, "Rethinking the role of demonstrations"): the same demonstrations
  with their gold labels, with labels drawn uniformly at random from the label set, with every
  label flipped (a seeded derangement of the label set: each label goes to a different one) and
  with no labels (each demonstration shows only its input, rendered by the template up to
  ``{text}``). Only the demonstrations are relabelled; the test queries keep their gold labels.
* ``label_words``: the default label words vs word sets the user types vs semantically unrelated
  words ("foo"/"bar"...), the same demonstrations each time (Wei et al. 2023, semantically
  unrelated label ICL: a model that follows the input-label mapping keeps its accuracy; one that
  leans on its priors about the words loses it).
* ``format``: the prompt with and without its instruction, and with each template the user types
  (Sclar et al. 2024 measure large spreads from formatting alone).

Demonstrations are drawn by a registry retriever (``random`` or ``label_balanced``) with seeds
derived from the experiment's seed, and every setting of one draw sees the same demonstrations,
so comparisons are paired. All evaluations use shared demonstrations (``demos="shared"``,
``retrieval="fixed"``): each setting is one fixed prompt prefix, computed once by the scoring
engine's prefix cache (`engine.model.prefix_cache`), whose span cache also makes repeated settings
free. Identical evaluations inside one run (k = 0 for every seed, a random relabelling equal to
the gold one) run once.

"No labels" needs demonstrations without labels, which `engine.prompting.prompts.build_prompt` cannot
render; the inputs are therefore laid out, separator-joined, after the instruction, with k = 0,
which yields exactly the text ``<instruction> SEP <input 1> SEP ... SEP <input k> SEP <query>``.

References:
    Lu et al. 2022, "Fantastically Ordered Prompts and Where to Find Them" (ACL), arXiv:2104.08786.
    Liu et al. 2021, "What Makes Good In-Context Examples for GPT-3?", arXiv:2101.06804.
    Zhang et al. 2022, "Active Example Selection for In-Context Learning" (EMNLP), arXiv:2211.04486.
    Brown et al. 2020, "Language Models are Few-Shot Learners" (NeurIPS), arXiv:2005.14165.
    Min et al. 2022, "Rethinking the Role of Demonstrations" (EMNLP), arXiv:2202.12837.
    Wei et al. 2023, "Larger Language Models Do In-Context Learning Differently", arXiv:2303.03846.
    Sclar et al. 2024, "Quantifying Language Models' Sensitivity to Spurious Features in Prompt
        Design" (ICLR), arXiv:2310.11324.
"""

from __future__ import annotations

import itertools
import math
import string
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np

from engine.core.errors import ConfigError, lookup
from engine.core.progress import StopFn
from engine.evaluation.run import EvalConfig, EvalResult, evaluate
from engine.model.hf_runner import ModelRunner, ProgressFn
from engine.prompting.prompts import Demo, Prompt, PromptError, PromptFormat, build_prompt, parse_template
from engine.retrieval import retrievers as retrieval
from engine.scoring.scorers import SCORERS, ScoringConfig, check_labels

if TYPE_CHECKING:
    from engine.data.datasets import Example

ExperimentName = Literal["order", "selection", "kcurve", "labels", "label_words", "format"]
DrawName = Literal["random", "label_balanced"]
LabelCondition = Literal["gold", "random", "flipped", "none"]

DEFAULT_KS: tuple[int, ...] = (0, 1, 2, 4, 8, 16, 32)
LABEL_CONDITIONS: tuple[LabelCondition, ...] = get_args(LabelCondition)
CONDITION_TITLES: dict[str, str] = {
    "gold": "gold labels",
    "random": "random labels",
    "flipped": "flipped labels",
    "none": "no labels",
}
# Metasyntactic words: semantically unrelated to any task's labels (Wei et al. 2023 use "foo"/"bar").
UNRELATED_WORDS: tuple[str, ...] = (
    "foo", "bar", "baz", "qux", "quux", "corge", "grault", "garply", "waldo", "fred", "plugh", "xyzzy", "thud",
)  # fmt: skip
# k-curve plateau: the smallest k from which every tried k stays within 2 points of the best; a fall
# of more than 2 points as k grows makes the curve "not monotone".
SATURATION_POINTS = 0.02
NOISE_CONFIDENCE = 0.95  # Wilson score intervals of accuracy over the test queries
_EPS = 1e-9  # accuracies are means of fractions: compare them with a tolerance
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
        spec = lookup(EXPERIMENTS, self.experiment, "experiment")
        if self.draw not in get_args(DrawName):
            raise ConfigError(f"draw must be one of {', '.join(get_args(DrawName))}, got {self.draw!r}.")
        if not 1 <= self.n <= MAX_N:
            raise ConfigError(f"N must be between 1 and {MAX_N}, got {self.n}.")
        if self.k < spec.min_k:
            raise ConfigError(f"The {spec.title} experiment needs k >= {spec.min_k}, got k = {self.k}.")
        words = check_labels(dict(self.label_words))
        for name in self.scorers:
            lookup(SCORERS, name, "scorer")
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
    """The tidy table of one experiment, its summary sentence and its total cost.

    Attributes:
        experiment: which experiment.
        config: what was run.
        rows: one per setting, in the experiment's order.
        summary: one sentence with the numbers that matter.
        labels: label names (label order).
        n_test: test queries per evaluation.
        seconds: wall time of the whole experiment.
        tokens_processed: tokens through the model (cache hits cost nothing).
        n_evaluations: evaluations run (reused ones not counted).
        notes: what was adjusted (k values that did not fit, fewer orders than asked...).
        partial: the run was stopped: the rows rest on the evaluations done (see `run_experiment`).
        n_total: the distinct evaluations the whole experiment runs (`n_evaluations` of them are done
            when partial; equal to it otherwise).
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


# ----------------------------------------------------------------------------------- pure helpers
def rng_for(seed: int, *tags: int) -> np.random.Generator:
    """An independent generator per (seed, tags): draws do not depend on call order."""
    return np.random.default_rng(np.random.SeedSequence([seed, *tags]))


def draw_seed(seed: int, j: int) -> int:
    """The seed of draw `j` of an experiment seeded with `seed`."""
    return int(np.random.SeedSequence([seed, j]).generate_state(1)[0])


def draw_demos(
    pool: Sequence[Example], k: int, draw: str, seed: int, label_words: Mapping[str, str]
) -> tuple[int, ...]:
    """k pool indices drawn by the `draw` retriever with `seed` (prompt order as drawn)."""
    if k == 0:
        return ()
    ctx = retrieval.build_context(pool, retrieval=draw, label_words=dict(label_words))
    return tuple(retrieval.select_demos("", k, ctx, retrieval=draw, seed=seed))


def permutations(k: int, n: int, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """`n` distinct permutations of range(k) (all k! in lexicographic order when k! <= n)."""
    if math.factorial(k) <= n:
        return list(itertools.permutations(range(k)))
    seen: dict[tuple[int, ...], None] = {}
    while len(seen) < n:
        seen.setdefault(tuple(int(i) for i in rng.permutation(k)), None)
    return list(seen)


def derangement(labels: Sequence[str], rng: np.random.Generator) -> dict[str, str]:
    """A random permutation of the labels in which every label goes to a different one."""
    if len(labels) < 2:
        raise ConfigError("Flipping labels needs at least two labels.")
    while True:
        perm = [labels[int(i)] for i in rng.permutation(len(labels))]
        if all(a != b for a, b in zip(labels, perm, strict=True)):
            return dict(zip(labels, perm, strict=True))


def relabel(pool: Sequence[Example], new_labels: Mapping[int, str]) -> list[Example]:
    """A copy of the pool with the given indices relabelled (the originals are untouched)."""
    from engine.data.datasets import Example

    out = list(pool)
    for i, lab in new_labels.items():
        out[i] = Example(pool[i].text, lab, pool[i].id)
    return out


def input_only(fmt: PromptFormat, text: str) -> str:
    """A demonstration without its label: the template rendered up to and including ``{text}``.

    ``"Review: {text}\\nSentiment: {label}"`` gives ``"Review: <text>"``.
    """
    out = []
    for literal, name, _spec, _conv in string.Formatter().parse(fmt.template):
        out.append(literal)
        if name == "text":
            out.append(text)
            break
        if name is not None:
            out.append("{" + name + "}")
    return "".join(out)


def no_label_format(fmt: PromptFormat, texts: Sequence[str]) -> PromptFormat:
    """The format whose zero-shot prompt shows `texts` as label-free demonstrations."""
    parts = [fmt.instruction.strip()] if fmt.instruction.strip() else []
    parts += [input_only(fmt, t) for t in texts]
    return PromptFormat(fmt.template, fmt.separator.join(parts), fmt.separator)


def unrelated_words(n_labels: int) -> tuple[str, ...]:
    """n semantically unrelated words ("foo", "bar", ...), in label order."""
    if n_labels <= len(UNRELATED_WORDS):
        return UNRELATED_WORDS[:n_labels]
    return tuple(f"foo{i + 1}" for i in range(n_labels))


def fitting_ks(
    runner: ModelRunner,
    pool: Sequence[Example],
    queries: Sequence[Example],
    cfg: SensitivityConfig,
) -> tuple[list[int], list[int]]:
    """(k values that fit the pool and the context, k values left out), ascending.

    A k fits when the first seed's draw with the longest query (in characters) needs no
    demonstration dropped; larger k values are left out once one does not fit.
    """
    ks = sorted(set(cfg.ks))
    ok: list[int] = []
    left: list[int] = []
    if not queries:
        return ks, []
    longest = max(queries, key=lambda q: len(q.text)).text
    words = check_labels(cfg.words)
    reserve = max(len(runner.encode(" " + w, add_special_tokens=False)) for w in words.values())
    for k in ks:
        if left or k > len(pool):
            left.append(k)
            continue
        idx = draw_demos(pool, k, cfg.draw, draw_seed(cfg.seed, 0), words)
        prompt = build_prompt(
            cfg.fmt,
            [Demo(pool[i].text, pool[i].label, i) for i in idx],
            longest,
            words,
            count_tokens=lambda s: len(runner.encode(s)),
            max_tokens=runner.info.n_ctx,
            reserve_tokens=reserve,
        )
        if prompt.n_dropped:
            left.append(k)
        else:
            ok.append(k)
    return ok, left


def mean(xs: Sequence[float]) -> float:
    return float(np.mean(xs)) if len(xs) else 0.0


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


# ----------------------------------------------------------------------------------- running jobs
@dataclass(frozen=True, slots=True)
class Job:
    """One evaluation of an experiment: the row it feeds, its config and its (relabelled) pool.

    `draw` is the seeded draw of demonstrations it belongs to, where every setting of one draw is
    compared on the same demonstrations (labels, label_words, format); a stopped run keeps whole
    draws only, so that its settings stay paired. 0 where rows are not paired by draw.
    """

    row: int
    cfg: EvalConfig
    pool: Sequence[Example]
    draw: int = 0


@dataclass(frozen=True, slots=True)
class RowSpec:
    """A row before it runs: its setting name and per-experiment fields."""

    setting: str
    fields: Mapping[str, Any] = field(default_factory=dict)


def eval_config(cfg: SensitivityConfig, demos: Sequence[int], **changes: Any) -> EvalConfig:
    """The shared-demonstration evaluation of `demos` (pool indices, prompt order)."""
    base = EvalConfig(
        fmt=cfg.fmt,
        label_words=cfg.label_words,
        k=len(demos),
        scoring=cfg.scoring,
        demos="shared",
        retrieval="fixed",
        ordering="as_retrieved",
        seed=cfg.seed,
        fixed=tuple(int(i) for i in demos),
    )
    return replace(base, **changes) if changes else base


def job_key(job: Job) -> tuple[object, ...]:
    """Everything that determines a job's result for fixed queries: the config and the demos shown."""
    return (job.cfg, tuple((job.pool[i].text, job.pool[i].label) for i in job.cfg.fixed))


def example_prompt(runner: ModelRunner, job: Job, query: str) -> Prompt:
    """The direct prompt of `query` under `job` (what the model sees before the label)."""
    words = check_labels(job.cfg.words)
    reserve = max(len(runner.encode(" " + w, add_special_tokens=False)) for w in words.values())
    demos = [Demo(job.pool[i].text, job.pool[i].label, i) for i in job.cfg.fixed]
    return build_prompt(
        job.cfg.fmt,
        demos,
        query,
        words,
        count_tokens=lambda s: len(runner.encode(s)),
        max_tokens=runner.info.n_ctx,
        reserve_tokens=reserve,
    )


Done = list[tuple[Job, EvalResult, bool]]  # (job, its result, whether it ran: not reused)


def n_distinct(jobs: Sequence[Job]) -> int:
    """How many evaluations `jobs` run (identical ones once)."""
    return len({job_key(j) for j in jobs})


def run_jobs(
    runner: ModelRunner,
    queries: Sequence[Example],
    specs: Sequence[RowSpec],
    jobs: Sequence[Job],
    progress: ProgressFn | None,
    should_stop: StopFn | None = None,
    on_done: Callable[[Done], None] | None = None,
) -> tuple[Done, bool]:
    """Runs the jobs in order, each distinct one once.

    `should_stop` is checked before every evaluation but the first; when it returns True the
    jobs not reached are left out. `on_done` gets the jobs done so far after every evaluation
    but the last.

    Returns:
        (the jobs done with their results, in job order; whether the run was stopped early).
    """
    memo: dict[tuple[object, ...], EvalResult] = {}
    done: Done = []
    n_keys = n_distinct(jobs)
    for j, job in enumerate(jobs):
        key = job_key(job)
        fresh = key not in memo
        if fresh:
            if memo and should_stop is not None and should_stop():
                return done, True
            lo, hi = j / len(jobs), (j + 1) / len(jobs)
            name = specs[job.row].setting

            def sub(f: float, msg: str, lo: float = lo, hi: float = hi, name: str = name) -> None:
                if progress is not None:
                    progress(lo + (hi - lo) * f, f"{name}: {msg}")

            memo[key] = evaluate(runner, job.pool, queries, job.cfg, progress=sub)
        done.append((job, memo[key], fresh))
        if fresh and on_done is not None and len(memo) < n_keys:
            on_done(list(done))
    if progress is not None:
        progress(1.0, "done")
    return done, False


def whole_draws(done: Done, jobs: Sequence[Job]) -> Done:
    """The jobs of `done` that belong to draws whose every job is done (`Job.draw`), so that a
    stopped run compares its settings on the same demonstrations; all of `done` while no draw is
    complete (then they all belong to the first draw: jobs run draw by draw)."""
    n_done = len(done)
    complete = {
        d
        for d in {job.draw for job in jobs}
        if all(i < n_done for i, job in enumerate(jobs) if job.draw == d)
    }
    kept = [item for item in done if item[0].draw in complete]
    return kept or done


def fold_rows(
    runner: ModelRunner, queries: Sequence[Example], specs: Sequence[RowSpec], done: Done
) -> list[Row]:
    """One row per spec that has at least one job in `done` (spec order)."""
    by_row: dict[int, list[tuple[Job, EvalResult, bool]]] = {}
    for item in done:
        by_row.setdefault(item[0].row, []).append(item)
    rows = []
    for i, spec in enumerate(specs):
        results = by_row.get(i)
        if not results:
            continue
        accs = tuple(r.metrics.accuracy for _, r, _ in results)
        f1s = tuple(r.metrics.macro_f1 for _, r, _ in results)
        dropped = [q.n_dropped for _, r, _ in results for q in r.queries]
        fields = dict(spec.fields)
        if dropped and max(dropped) > 0:
            fields["mean_dropped"] = mean(dropped)
        prompt = example_prompt(runner, results[0][0], queries[0].text) if queries else None
        rows.append(
            Row(
                setting=spec.setting,
                accuracy=mean(accs),
                macro_f1=mean(f1s),
                accuracies=accs,
                macro_f1s=f1s,
                n=len(queries),
                seconds=sum(r.seconds for _, r, fresh in results if fresh),
                tokens=sum(r.tokens_processed for _, r, fresh in results if fresh),
                fields=fields,
                prompt=prompt,
            )
        )
    return rows


def demo_fields(pool: Sequence[Example], demos: Sequence[int]) -> dict[str, Any]:
    return {
        "demo_ids": tuple(pool[i].id for i in demos),
        "demo_labels": tuple(pool[i].label for i in demos),
    }


def check_queries(queries: Sequence[Example]) -> None:
    if not queries:
        raise ConfigError("There are no test queries to evaluate; ask for at least one.")


# ----------------------------------------------------------------------------------- experiments
Planned = tuple[list[RowSpec], list[Job], list[str]]


def plan_order(
    runner: ModelRunner, pool: Sequence[Example], queries: Sequence[Example], cfg: SensitivityConfig
) -> Planned:
    """One draw of k demonstrations, N distinct permutations of it."""
    demos = draw_demos(pool, cfg.k, cfg.draw, draw_seed(cfg.seed, 0), cfg.words)
    perms = permutations(cfg.k, cfg.n, rng_for(cfg.seed, 1))
    notes = []
    if len(perms) < cfg.n:
        notes.append(f"{cfg.k} demonstrations have only {len(perms)} orders; all of them were run.")
    specs: list[RowSpec] = []
    jobs: list[Job] = []
    for i, perm in enumerate(perms):
        order = tuple(demos[p] for p in perm)
        positions = tuple(p + 1 for p in perm)  # 1-based, as people count (and as the setting names them)
        specs.append(
            RowSpec(
                f"order {i + 1}: " + "-".join(map(str, positions)),
                {"order": i + 1, "positions": positions, **demo_fields(pool, order)},
            )
        )
        jobs.append(Job(i, eval_config(cfg, order), pool))
    return specs, jobs, notes


def plan_selection(
    runner: ModelRunner, pool: Sequence[Example], queries: Sequence[Example], cfg: SensitivityConfig
) -> Planned:
    """N independent draws of k demonstrations."""
    specs: list[RowSpec] = []
    jobs: list[Job] = []
    for j in range(cfg.n):
        s = draw_seed(cfg.seed, j)
        demos = draw_demos(pool, cfg.k, cfg.draw, s, cfg.words)
        specs.append(RowSpec(f"draw {j + 1}", {"draw": j + 1, "draw_seed": s, **demo_fields(pool, demos)}))
        jobs.append(Job(j, eval_config(cfg, demos), pool))
    return specs, jobs, []


def plan_kcurve(
    runner: ModelRunner, pool: Sequence[Example], queries: Sequence[Example], cfg: SensitivityConfig
) -> Planned:
    """Per scorer and k: N seeded draws (one for k = 0, which has nothing to draw)."""
    ks, left = fitting_ks(runner, pool, queries, cfg)
    notes = []
    if left:
        notes.append(
            f"k = {', '.join(map(str, left))} left out: larger than the pool or too long for the "
            f"model's context ({runner.info.n_ctx} tokens)."
        )
    if not ks:
        raise ConfigError(
            "None of the k values fits: the pool is too small or the prompt too long for the context."
        )
    draws = {
        k: [draw_demos(pool, k, cfg.draw, draw_seed(cfg.seed, j), cfg.words) for j in range(cfg.n)]
        for k in ks
    }
    specs: list[RowSpec] = []
    jobs: list[Job] = []
    for scorer in cfg.kcurve_scorers:
        scoring = replace(cfg.scoring, scorer=scorer)
        for k in ks:
            row = len(specs)
            seeds = draws[k][:1] if k == 0 else draws[k]
            specs.append(RowSpec(f"{scorer} k={k}", {"scorer": scorer, "k": k}))
            jobs += [Job(row, eval_config(cfg, d, scoring=scoring), pool) for d in seeds]
    return specs, jobs, notes


def plan_labels(
    runner: ModelRunner, pool: Sequence[Example], queries: Sequence[Example], cfg: SensitivityConfig
) -> Planned:
    """Gold / random / flipped / no labels on the same N draws of k demonstrations."""
    labels = cfg.labels
    specs = [RowSpec(CONDITION_TITLES[c], {"condition": c}) for c in LABEL_CONDITIONS]
    jobs: list[Job] = []
    for j in range(cfg.n):
        demos = draw_demos(pool, cfg.k, cfg.draw, draw_seed(cfg.seed, j), cfg.words)
        gold = [pool[i].label for i in demos]
        rng = rng_for(cfg.seed, 2, j)
        shown = {
            "gold": gold,
            "random": [labels[int(x)] for x in rng.integers(0, len(labels), size=len(demos))],
        }
        flip = derangement(labels, rng_for(cfg.seed, 3, j))
        shown["flipped"] = [flip[g] for g in gold]
        for row, cond in enumerate(LABEL_CONDITIONS):
            if cond == "none":
                fmt = no_label_format(cfg.fmt, [pool[i].text for i in demos])
                jobs.append(Job(row, eval_config(cfg, (), fmt=fmt), pool, j))
            else:
                new_pool = relabel(pool, dict(zip(demos, shown[cond], strict=True)))
                jobs.append(Job(row, eval_config(cfg, demos), new_pool, j))
            if j == 0:
                f = dict(specs[row].fields) | demo_fields(pool, demos)
                f["shown_labels"] = tuple(shown[cond]) if cond != "none" else ()
                if cond == "flipped":
                    f["mapping"] = flip
                specs[row] = RowSpec(specs[row].setting, f)
    return specs, jobs, []


def plan_label_words(
    runner: ModelRunner, pool: Sequence[Example], queries: Sequence[Example], cfg: SensitivityConfig
) -> Planned:
    """Default words vs the user's word sets vs unrelated words, same demonstrations."""
    labels = cfg.labels
    sets: list[tuple[str, tuple[str, ...]]] = [("default", tuple(w for _, w in cfg.label_words))]
    sets += [("yours", ws) for ws in cfg.alt_label_words]
    sets.append(("unrelated", cfg.unrelated_words or unrelated_words(len(labels))))
    specs = [
        RowSpec(f"{kind}: {'/'.join(ws)}", {"kind": kind, "words": dict(zip(labels, ws, strict=True))})
        for kind, ws in sets
    ]
    jobs = []
    for j in range(cfg.n):
        demos = draw_demos(pool, cfg.k, cfg.draw, draw_seed(cfg.seed, j), cfg.words)
        for row, (_, ws) in enumerate(sets):
            pairs = tuple(zip(labels, ws, strict=True))
            jobs.append(Job(row, eval_config(cfg, demos, label_words=pairs), pool, j))
        if j == 0:
            specs = [RowSpec(s.setting, dict(s.fields) | demo_fields(pool, demos)) for s in specs]
    return specs, jobs, []


def plan_format(
    runner: ModelRunner, pool: Sequence[Example], queries: Sequence[Example], cfg: SensitivityConfig
) -> Planned:
    """The base prompt, without its instruction, and with each of the user's templates."""
    base = cfg.fmt
    fmts: list[tuple[str, str, PromptFormat]] = [("template 1 + instruction", "base", base)]
    if base.instruction.strip():
        fmts.append(("template 1, no instruction", "no instruction", replace(base, instruction="")))
    for i, t in enumerate(cfg.templates):
        fmts.append((f"template {i + 2} + instruction", "yours", replace(base, template=t)))
    if not base.instruction.strip():
        fmts = [(name.replace(" + instruction", ""), kind, f) for name, kind, f in fmts]
    specs = [
        RowSpec(name, {"kind": kind, "template": f.template, "instruction": f.instruction})
        for name, kind, f in fmts
    ]
    jobs = []
    for j in range(cfg.n):
        demos = draw_demos(pool, cfg.k, cfg.draw, draw_seed(cfg.seed, j), cfg.words)
        for row, (_, _, f) in enumerate(fmts):
            jobs.append(Job(row, eval_config(cfg, demos, fmt=f), pool, j))
        if j == 0:
            specs = [RowSpec(s.setting, dict(s.fields) | demo_fields(pool, demos)) for s in specs]
    return specs, jobs, []


# ----------------------------------------------------------------------------------- summaries
def runs_done(rows: Sequence[Row]) -> int:
    """The seeded draws the rows average (the most any row has: a stopped k-curve may have fewer
    for its last k)."""
    return max((r.runs for r in rows), default=0)


def noise_word(a: float, b: float, n: int) -> str:
    """ "within noise" or "beyond noise": whether accuracies `a` and `b` over `n` queries differ
    by more than Newcombe's 95 % interval of the difference allows (`within_noise`)."""
    return "within noise" if within_noise(a, b, max(1, n)) else "beyond noise"


def summarize_spread(rows: Sequence[Row], what: str) -> str:
    """Range, mean and std of accuracy over orders or draws, and whether the best and the worst
    differ beyond the noise of the test queries."""
    accs = [r.accuracy for r in rows]
    f1s = [r.macro_f1 for r in rows]
    n = min(r.n for r in rows)
    return (
        f"Accuracy ranges from {pct(min(accs))} to {pct(max(accs))} over {len(rows)} {what} "
        f"(mean {pct(mean(accs))}, std {100 * float(np.std(accs)):.1f} points; "
        f"macro-F1 from {pct(min(f1s))} to {pct(max(f1s))}); best vs worst: "
        f"{noise_word(max(accs), min(accs), n)} for {n} queries."
    )


def summarize_order(rows: Sequence[Row], cfg: SensitivityConfig, n_labels: int) -> str:
    return summarize_spread(rows, f"orders of the same {cfg.k} demonstrations")


def summarize_selection(rows: Sequence[Row], cfg: SensitivityConfig, n_labels: int) -> str:
    return summarize_spread(rows, f"{cfg.draw.replace('_', '-')} draws of {cfg.k} demonstrations")


def wilson_interval(p: float, n: int, confidence: float = NOISE_CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval of a proportion `p` observed over `n` trials.

    `p * n` need not be a whole number (a mean accuracy over seeded draws of the same `n`
    queries); for whole numbers this is scipy's ``binomtest(...).proportion_ci(method="wilson")``
    (statsmodels' ``proportion_confint(method="wilson")``).
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}.")
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + confidence / 2))
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(max(p * (1 - p), 0.0) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def within_noise(a: float, b: float, n: int, confidence: float = NOISE_CONFIDENCE) -> bool:
    """Whether accuracies `a` and `b` over `n` queries each are within noise of each other:
    Newcombe's (1998) interval of the difference, built from the two Wilson intervals, holds 0."""
    a_lo, a_hi = wilson_interval(a, n, confidence)
    b_lo, b_hi = wilson_interval(b, n, confidence)
    d = a - b
    lo = d - math.hypot(a - a_lo, b_hi - b)
    hi = d + math.hypot(a_hi - a, b - b_lo)
    return lo - _EPS <= 0.0 <= hi + _EPS


@dataclass(frozen=True, slots=True)
class KCurveStats:
    """What the k-curve summary says about one scoring function.

    Attributes:
        scorer: the scoring function.
        accuracy: mean accuracy per k, k ascending.
        n: test queries per evaluation (the noise statements are for this many queries).
        best_k: the smallest k with the best mean accuracy.
        best_interval: the Wilson interval (`NOISE_CONFIDENCE`) of the best accuracy over `n` queries.
        stable_from: the smallest k from which every tried k (it and all larger ones) is within
            `SATURATION_POINTS` of the best; None when the largest k is further below the best.
        drop: (k, larger k, fall) the largest fall of accuracy as k grows, when more than
            `SATURATION_POINTS` (the curve is not monotone); else None.
        drop_within_noise: that fall is within noise for `n` queries.
        within_noise: the other k whose difference from the best is within noise.
    """

    scorer: str
    accuracy: dict[int, float]
    n: int
    best_k: int
    best_interval: tuple[float, float]
    stable_from: int | None
    drop: tuple[int, int, float] | None
    drop_within_noise: bool
    within_noise: tuple[int, ...]

    @property
    def best(self) -> float:
        return self.accuracy[self.best_k]

    @property
    def largest_k(self) -> int:
        return max(self.accuracy)


def kcurve_stats(rows: Sequence[Row], cfg: SensitivityConfig) -> list[KCurveStats]:
    """Best k, plateau, largest fall and noise of each scoring function's k-curve."""
    out = []
    for scorer in cfg.kcurve_scorers:
        mine = sorted((r for r in rows if r.fields["scorer"] == scorer), key=lambda r: int(r.fields["k"]))
        if not mine:
            continue
        acc = {int(r.fields["k"]): r.accuracy for r in mine}
        n = max(1, min(r.n for r in mine))
        ks = list(acc)
        best_k = max(ks, key=lambda k: (acc[k], -k))
        best = acc[best_k]
        stable_from = None
        for k in reversed(ks):
            if acc[k] < best - SATURATION_POINTS - _EPS:
                break
            stable_from = k
        drop = max(
            ((i, j, acc[i] - acc[j]) for a, i in enumerate(ks) for j in ks[a + 1 :]),
            key=lambda d: d[2],
            default=None,
        )
        if drop is not None and drop[2] <= SATURATION_POINTS + _EPS:
            drop = None
        out.append(
            KCurveStats(
                scorer=scorer,
                accuracy=acc,
                n=n,
                best_k=best_k,
                best_interval=wilson_interval(best, n),
                stable_from=stable_from,
                drop=drop,
                drop_within_noise=drop is not None and within_noise(acc[drop[0]], acc[drop[1]], n),
                within_noise=tuple(k for k in ks if k != best_k and within_noise(best, acc[k], n)),
            )
        )
    return out


def summarize_kcurve(rows: Sequence[Row], cfg: SensitivityConfig, n_labels: int) -> str:
    """Per scorer: accuracy per k; the best, with its Wilson interval; where the curve stays within
    2 points of the best (every larger k too) or how far below it the largest k is; the largest
    fall as k grows (not monotone); which k are within noise of the best."""
    parts = []
    points = f"{100 * SATURATION_POINTS:.0f}"
    for st in kcurve_stats(rows, cfg):
        shots = ", ".join(f"{pct(a)} at k={k}" for k, a in st.accuracy.items())
        lo, hi = st.best_interval
        text = (
            f"{SCORERS[st.scorer].title}: {shots}; best {pct(st.best)} at k={st.best_k} "
            f"({100 * NOISE_CONFIDENCE:.0f}% Wilson interval over {st.n} queries: {pct(lo)}–{pct(hi)})"
        )
        if len(st.accuracy) > 1:
            if st.stable_from is None:
                gap = 100 * (st.best - st.accuracy[st.largest_k])
                text += f", k={st.largest_k} (the largest) is {gap:.1f} points below it"
            elif st.stable_from == st.largest_k:
                text += ", the largest k: no plateau yet"
            else:
                text += f", every k from k={st.stable_from} on within {points} points of it"
            if st.drop is not None:
                i, j, fall = st.drop
                text += f"; not monotone: k={j} is {100 * fall:.1f} points below k={i}"
                if st.drop_within_noise:
                    text += " (within noise)"
            others = len(st.accuracy) - 1
            if len(st.within_noise) == others:
                text += "; every other k within noise of the best"
            elif st.within_noise:
                text += f"; k={', '.join(map(str, st.within_noise))} within noise of the best"
            else:
                text += "; every other k differs from the best beyond noise"
        parts.append(text)
    runs = runs_done([r for r in rows if int(r.fields["k"]) > 0]) or 1
    seeds = f"mean over {runs} seeded draws" if runs > 1 else "one draw per k"
    return "; ".join(parts) + f" ({seeds}; chance {pct(1 / n_labels)})."


def summarize_labels(rows: Sequence[Row], cfg: SensitivityConfig, n_labels: int) -> str:
    """Gold-label accuracy with its Wilson interval, and each other condition's difference from
    it, within or beyond noise (Newcombe) for the test queries. A stopped run names only the
    conditions it reached."""
    acc = {str(r.fields["condition"]): r.accuracy for r in rows}
    n = min(r.n for r in rows)
    runs = runs_done(rows)
    seeds = f"mean over {runs} draws" if runs > 1 else "one draw"
    gold = acc["gold"]  # a stopped run has it too: gold is the first evaluation of every draw
    lo, hi = wilson_interval(gold, n)
    others = [
        f"{CONDITION_TITLES[c]} {pct(acc[c])} ({100 * (acc[c] - gold):+.1f} points, {noise_word(acc[c], gold, n)})"
        for c in LABEL_CONDITIONS
        if c != "gold" and c in acc
    ]
    return (
        f"With {cfg.k} demonstrations: gold labels {pct(gold)} ({100 * NOISE_CONFIDENCE:.0f}% Wilson interval "
        f"over {n} queries: {pct(lo)}–{pct(hi)})"
        + "".join(f", {o}" for o in others)
        + f" ({seeds}; chance {pct(1 / n_labels)})."
    )


def summarize_label_words(rows: Sequence[Row], cfg: SensitivityConfig, n_labels: int) -> str:
    """Accuracy per word set, and the unrelated words' difference from the defaults, within or
    beyond noise for the test queries (left out when a stopped run did not reach them)."""
    default = rows[0]
    parts = [f"{r.setting.split(': ', 1)[1]} {pct(r.accuracy)}" for r in rows]
    unrelated = next((r for r in rows if r.fields.get("kind") == "unrelated"), None)
    runs = runs_done(rows)
    seeds = f"mean over {runs} draws" if runs > 1 else "one draw"
    text = f"Label words {', '.join(parts)}"
    if unrelated is not None:
        n = min(default.n, unrelated.n)
        text += (
            f": unrelated words change accuracy by {100 * (unrelated.accuracy - default.accuracy):+.1f} points "
            f"from the defaults, {noise_word(unrelated.accuracy, default.accuracy, n)} for {n} queries"
        )
    return text + f" ({seeds}; chance {pct(1 / n_labels)})."


def summarize_format(rows: Sequence[Row], cfg: SensitivityConfig, n_labels: int) -> str:
    """Range of accuracy over the formats, best vs worst within or beyond noise."""
    best = max(rows, key=lambda r: r.accuracy)
    worst = min(rows, key=lambda r: r.accuracy)
    n = min(r.n for r in rows)
    runs = runs_done(rows)
    seeds = f"mean over {runs} draws" if runs > 1 else "one draw"
    return (
        f"Accuracy ranges from {pct(worst.accuracy)} ({worst.setting}) to {pct(best.accuracy)} "
        f"({best.setting}) over {len(rows)} formats ({seeds}; best vs worst: "
        f"{noise_word(best.accuracy, worst.accuracy, n)} for {n} queries)."
    )


# ----------------------------------------------------------------------------------- registry
Planner = Callable[[ModelRunner, Sequence["Example"], Sequence["Example"], SensitivityConfig], Planned]
Summarizer = Callable[[Sequence[Row], SensitivityConfig, int], str]


@dataclass(frozen=True, slots=True)
class ExperimentSpec:
    """A sensitivity experiment: how it plans its evaluations and sums them up.

    Attributes:
        name, title, description: for the UI and the CLI.
        plan: (runner, pool, queries, config) -> (row specs, jobs, notes).
        summarize: (rows, config, number of labels) -> the summary sentence.
        aggregated: rows average several seeded runs (spread reported).
        min_k: the smallest k that makes sense.
    """

    name: str
    title: str
    description: str
    plan: Planner
    summarize: Summarizer
    aggregated: bool
    min_k: int = 0


def max_evaluations(cfg: SensitivityConfig) -> int:
    """How many evaluations `cfg` runs at most (before reuse and k values that do not fit)."""
    if cfg.experiment == "order":
        return min(cfg.n, math.factorial(cfg.k))
    if cfg.experiment == "selection":
        return cfg.n
    if cfg.experiment == "kcurve":
        ks = set(cfg.ks)
        return len(cfg.kcurve_scorers) * ((0 in ks) + len(ks - {0}) * cfg.n)
    if cfg.experiment == "labels":
        return len(LABEL_CONDITIONS) * cfg.n
    if cfg.experiment == "label_words":
        return (2 + len(cfg.alt_label_words)) * cfg.n
    return (1 + bool(cfg.fmt.instruction.strip()) + len(cfg.templates)) * cfg.n


def count_evaluations(
    runner: ModelRunner, pool: Sequence[Example], queries: Sequence[Example], cfg: SensitivityConfig
) -> int:
    """The distinct evaluations `run_experiment` runs for `cfg` (its plan, after reuse and the k
    values that fit): the total of a page's "n / N evaluations" count. Planning costs no model call."""
    spec = lookup(EXPERIMENTS, cfg.experiment, "experiment")
    return n_distinct(spec.plan(runner, pool, queries, cfg)[1])


def run_experiment(
    runner: ModelRunner,
    pool: Sequence[Example],
    queries: Sequence[Example],
    cfg: SensitivityConfig,
    *,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    on_chunk: Callable[[SensitivityResult], None] | None = None,
) -> SensitivityResult:
    """Runs one sensitivity experiment (the one named by ``cfg.experiment``).

    Args:
        runner: the model.
        pool: demonstration pool.
        queries: test examples (they keep their gold labels in every setting).
        cfg: the experiment and its size.
        progress: called with (fraction, message).
        should_stop: checked between evaluations (one order, draw, k or setting of one draw over
            all the queries); when it returns True the result of the evaluations done so far is
            returned, marked `partial`, never raising. Every row of a partial result rests on whole
            evaluations (all the queries); experiments that compare settings on the same draw
            (labels, label_words, format) keep only the draws whose every setting is done.
        on_chunk: called with the partial result after every evaluation but the last (what a
            page keeps in case it is interrupted).

    Returns:
        The tidy table, a summary sentence and the total model work (tokens, seconds).

    Raises:
        ConfigError, PromptError: with a message for the user.
    """
    spec = lookup(EXPERIMENTS, cfg.experiment, "experiment")
    check_queries(queries)
    bad = sorted({q.label for q in queries} - set(cfg.labels))
    if bad:
        raise ConfigError(
            f"Test labels {', '.join(map(repr, bad))} have no label word; known: {', '.join(cfg.labels)}."
        )
    t0 = time.perf_counter()
    tokens0, _ = runner.work.snapshot()
    if progress is not None:
        progress(0.0, "drawing demonstrations")
    specs, jobs, notes = spec.plan(runner, pool, queries, cfg)
    n_total = n_distinct(jobs)

    def result_of(done: Done, partial: bool) -> SensitivityResult:
        kept = whole_draws(done, jobs) if partial else done
        rows = fold_rows(runner, queries, specs, kept)
        left_out = len(done) - len(kept)
        stop_notes = (
            [
                f"{left_out} evaluations of the unfinished draw left out, so that every setting rests on the same draws."
            ]
            if left_out
            else []
        )
        tokens1, _ = runner.work.snapshot()
        return SensitivityResult(
            experiment=cfg.experiment,
            config=cfg,
            rows=tuple(rows),
            summary=spec.summarize(rows, cfg, len(cfg.labels)),
            labels=cfg.labels,
            n_test=len(queries),
            seconds=time.perf_counter() - t0,
            tokens_processed=tokens1 - tokens0,
            n_evaluations=sum(fresh for _, _, fresh in done),
            notes=tuple(notes + stop_notes),
            partial=partial,
            n_total=n_total,
        )

    chunk = None if on_chunk is None else (lambda done: on_chunk(result_of(done, True)))
    try:
        done, stopped = run_jobs(runner, queries, specs, jobs, progress, should_stop, chunk)
    except PromptError as exc:
        raise PromptError(f"{spec.title}: {exc}") from exc
    return result_of(done, stopped)


EXPERIMENTS: dict[str, ExperimentSpec] = {
    "order": ExperimentSpec(
        "order",
        "Order variance",
        "The same k demonstrations in N random orders: how much does the order alone move accuracy?",
        plan_order,
        summarize_order,
        aggregated=False,
        min_k=2,
    ),
    "selection": ExperimentSpec(
        "selection",
        "Selection variance",
        "N random draws of k demonstrations: how much does the choice of demonstrations move accuracy?",
        plan_selection,
        summarize_selection,
        aggregated=False,
        min_k=1,
    ),
    "kcurve": ExperimentSpec(
        "kcurve",
        "k-curve",
        "Accuracy for k = 0, 1, 2, 4, 8, 16, 32 per scoring function, mean and spread over N seeds.",
        plan_kcurve,
        summarize_kcurve,
        aggregated=True,
    ),
    "labels": ExperimentSpec(
        "labels",
        "Labels matter?",
        "Demonstrations with gold, uniformly random, flipped or no labels (Min et al. 2022).",
        plan_labels,
        summarize_labels,
        aggregated=True,
        min_k=1,
    ),
    "label_words": ExperimentSpec(
        "label_words",
        "Label words",
        "Default label words vs yours vs unrelated words (foo/bar): mapping or priors?",
        plan_label_words,
        summarize_label_words,
        aggregated=True,
    ),
    "format": ExperimentSpec(
        "format",
        "Format",
        "The prompt with and without its instruction, and with the templates you type.",
        plan_format,
        summarize_format,
        aggregated=True,
    ),
}
