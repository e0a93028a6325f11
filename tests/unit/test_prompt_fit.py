"""Fitting demonstrations into the context: same result as dropping one at a time, in O(log k) counts."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pytest

from engine.core.errors import ConfigError
from engine.experiments.share import from_dict
from engine.model.fake import FakeRunner
from engine.prompting.cot import (
    GenDemo,
    GenFormat,
    GenPrompt,
    build_gen_prompt,
    render_gen_demo,
    render_gen_query,
)
from engine.prompting.prompts import (
    MAX_DEMOS,
    MAX_QUERY_CHARS,
    MAX_TEXT_CHARS,
    Demo,
    Prompt,
    PromptError,
    PromptFormat,
    _assemble,
    build_prompt,
    clean_label_words,
)
from engine.scoring.scorers import build_channel_texts, channel_template, parse_channel_template
from tests.unit.experiments import make_experiment

WORDS = {"pos": "positive", "neg": "negative"}
FMT = PromptFormat(instruction="Classify each review.")


class CountingTokenizer:
    """Whitespace tokenizer that records how often it is called."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, text: str) -> int:
        self.calls += 1
        return len(text.split())


def old_build_prompt(
    fmt: PromptFormat,
    demos: Sequence[Demo],
    query: str,
    words: Mapping[str, str],
    count_tokens: Callable[[str], int],
    max_tokens: int,
    reserve_tokens: int,
) -> Prompt:
    """The reference: the loop build_prompt used before #12 (drop the farthest, re-count, repeat)."""
    words = clean_label_words(words)
    kept = list(demos)
    n_dropped = 0
    while True:
        prompt = _assemble(fmt, kept, query, words)
        n_tokens = count_tokens(prompt.text)
        if n_tokens + reserve_tokens <= max_tokens:
            return Prompt(prompt.text, prompt.demos, n_dropped, prompt.segments, n_tokens)
        if not kept:
            raise PromptError("too long")
        kept.pop(0)
        n_dropped += 1


def _demos(rng: np.random.Generator, k: int) -> list[Demo]:
    return [
        Demo(" ".join(["w"] * int(rng.integers(1, 30))), "pos" if rng.random() < 0.5 else "neg")
        for _ in range(k)
    ]


def _bound(k: int) -> int:
    return 3 + math.ceil(math.log2(k + 1))


@pytest.mark.parametrize("seed", range(40))
def test_build_prompt_matches_the_old_loop_with_logarithmic_counts(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(0, 300))
    demos = _demos(rng, k)
    max_tokens = int(rng.integers(5, 15 * k + 40))
    reserve = int(rng.integers(0, 3))
    try:
        want: Prompt | None = old_build_prompt(
            FMT, demos, "a fine film", WORDS, len_split, max_tokens, reserve
        )
    except PromptError:
        want = None
    counter = CountingTokenizer()
    if want is None:
        with pytest.raises(PromptError, match="too long"):
            build_prompt(
                FMT,
                demos,
                "a fine film",
                WORDS,
                count_tokens=counter,
                max_tokens=max_tokens,
                reserve_tokens=reserve,
            )
    else:
        got = build_prompt(
            FMT,
            demos,
            "a fine film",
            WORDS,
            count_tokens=counter,
            max_tokens=max_tokens,
            reserve_tokens=reserve,
        )
        assert got == want
    assert counter.calls <= _bound(k)


def len_split(text: str) -> int:
    return len(text.split())


def test_thousand_demos_need_few_counts() -> None:
    demos = _demos(np.random.default_rng(0), MAX_DEMOS)
    counter = CountingTokenizer()
    got = build_prompt(FMT, demos, "q", WORDS, count_tokens=counter, max_tokens=500)
    assert got.n_dropped == len(demos) - len(got.demos) and got.n_tokens is not None and got.n_tokens <= 500
    assert counter.calls <= _bound(MAX_DEMOS)  # the old loop needed hundreds of counts here


def old_build_gen_prompt(
    fmt: GenFormat, demos: Sequence[GenDemo], query: str, count_tokens: Callable[[str], int], max_tokens: int
) -> GenPrompt:
    kept = [GenDemo(d.input.strip(), d.output.strip(), d.reasoning.strip()) for d in demos]
    n_dropped = 0
    while True:
        parts = [fmt.instruction.strip()] if fmt.instruction.strip() else []
        parts += [render_gen_demo(fmt, d) for d in kept]
        parts.append(render_gen_query(fmt, query.strip()))
        full = fmt.separator.join(parts)
        text = full.rstrip(" \t")
        prefix = full[len(text) :]
        n_tokens = count_tokens(text)
        if n_tokens <= max_tokens:
            return GenPrompt(text, tuple(kept), n_dropped, prefix, n_tokens)
        if not kept:
            raise PromptError("too long")
        kept.pop(0)
        n_dropped += 1


@pytest.mark.parametrize("seed", range(20))
def test_build_gen_prompt_matches_the_old_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(0, 200))
    demos = [GenDemo(" ".join(["x"] * int(rng.integers(1, 20))), "y z") for _ in range(k)]
    fmt = GenFormat(instruction="Answer.")
    max_tokens = int(rng.integers(3, 12 * k + 30))
    try:
        want: GenPrompt | None = old_build_gen_prompt(fmt, demos, "what?", len_split, max_tokens)
    except PromptError:
        want = None
    counter = CountingTokenizer()
    if want is None:
        with pytest.raises(PromptError, match="too long"):
            build_gen_prompt(fmt, demos, "what?", count_tokens=counter, max_tokens=max_tokens)
    else:
        assert build_gen_prompt(fmt, demos, "what?", count_tokens=counter, max_tokens=max_tokens) == want
    assert counter.calls <= _bound(k)


class CountingRunner(FakeRunner):
    def __init__(self, n_ctx: int) -> None:
        super().__init__(["w", "positive", "negative"], n_ctx=n_ctx)
        self.n_encode = 0

    def encode(self, text: str, *, add_special_tokens: bool = True) -> list[int]:
        self.n_encode += 1
        return super().encode(text, add_special_tokens=add_special_tokens)


def old_channel(
    runner: FakeRunner, fmt: PromptFormat, demos: Sequence[Demo], query: str
) -> tuple[list[tuple[str, str]], int]:
    ct = channel_template(fmt.template)
    x, y, _z = parse_channel_template(ct)
    kept = list(demos)
    n_dropped = 0
    while True:
        parts = [fmt.instruction.strip()] if fmt.instruction.strip() else []
        parts += [ct.format(label=WORDS[d.label], text=d.text) for d in kept]
        head = fmt.separator.join(parts)
        out = [
            ((head + fmt.separator if parts else "") + x.format() + w + y.format(), query)
            for w in WORDS.values()
        ]
        if max(len(runner.encode(c + q)) for c, q in out) <= runner.info.n_ctx:
            return out, n_dropped
        if not kept:
            raise PromptError("too long")
        kept.pop(0)
        n_dropped += 1


@pytest.mark.parametrize("seed", range(15))
def test_channel_texts_match_the_old_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 150))
    demos = _demos(rng, k)
    n_ctx = int(rng.integers(10, 12 * k + 40))
    try:
        want = old_channel(CountingRunner(n_ctx), FMT, demos, "a fine film")
    except PromptError:
        want = None
    runner = CountingRunner(n_ctx)
    if want is None:
        with pytest.raises(PromptError, match="too long"):
            build_channel_texts(runner, FMT, demos, "a fine film", WORDS)
    else:
        assert build_channel_texts(runner, FMT, demos, "a fine film", WORDS) == want
    assert runner.n_encode <= len(WORDS) * _bound(k)


def test_inputs_are_capped_before_tokenising() -> None:
    def never(_text: str) -> int:
        raise AssertionError("tokenised an input over the cap")

    with pytest.raises(PromptError, match="query is too long"):
        build_prompt(FMT, [], "x" * (MAX_QUERY_CHARS + 1), WORDS, count_tokens=never, max_tokens=10)
    with pytest.raises(PromptError, match="Demonstration 2 is too long"):
        build_prompt(
            FMT, [Demo("a", "pos"), Demo("b" * (MAX_TEXT_CHARS + 1), "neg")], "q", WORDS, count_tokens=never
        )
    with pytest.raises(PromptError, match="demonstrations"):
        build_prompt(FMT, [Demo("a", "pos")] * (MAX_DEMOS + 1), "q", WORDS, count_tokens=never)
    with pytest.raises(PromptError, match="instruction is too long"):
        PromptFormat(instruction="i" * (MAX_TEXT_CHARS + 1))
    with pytest.raises(PromptError, match="query is too long"):
        build_gen_prompt(GenFormat(), [], "x" * (MAX_QUERY_CHARS + 1), count_tokens=never, max_tokens=10)
    with pytest.raises(PromptError, match="demonstrations"):
        build_gen_prompt(GenFormat(), [GenDemo("a", "b")] * (MAX_DEMOS + 1), "q", count_tokens=never)


def test_experiment_with_too_many_demos_is_refused() -> None:
    exp = make_experiment(
        demos=(("a", "pos"),) * (MAX_DEMOS + 1), label_words=(("pos", "positive"), ("neg", "negative"))
    )
    with pytest.raises(ConfigError, match=f"at most {MAX_DEMOS}"):
        from_dict(exp.to_dict())
    ok = exp.to_dict()
    ok["demos"] = ok["demos"][:MAX_DEMOS]
    assert len(from_dict(ok).demos) == MAX_DEMOS
