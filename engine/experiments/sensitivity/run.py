"""Running a sensitivity experiment: plan, evaluate each distinct job once, fold rows, sum up.

`run_experiment` is the one entry point (the CLI and the page call it); it can stop between
evaluations and hand out partial results (`should_stop`, `on_chunk`). All evaluations use shared
demonstrations (``demos="shared"``, ``retrieval="fixed"``): each setting is one fixed prompt
prefix, computed once by the scoring engine's prefix cache (`engine.model.prefix_cache`), whose
span cache also makes repeated settings free; identical evaluations inside one run (k = 0 for
every seed, a random relabelling equal to the gold one) run once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from engine.core.errors import ConfigError
from engine.core.progress import ProgressFn, StopFn
from engine.evaluation.run import EvalResult, evaluate
from engine.experiments.sensitivity.config import Row, SensitivityConfig, SensitivityResult
from engine.experiments.sensitivity.facts import Fact, english
from engine.experiments.sensitivity.jobs import (
    Done,
    Job,
    Planned,
    RowSpec,
    check_queries,
    job_key,
    mean,
    n_distinct,
)
from engine.experiments.sensitivity.registry import EXPERIMENTS
from engine.model.protocol import ModelRunner
from engine.prompting.prompts import Demo, Prompt, PromptError, build_prompt
from engine.scoring.scorers import check_labels

if TYPE_CHECKING:
    from engine.data.datasets import Example


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
                title=spec.title,
            )
        )
    return rows


def max_evaluations(cfg: SensitivityConfig) -> int:
    """How many evaluations `cfg` runs at most (before reuse and k values that do not fit)."""
    return EXPERIMENTS.lookup(cfg.experiment).max_evaluations(cfg)


def count_evaluations(
    runner: ModelRunner, pool: Sequence[Example], queries: Sequence[Example], cfg: SensitivityConfig
) -> int:
    """The distinct evaluations `run_experiment` runs for `cfg` (its plan, after reuse and the k
    values that fit): the total of a page's "n / N evaluations" count. Planning costs no model call."""
    spec = EXPERIMENTS.lookup(cfg.experiment)
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
        The tidy table, its summary (a fact, and in English) and the total model work (tokens, seconds).

    Raises:
        ConfigError, PromptError: with a message for the user.
    """
    spec = EXPERIMENTS.lookup(cfg.experiment)
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
    planned: Planned = spec.plan(runner, pool, queries, cfg)
    specs, jobs, notes = planned
    n_total = n_distinct(jobs)

    def result_of(done: Done, partial: bool) -> SensitivityResult:
        kept = whole_draws(done, jobs) if partial else done
        rows = fold_rows(runner, queries, specs, kept)
        left_out = len(done) - len(kept)
        note_facts = notes + ([Fact("note.stopped", {"n": left_out})] if left_out else [])
        tokens1, _ = runner.work.snapshot()
        return SensitivityResult(
            experiment=cfg.experiment,
            config=cfg,
            rows=tuple(rows),
            summary=english(spec.facts(rows, cfg, len(cfg.labels))),
            labels=cfg.labels,
            n_test=len(queries),
            seconds=time.perf_counter() - t0,
            tokens_processed=tokens1 - tokens0,
            n_evaluations=sum(fresh for _, _, fresh in done),
            notes=tuple(english(f) for f in note_facts),
            partial=partial,
            n_total=n_total,
            note_facts=tuple(note_facts),
        )

    chunk = None if on_chunk is None else (lambda done: on_chunk(result_of(done, True)))
    try:
        done, stopped = run_jobs(runner, queries, specs, jobs, progress, should_stop, chunk)
    except PromptError as exc:
        raise PromptError(f"{spec.title}: {exc}") from exc
    return result_of(done, stopped)
