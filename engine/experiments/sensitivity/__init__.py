"""Sensitivity lab: how much does accuracy move when the context changes in ways that "should not matter"?

In-context learning is fragile: the order of the same demonstrations, which demonstrations are
drawn, the label words and the template all swing accuracy widely, and accuracy saturates as k
grows. Each experiment here is one planner (`plans`) whose evaluations `run.run_experiment` runs with
`engine.evaluation.run.evaluate` on a family of prompts; it returns a tidy table (one `Row` per order, draw, k, label condition, word
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

The package, one concept per module: `config` (the config, rows and result), `facts` (summary
sentences, notes and setting names as a code plus fields, with the one English template per code),
`registry` (`EXPERIMENTS`, one frozen `ExperimentSpec` each: planner, evaluation count, summary
facts), `draws` (seeded draws and prompt variants), `jobs` (evaluations before they run), `plans`
(the six planners, registered), `summaries` (what each summary says), `run` (`run_experiment`).
See docs/howto/experiment.md for adding one. The statistics (Wilson, Newcombe) are in
`engine.core.stats`.

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

from engine.core.stats import wilson_interval as wilson_interval  # re-exported
from engine.core.stats import within_noise as within_noise  # re-exported
from engine.experiments.sensitivity.config import (
    CONDITION_TITLES,
    DEFAULT_KS,
    LABEL_CONDITIONS,
    MAX_N,
    NOISE_CONFIDENCE,
    SATURATION_POINTS,
    UNRELATED_WORDS,
    DrawName,
    ExperimentName,
    LabelCondition,
    Row,
    SensitivityConfig,
    SensitivityResult,
)
from engine.experiments.sensitivity.draws import (
    derangement,
    draw_fixed_demos,
    draw_seed,
    fitting_ks,
    input_only,
    no_label_format,
    permutations,
    relabel,
    rng_for,
    unrelated_words,
)
from engine.experiments.sensitivity.facts import ENGLISH, Fact, Joined, english, render
from engine.experiments.sensitivity.jobs import (
    Done,
    Job,
    Planned,
    RowSpec,
    check_queries,
    demo_fields,
    eval_config,
    job_key,
    mean,
    n_distinct,
)
from engine.experiments.sensitivity.plans import (
    plan_format,
    plan_kcurve,
    plan_label_words,
    plan_labels,
    plan_order,
    plan_selection,
)
from engine.experiments.sensitivity.registry import EXPERIMENTS, ExperimentSpec
from engine.experiments.sensitivity.run import (
    count_evaluations,
    example_prompt,
    fold_rows,
    max_evaluations,
    run_experiment,
    run_jobs,
    whole_draws,
)
from engine.experiments.sensitivity.summaries import (
    KCurveStats,
    facts_format,
    facts_kcurve,
    facts_label_words,
    facts_labels,
    facts_order,
    facts_selection,
    kcurve_stats,
    noise_fact,
    noise_word,
    pct,
    runs_done,
    seeds_fact,
    setting_of,
    summarize_kcurve,
)

__all__ = [
    "CONDITION_TITLES", "DEFAULT_KS", "ENGLISH", "EXPERIMENTS", "LABEL_CONDITIONS", "MAX_N", "NOISE_CONFIDENCE",
    "SATURATION_POINTS", "UNRELATED_WORDS", "Done", "DrawName", "ExperimentName", "ExperimentSpec", "Fact",
    "Job", "Joined", "KCurveStats", "LabelCondition", "Planned", "Row", "RowSpec", "SensitivityConfig",
    "SensitivityResult", "check_queries", "count_evaluations", "demo_fields", "derangement", "draw_fixed_demos",
    "draw_seed", "english", "eval_config", "example_prompt", "facts_format", "facts_kcurve",
    "facts_label_words", "facts_labels", "facts_order", "facts_selection", "fitting_ks", "fold_rows",
    "input_only", "job_key", "kcurve_stats", "max_evaluations", "mean", "n_distinct", "no_label_format",
    "noise_fact", "noise_word", "pct", "permutations", "plan_format", "plan_kcurve", "plan_label_words",
    "plan_labels", "plan_order", "plan_selection", "relabel", "render", "rng_for", "run_experiment",
    "run_jobs", "runs_done", "seeds_fact", "setting_of", "summarize_kcurve", "unrelated_words",
    "whole_draws", "wilson_interval", "within_noise",
]  # fmt: skip
