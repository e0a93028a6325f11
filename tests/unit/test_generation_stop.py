"""Stopping a generation or a task evaluation between steps (issue 22, long work): the result is
partial, holds what was generated so far (the same tokens a full run starts with), and says so."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

import engine.generation.stream as es  # GenerationStream reads its clock there
from engine.core.progress import StopFn
from engine.data.gen_tasks import GenItem
from engine.generation.decoders import STRATEGIES, DecodeConfig, FunctionStepModel, GenerationStream, generate
from engine.generation.metrics import GenEvalResult, evaluate_generation
from engine.model.fake import FakeRunner
from engine.prompting.cot import GenFormat
from tests.unit.test_generation import VOCAB, A, B, C, D, logits, model_from


def cycling(prefix: Sequence[int]) -> np.ndarray:
    """Never ends: A B C D A B ... with a clear favourite at each step (and a weaker runner-up)."""
    order = [A, B, C, D]
    n = len(prefix) - 2  # after the prompt " Q" (ids [BOS, Q])
    best, second = order[n % 4], order[(n + 1) % 4]
    out = logits(A=0.0, B=0.0, C=0.0, D=0.0)
    out[best], out[second] = 3.0, 1.0
    return out


def amateur(prefix: Sequence[int]) -> np.ndarray:
    return logits(A=1.0, B=1.0, C=1.0, D=1.0)


def stop_after(steps: int) -> tuple[list[GenerationStream], StopFn]:
    """A should_stop that says stop once the stream in the list has made `steps` steps."""
    box: list[GenerationStream] = []
    return box, lambda: box[0].steps >= steps


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_stopped_generation_keeps_the_tokens_so_far(strategy: str) -> None:
    model = model_from(cycling, amateur_fn=amateur)
    cfg = DecodeConfig(strategy=strategy, max_new_tokens=12, num_beams=2)  # type: ignore[arg-type]
    full = generate(model, " Q", cfg)
    assert len(full.tokens) == 12 and not full.partial
    box, should_stop = stop_after(5)
    stream = GenerationStream(model, " Q", cfg, should_stop=should_stop)
    box.append(stream)
    res = stream.result()
    assert res.partial and res.stop_reason == "stopped"
    assert res.max_new == 12
    assert len(res.tokens) == 5
    assert [t.id for t in res.tokens] == [t.id for t in full.tokens[:5]]  # what a full run starts with
    assert res.text == "".join(t.delta for t in res.tokens) == full.text[: len(res.text)]
    assert stream.steps == 5


def test_stop_releases_the_text_held_back_for_a_possible_stop_sequence() -> None:
    model = model_from(cycling)
    cfg = DecodeConfig(max_new_tokens=12, stop=(" C D X",))  # " C D" could start it: held back
    box, should_stop = stop_after(4)
    seen: list[str] = []
    stream = GenerationStream(model, " Q", cfg, should_stop=should_stop)
    box.append(stream)
    for tok in stream:
        seen.append(tok.delta)
    res = stream.result()
    assert res.partial and res.text == " A B C D"
    assert "".join(seen) == res.text  # the stream released everything it generated


def test_on_step_sees_the_count_and_a_snapshot_and_its_time_is_not_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [0.0]

    def tick() -> float:
        clock[0] += 0.01
        return clock[0]

    monkeypatch.setattr(es.time, "perf_counter", tick)
    steps: list[int] = []
    texts: list[str] = []

    def on_step(stream: GenerationStream) -> None:
        steps.append(stream.steps)
        texts.append(stream.snapshot().text)
        clock[0] += 100.0  # a slow page: not the model's time

    res = GenerationStream(
        model_from(cycling), " Q", DecodeConfig(max_new_tokens=6), on_step=on_step
    ).result()
    assert steps == [1, 2, 3, 4, 5]  # before each step after the first
    assert texts == [" A", " A B", " A B C", " A B C D", " A B C D A"]
    assert not res.partial and len(res.tokens) == 6
    assert res.seconds < 10.0


def test_a_stopped_beam_search_returns_its_best_hypothesis_so_far() -> None:
    model = model_from(cycling)
    cfg = DecodeConfig(strategy="beam", num_beams=3, max_new_tokens=10)
    snapshots: list[str] = []
    box, should_stop = stop_after(3)
    stream = GenerationStream(
        model, " Q", cfg, should_stop=should_stop, on_step=lambda s: snapshots.append(s.snapshot().text)
    )
    box.append(stream)
    res = stream.result()
    assert snapshots == [" A", " A B", " A B C"]  # nothing is released mid-search: the best beam shows
    assert res.partial and res.text == " A B C" and len(res.tokens) == 3


def _items(n: int) -> list[GenItem]:
    return [GenItem(f"q{i}", "A", "", i) for i in range(n)]


def _fake_model() -> FunctionStepModel:
    runner = FakeRunner(VOCAB, lambda p: logits(A=2.0) if p[-1] != A else logits(eos=2.0))
    return FunctionStepModel.from_fake(runner)


def test_evaluation_stops_between_items_and_keeps_the_items_done() -> None:
    fmt = GenFormat(template="{input} ->{output}")
    cfg = DecodeConfig(max_new_tokens=4)
    full = evaluate_generation(_fake_model(), fmt, [], _items(6), cfg)
    assert not full.partial and full.n_done == full.n_total == 6
    kept: list[GenEvalResult] = []
    res = evaluate_generation(
        _fake_model(),
        fmt,
        [],
        _items(6),
        cfg,
        should_stop=lambda: len(kept) >= 2,
        on_item=kept.append,
    )
    assert res.partial and res.n_done == 2 and res.n_total == 6
    assert res.rows == full.rows[:2]
    assert [k.n_done for k in kept] == [1, 2] and all(k.partial for k in kept)
    assert res.overall.exact_match == 1.0 and res.tokens == sum(r.n_tokens for r in full.rows[:2])


def test_an_item_stopped_mid_generation_is_dropped() -> None:
    fmt = GenFormat(template="{input} ->{output}")
    model = model_from(cycling)  # never ends: every item runs to max_new_tokens
    stop = [False]
    seen: list[tuple[int, int]] = []

    def on_step(item: int, stream: GenerationStream) -> None:
        seen.append((item, stream.steps))
        stop[0] = item == 1 and stream.steps == 3

    res = evaluate_generation(
        model,
        fmt,
        [],
        _items(4),
        DecodeConfig(max_new_tokens=5),
        should_stop=lambda: stop[0],
        on_step=on_step,
    )
    assert res.partial and res.n_done == 1 and res.n_total == 4
    assert res.rows[0].n_tokens == 5
    assert seen[:4] == [(0, 1), (0, 2), (0, 3), (0, 4)] and seen[-1] == (1, 3)
